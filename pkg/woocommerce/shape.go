package woocommerce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
)

// The topic header (X-WC-Webhook-Topic) is not signed: the HMAC covers the
// body only, so a body captured from one topic verifies under any other.
// Each topic's body must therefore have that topic's shape before it is
// applied (ErrMalformed, answered 400; nothing changes). Shapes follow
// the REST resources the bodies are (testdata/customer.docs-v3.json,
// testdata/order-guest.docs-v3.json) and WC-core build_payload():
//
//   - customer.created|updated: a customer: id, email, role and username;
//     no order fields (order_key, line_items, customer_id, ...).
//   - customer.deleted: exactly {"id": N} (build_payload sends nothing
//     else for a deletion), so a full customer body replayed as a
//     deletion is refused.
//   - order.created|updated: an order: id, order_key, line_items and
//     customer_id; no customer-only fields (role, username).
func checkShape(topic string, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return fmt.Errorf("%w: %s body is not a JSON object", ErrMalformed, topic)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s body has trailing data", ErrMalformed, topic)
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s body %s", ErrMalformed, topic, why) }
	has := func(k string, open byte) bool {
		v := bytes.TrimSpace(m[k])
		return len(v) > 0 && (open == 0 && string(v) != "null" || v[0] == open)
	}
	refuse := func(keys ...string) error {
		for _, k := range keys {
			if has(k, 0) {
				return bad("carries " + k + ", a field of another topic")
			}
		}
		return nil
	}
	if !positiveInt.Match(bytes.TrimSpace(m["id"])) {
		return bad("has no numeric id")
	}
	switch topic {
	case "customer.created", "customer.updated":
		for _, k := range []string{"email", "role", "username"} {
			if !has(k, '"') {
				return bad("has no " + k + " (not a customer)")
			}
		}
		return refuse("order_key", "line_items", "customer_id", "number", "parent_id", "status")
	case "customer.deleted":
		for k := range m {
			if k != "id" {
				return bad("carries " + k + ": a deletion carries only the id")
			}
		}
	case "order.created", "order.updated":
		if !has("order_key", '"') || !has("line_items", '[') {
			return bad("has no order_key or line_items (not an order)")
		}
		if v := bytes.TrimSpace(m["customer_id"]); !nonNegativeInt.Match(v) {
			return bad("has no customer_id")
		}
		return refuse("role", "username")
	}
	return nil
}

var (
	positiveInt    = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	nonNegativeInt = regexp.MustCompile(`^(0|[1-9][0-9]{0,18})$`)
)
