package shopifytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
)

// Webhook subscriptions (GraphQL Admin API) and the shop's own deliveries.
//
// webhookSubscriptionCreate(topic:, webhookSubscription: {uri, format})
// answers {webhookSubscription {id topic uri format}, userErrors}; the
// same topic and uri twice is a user error ("Address for this topic has
// already been taken"), as is a uri that is not http(s).
// webhookSubscriptionDelete(id:) answers {deletedWebhookSubscriptionId,
// userErrors}; webhookSubscriptions(first:, after:) cursor pages of
// nodes {id topic uri format createdAt}. Each costs like the other
// operations: a mutation 10 points, a page 2 + first.
//
// A change a test makes through the fake (UpdateCustomer, Uninstall) is
// delivered at once, signed with Options.WebhookSecret, to every
// subscription of its topic. A delivery answered with a non-2xx (or not
// answered) stays pending; Deliver retries the pending ones (Shopify
// retries 8 times), and a subscription whose delivery fails a ninth time
// is removed, as Shopify removes API-created subscriptions whose retries
// ran out.

// MaxRetries is how many times a failed delivery is retried before its
// subscription is removed.
const MaxRetries = 8

// Subscription is a webhook subscription the shop holds.
type Subscription struct {
	ID    string // gid://shopify/WebhookSubscription/<n>
	Topic string // the WebhookSubscriptionTopic value, e.g. CUSTOMERS_UPDATE
	URI   string
}

type hookState struct {
	subs        []Subscription
	seq         int64
	out         fakeapi.Outbox[*delivery]
	uninstalled bool
}

type delivery struct {
	sub       Subscription
	topic     string
	body      []byte
	id, event string
	triggered time.Time
}

// topicNames maps WebhookSubscriptionTopic values to the topic a delivery
// names in X-Shopify-Topic.
var topicNames = map[string]string{
	"CUSTOMERS_CREATE": "customers/create", "CUSTOMERS_UPDATE": "customers/update", "CUSTOMERS_DELETE": "customers/delete",
	"CUSTOMERS_ENABLE": "customers/enable", "CUSTOMERS_DISABLE": "customers/disable",
	"CUSTOMERS_MARKETING_CONSENT_UPDATE":       "customers_marketing_consent/update",
	"CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE": "customers_email_marketing_consent/update",
	"CUSTOMER_TAGS_ADDED":                      "customer.tags_added", "CUSTOMER_TAGS_REMOVED": "customer.tags_removed",
	"CUSTOMER_JOINED_SEGMENT": "customer.joined_segment", "CUSTOMER_LEFT_SEGMENT": "customer.left_segment",
	"ORDERS_CREATE": "orders/create", "ORDERS_UPDATED": "orders/updated", "APP_UNINSTALLED": "app/uninstalled",
}

func (s *Server) isUninstalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks.uninstalled
}

func userError(field, msg string) []map[string]any {
	return []map[string]any{{"field": []string{field}, "message": msg}}
}

func (sub Subscription) json() map[string]any {
	return map[string]any{"id": sub.ID, "topic": sub.Topic, "uri": sub.URI, "format": "JSON"}
}

func (s *Server) subscriptionCreate(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.spend(10)
	if !ok {
		throttled(w, ext)
		return
	}
	topic, _ := req.Variables["topic"].(string)
	in, _ := req.Variables["webhookSubscription"].(map[string]any)
	uri, _ := in["uri"].(string)
	if uri == "" {
		uri, _ = in["callbackUrl"].(string) // deprecated, still accepted
	}
	answer := func(sub any, errs any) {
		writeJSON(w, map[string]any{"data": map[string]any{"webhookSubscriptionCreate": map[string]any{
			"webhookSubscription": sub, "userErrors": errs}}, "extensions": ext})
	}
	if _, ok := topicNames[topic]; !ok {
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "Variable $topic of type WebhookSubscriptionTopic! was provided invalid value",
			"extensions": map[string]string{"code": "INVALID_VARIABLE"}}}})
		return
	}
	if u, err := url.Parse(uri); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		answer(nil, userError("webhookSubscription.uri", "Address is invalid"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.hooks.subs {
		if sub.Topic == topic && sub.URI == uri {
			answer(nil, userError("address", "Address for this topic has already been taken"))
			return
		}
	}
	s.hooks.seq++
	sub := Subscription{ID: "gid://shopify/WebhookSubscription/" + strconv.FormatInt(1000000+s.hooks.seq, 10), Topic: topic, URI: uri}
	s.hooks.subs = append(s.hooks.subs, sub)
	answer(sub.json(), []any{})
}

func (s *Server) subscriptionDelete(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.spend(10)
	if !ok {
		throttled(w, ext)
		return
	}
	id, _ := req.Variables["id"].(string)
	if s.DeleteSubscription(id) {
		writeJSON(w, map[string]any{"data": map[string]any{"webhookSubscriptionDelete": map[string]any{
			"deletedWebhookSubscriptionId": id, "userErrors": []any{}}}, "extensions": ext})
		return
	}
	writeJSON(w, map[string]any{"data": map[string]any{"webhookSubscriptionDelete": map[string]any{
		"deletedWebhookSubscriptionId": nil, "userErrors": userError("id", "Webhook subscription does not exist")}}, "extensions": ext})
}

func (s *Server) subscriptionsPage(w http.ResponseWriter, req gqlRequest) {
	first, _ := req.Variables["first"].(float64)
	if first < 1 || first > 250 {
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "first must be between 1 and 250", "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
		return
	}
	ext, ok := s.spend(2 + first)
	if !ok {
		throttled(w, ext)
		return
	}
	start := 0
	if after, _ := req.Variables["after"].(string); after != "" {
		b, err := base64.StdEncoding.DecodeString(after)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "sub:"))
		if err != nil || perr != nil || n < 0 {
			writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "Invalid cursor", "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
			return
		}
		start = n
	}
	all := s.Subscriptions()
	start = min(start, len(all))
	end := min(len(all), start+int(first))
	nodes := []map[string]any{}
	for _, sub := range all[start:end] {
		nodes = append(nodes, sub.json())
	}
	writeJSON(w, map[string]any{"data": map[string]any{"webhookSubscriptions": map[string]any{"nodes": nodes,
		"pageInfo": map[string]any{"hasNextPage": end < len(all), "endCursor": base64.StdEncoding.EncodeToString([]byte("sub:" + strconv.Itoa(end)))}}},
		"extensions": ext})
}

