package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The topic header of a delivery is not signed: the HMAC covers the body
// only. A body captured from one topic, re-sent with another topic's
// header, verifies. So each topic's body must have that topic's shape
// before anything is applied: the fields that make it that kind of object
// are required, and the fields that make it another kind are refused
// (ErrMalformed, answered 400; nothing changes). Shapes follow the docs
// payloads (testdata/webhook-*.docs-2026-07.json, the privacy topics'
// documented payloads) and the REST order; older API versions (customer
// bodies with consent fields) keep their shape.
//
//   - customers/create|update|enable|disable: a customer: id, created_at
//     and updated_at; no order, privacy, shop or consent-topic fields.
//   - customers/delete: id and nothing else of substance: every other
//     field null or empty (a full customer body has timestamps, names...).
//   - customers_marketing_consent/update: id and an sms_marketing_consent
//     object, without the timestamps of a full customer.
//   - customer.tags_added|tags_removed: a Customer GID customerId, tags,
//     occurredAt; no numeric id.
//   - customer.joined_segment|left_segment: customer_id, segment_id and
//     shop_id, each a GID of its kind; no numeric id, tags or timestamps.
//   - orders/create|updated: id, order_number and line_items; an Order GID.
//   - customers/redact: shop_domain and customer.id; no data-request fields.
//   - customers/data_request: shop_domain, customer.id and data_request.
//   - shop/redact: shop_domain and shop_id, no customer.
//   - app/uninstalled: a shop: numeric id, myshopify_domain and name; no
//     customer, order, privacy-request or tag fields.
type shape struct {
	fields map[string]json.RawMessage
}

// shapeOf reads body as one JSON object (no trailing data).
func shapeOf(body []byte) (shape, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return shape{}, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if dec.More() {
		return shape{}, fmt.Errorf("%w: trailing data after the body", ErrMalformed)
	}
	return shape{m}, nil
}

func (s shape) raw(k string) (json.RawMessage, bool) {
	v, ok := s.fields[k]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return bytes.TrimSpace(v), true
}

var positiveInt = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// id returns k's value when it is a positive JSON integer.
func (s shape) id(k string) (string, bool) {
	v, ok := s.raw(k)
	if !ok || !positiveInt.Match(v) {
		return "", false
	}
	return string(v), true
}

func (s shape) kind(k string, open byte) bool {
	v, ok := s.raw(k)
	return ok && v[0] == open
}

func (s shape) str(k string) (string, bool) {
	v, ok := s.raw(k)
	if !ok || v[0] != '"' {
		return "", false
	}
	var out string
	return out, json.Unmarshal(v, &out) == nil
}

// gid checks an optional admin_graphql_api_id-style field: absent, or a
// GID of kind for id.
func (s shape) gid(k, kind, id string) bool {
	if _, ok := s.raw(k); !ok {
		return true
	}
	v, ok := s.str(k)
	return ok && v == "gid://shopify/"+kind+"/"+id
}

// empty reports whether k is absent, null, "", [] or {}.
func (s shape) empty(k string) bool {
	v, ok := s.raw(k)
	if !ok {
		return true
	}
	switch string(v) {
	case `""`, "[]", "{}":
		return true
	}
	return len(v) >= 2 && (v[0] == '[' || v[0] == '{') && strings.TrimSpace(string(v[1:len(v)-1])) == ""
}

// without returns the first of keys present with a value.
func (s shape) without(keys ...string) (string, bool) {
	for _, k := range keys {
		if _, ok := s.raw(k); ok {
			return k, false
		}
	}
	return "", true
}

// Fields that mark a body as another kind of object than a customer.
var (
	orderFields   = []string{"line_items", "order_number", "order_status_url", "financial_status", "checkout_token"}
	privacyFields = []string{"shop_domain", "shop_id", "orders_to_redact", "orders_requested", "data_request"}
	tagFields     = []string{"customerId", "occurredAt"}
	shopFields    = []string{"myshopify_domain", "shop_owner", "plan_name", "iana_timezone"}
)

// checkShape refuses a body that is not of topic's shape.
func checkShape(topic string, body []byte) error {
	s, err := shapeOf(body)
	if err != nil {
		return err
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s body %s", ErrMalformed, topic, why) }
	refuse := func(groups ...[]string) error {
		for _, g := range groups {
			if k, ok := s.without(g...); !ok {
				return bad("carries " + k + ", a field of another topic")
			}
		}
		return nil
	}
	switch topic {
	case "customers/create", "customers/update", "customers/enable", "customers/disable":
		id, ok := s.id("id")
		if !ok {
			return bad("has no numeric id")
		}
		if _, ok := s.str("created_at"); !ok {
			return bad("has no created_at (not a customer)")
		}
		if _, ok := s.str("updated_at"); !ok {
			return bad("has no updated_at (not a customer)")
		}
		if !s.gid("admin_graphql_api_id", "Customer", id) {
			return bad("is not a customer (admin_graphql_api_id)")
		}
		return refuse(orderFields, privacyFields, tagFields, shopFields, []string{"customer", "customer_id", "email_address"})
	case "customers/delete":
		id, ok := s.id("id")
		if !ok {
			return bad("has no numeric id")
		}
		if !s.gid("admin_graphql_api_id", "Customer", id) {
			return bad("is not a customer (admin_graphql_api_id)")
		}
		for k := range s.fields {
			if k != "id" && k != "admin_graphql_api_id" && !s.empty(k) {
				return bad("carries " + k + ": a deletion carries only the id")
			}
		}
		return nil
	case "customers_marketing_consent/update":
		id, ok := s.id("id")
		if !ok {
			return bad("has no numeric id")
		}
		if !s.kind("sms_marketing_consent", '{') {
			return bad("has no sms_marketing_consent object")
		}
		if !s.gid("admin_graphql_api_id", "Customer", id) {
			return bad("is not a customer (admin_graphql_api_id)")
		}
		return refuse([]string{"created_at", "updated_at", "first_name", "last_name", "state", "addresses", "default_address"},
			orderFields, privacyFields, tagFields, shopFields, []string{"customer", "customer_id"})
	case "customer.tags_added", "customer.tags_removed":
		v, ok := s.str("customerId")
		if !ok || !strings.HasPrefix(v, "gid://shopify/Customer/") || !positiveInt.MatchString(strings.TrimPrefix(v, "gid://shopify/Customer/")) {
			return bad("has no Customer GID customerId")
		}
		if !s.kind("tags", '[') {
			return bad("has no tags list")
		}
		if _, ok := s.str("occurredAt"); !ok {
			return bad("has no occurredAt")
		}
		return refuse([]string{"id", "created_at", "updated_at"}, orderFields, privacyFields)
	case "customer.joined_segment", "customer.left_segment":
		for k, kind := range map[string]string{"customer_id": "Customer", "segment_id": "Segment", "shop_id": "Shop"} {
			v, ok := s.str(k)
			if !ok || !strings.HasPrefix(v, "gid://shopify/"+kind+"/") || !positiveInt.MatchString(strings.TrimPrefix(v, "gid://shopify/"+kind+"/")) {
				return bad("has no " + kind + " GID " + k)
			}
		}
		return refuse([]string{"id", "created_at", "updated_at", "tags", "email"}, tagFields, orderFields,
			[]string{"shop_domain", "orders_to_redact", "orders_requested", "data_request", "customer"})
	case "orders/create", "orders/updated":
		id, ok := s.id("id")
		if !ok {
			return bad("has no numeric id")
		}
		if _, ok := s.id("order_number"); !ok {
			return bad("has no order_number (not an order)")
		}
		if !s.kind("line_items", '[') {
			return bad("has no line_items (not an order)")
		}
		if !s.gid("admin_graphql_api_id", "Order", id) {
			return bad("is not an order (admin_graphql_api_id)")
		}
		return refuse(privacyFields, tagFields)
	case "customers/redact", "customers/data_request":
		if d, ok := s.str("shop_domain"); !ok || d == "" {
			return bad("has no shop_domain")
		}
		var c struct {
			ID json.Number `json:"id"`
		}
		v, ok := s.raw("customer")
		if !ok || v[0] != '{' || json.Unmarshal(v, &c) != nil || !positiveInt.MatchString(c.ID.String()) {
			return bad("has no customer.id")
		}
		if topic == "customers/redact" {
			return refuse([]string{"data_request", "orders_requested"}, orderFields)
		}
		if !s.kind("data_request", '{') {
			return bad("has no data_request")
		}
		return refuse([]string{"orders_to_redact"}, orderFields)
	case "app/uninstalled":
		if _, ok := s.id("id"); !ok {
			return bad("has no numeric id")
		}
		if d, ok := s.str("myshopify_domain"); !ok || !strings.HasSuffix(d, ".myshopify.com") {
			return bad("has no myshopify_domain (not a shop)")
		}
		if _, ok := s.str("name"); !ok {
			return bad("has no name (not a shop)")
		}
		return refuse([]string{"first_name", "last_name", "default_address", "addresses", "customer", "customer_id"},
			orderFields, privacyFields, tagFields)
	case "shop/redact":
		if d, ok := s.str("shop_domain"); !ok || d == "" {
			return bad("has no shop_domain")
		}
		if _, ok := s.id("shop_id"); !ok {
			return bad("has no shop_id")
		}
		return refuse([]string{"customer", "orders_to_redact", "orders_requested", "data_request"}, orderFields)
	}
	return nil
}