// Subscriptions returns the shop's webhook subscriptions, oldest first.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hooks.subs)
}

// DeleteSubscription removes a subscription (as the merchant, or Shopify
// after failed deliveries, would) and reports whether it existed.
func (s *Server) DeleteSubscription(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.hooks.subs)
	s.hooks.subs = slices.DeleteFunc(s.hooks.subs, func(sub Subscription) bool { return sub.ID == id })
	return len(s.hooks.subs) < n
}

// UpdateCustomer changes customer n (1-based), bumps its updatedAt to at,
// and delivers customers/update to the subscriptions of that topic. It
// returns how many deliveries were answered with a 2xx.
func (s *Server) UpdateCustomer(n int, at time.Time, f func(first, last *string)) int {
	s.Update(n, at, f)
	return s.emit("CUSTOMERS_UPDATE", s.CustomerPayload(n))
}

// Uninstall uninstalls the app: app/uninstalled is delivered, then the
// shop deletes the app's subscriptions and its token stops working until
// the app is installed again (a code exchanged for a token, oauth.go).
func (s *Server) Uninstall() int {
	ok := s.emit("APP_UNINSTALLED", map[string]any{
		"id": json.Number("548380009"), "name": strings.TrimSuffix(s.opts.Domain, ".myshopify.com"), "email": "owner@example.com",
		"domain": s.opts.Domain, "myshopify_domain": s.opts.Domain, "country_code": "AU", "currency": "AUD",
		"plan_name": "basic", "created_at": "2024-01-02T09:00:00-05:00", "updated_at": time.Now().UTC().Format(time.RFC3339),
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.subs, s.hooks.uninstalled = nil, true
	s.hooks.out.Forget("")
	return ok
}

// emit delivers payload to every subscription of topic (the enum value).
func (s *Server) emit(topic string, payload any) int {
	body, err := json.Marshal(payload)
	if err != nil {
		panic(err) // the fake's own payloads always encode
	}
	id, event := s.newDeliveryIDs()
	var batch []*delivery
	s.mu.Lock()
	for _, sub := range s.hooks.subs {
		if sub.Topic == topic {
			batch = append(batch, &delivery{sub: sub, topic: topicNames[topic], body: body, id: id, event: event, triggered: time.Now()})
		}
	}
	s.mu.Unlock()
	return s.hooks.out.Send(batch)
}

// Deliver retries every pending delivery once and returns how many were
// answered with a 2xx.
func (s *Server) Deliver() int { return s.hooks.out.Retry() }

// Pending is how many deliveries wait for a retry.
func (s *Server) Pending() int { return s.hooks.out.Pending() }

// initOutbox sets how deliveries are sent (fakeapi.Outbox, without the
// lock: the receiver may call the shop back): a delivery failing a
// ninth time removes its subscription.
func (s *Server) initOutbox() {
	o := &s.hooks.out
	o.Max, o.Hook = MaxRetries+1, func(d *delivery) string { return d.sub.ID + " " + d.id }
	o.Post = func(d *delivery) (bool, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // Shopify's delivery timeout
		defer cancel()
		return true, fakeapi.Status(s.send(ctx, d.sub.URI, s.opts.WebhookSecret, d.topic, d.body, d.id, d.event, d.triggered))/100 == 2
	}
	o.GiveUp = func(d *delivery) { s.DeleteSubscription(d.sub.ID) }
}
