package shopify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/source"
)

// The privacy topics' documented payloads
// (https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance).
const (
	redactBody      = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"orders_to_redact":[299938,280263,220458]}`
	dataRequestBody = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","orders_requested":[299938,280263,220458],"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`
	shopRedactBody  = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com"}`
	// app/uninstalled carries the shop (the REST Shop resource's fields).
	uninstalledBody = `{"id":548380009,"name":"Super Toys","email":"super@supertoys.com","domain":"shop.apple.com","province":"California","country":"US","address1":"1 Infinite Loop","zip":"95014","city":"Cupertino","source":null,"phone":"1231231234","latitude":45.45,"longitude":-75.43,"primary_locale":"en","address2":"Suite 100","created_at":"2007-12-31T19:00:00-05:00","updated_at":"2024-01-02T09:00:00-05:00","country_code":"US","country_name":"United States","currency":"USD","customer_email":"customers@apple.com","timezone":"(GMT-05:00) Eastern Time (US & Canada)","iana_timezone":"America/New_York","shop_owner":"John Smith","money_format":"${{amount}}","plan_name":"enterprise","myshopify_domain":"jsmith.myshopify.com"}`
)

func fixtureBody(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var wrapped struct {
		Order  json.RawMessage   `json:"order"`
		Orders []json.RawMessage `json:"orders"`
	}
	if json.Unmarshal(b, &wrapped) == nil {
		switch {
		case wrapped.Order != nil:
			return wrapped.Order
		case len(wrapped.Orders) > 0:
			return wrapped.Orders[0]
		}
	}
	return b
}

// The topic header is not signed, so a signed body can be re-sent under
// any topic. Every body parses under its own topic (and the topics that
// share its shape and meaning) and is refused as malformed under every
// other: an orders/create body as customers/redact, a customers/update
// body as customers/delete and so on used to be applied.
func TestParseWebhook_ABodyIsRefusedUnderAnotherTopic(t *testing.T) {
	customer := fixtureBody(t, "webhook-customers-create.docs-2026-07.json")
	olderCustomer := fixtureBody(t, "rest-customer-2024-10.sdk-mock.json") // a 2024-10 body, with consent fields
	var c struct {
		Customer json.RawMessage `json:"customer"`
	}
	if err := json.Unmarshal(olderCustomer, &c); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]struct {
		body []byte
		ok   []string // the topics it parses under
	}{
		"customer 2026-07": {customer, []string{"customers/create", "customers/update", "customers/enable", "customers/disable"}},
		"customer 2024-10": {c.Customer, []string{"customers/create", "customers/update", "customers/enable", "customers/disable"}},
		"delete":           {fixtureBody(t, "webhook-customers-delete.docs-2026-07.json"), []string{"customers/delete"}},
		"sms consent":      {fixtureBody(t, "webhook-customers-marketing-consent-update.docs-2026-07.json"), []string{"customers_marketing_consent/update"}},
		"tags":             {fixtureBody(t, "webhook-customer-tags-added.docs-2026-07.json"), []string{"customer.tags_added", "customer.tags_removed"}},
		"guest order":      {fixtureBody(t, "rest-order-customer-null-with-contact-2024-10.sdk-mock.json"), []string{"orders/create", "orders/updated"}},
		"order no contact": {fixtureBody(t, "rest-orders-customer-null-no-contact-2024-10.sdk-mock.json"), []string{"orders/create", "orders/updated"}},
		"redact":           {[]byte(redactBody), []string{"customers/redact"}},
		"data request":     {[]byte(dataRequestBody), []string{"customers/data_request"}},
		"shop redact":      {[]byte(shopRedactBody), []string{"shop/redact"}},
		"email consent":    {fixtureBody(t, "webhook-customers-email-marketing-consent-update.docs-2026-07.json"), nil},
		"joined segment":   {fixtureBody(t, "webhook-customer-joined-segment.docs-2026-07.json"), []string{"customer.joined_segment", "customer.left_segment"}},
		"app uninstalled":  {[]byte(uninstalledBody), []string{"app/uninstalled"}},
	}
	topics := []string{"customers/create", "customers/update", "customers/enable", "customers/disable", "customers/delete",
		"customers_marketing_consent/update", "customer.tags_added", "customer.tags_removed", "orders/create", "orders/updated",
		"customers/redact", "customers/data_request", "shop/redact", "customer.joined_segment", "customer.left_segment", "app/uninstalled"}
	for name, b := range bodies {
		ok := map[string]bool{}
		for _, topic := range b.ok {
			ok[topic] = true
		}
		for _, topic := range topics {
			h := http.Header{}
			h.Set("X-Shopify-Topic", topic)
			h.Set("X-Shopify-Webhook-Id", "w-1")
			_, err := shopify.ParseWebhookWith(context.Background(), h, b.body, source.Options{ConnectionID: "c1"}, segmentNamed("Seg"))
			switch {
			case ok[topic] && err != nil:
				t.Errorf("%s as %s: %v", name, topic, err)
			case !ok[topic] && !errors.Is(err, shopify.ErrMalformed):
				t.Errorf("%s as %s: err = %v, want ErrMalformed", name, topic, err)
			}
		}
	}
}

func TestParseWebhook_ShapeDetails(t *testing.T) {
	for _, tc := range []struct{ topic, body string }{
		{"customers/delete", `{"id":1,"email":"a@b.co"}`},
		{"customers/delete", `{"id":1,"admin_graphql_api_id":"gid://shopify/Customer/2"}`},
		{"customers/delete", `{"id":"1"}`},
		{"customers/update", `{"id":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","admin_graphql_api_id":"gid://shopify/Order/1"}`},
		{"customers/update", `{"id":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"} {}`},
		{"customer.tags_added", `{"customerId":"gid://shopify/Order/1","tags":["a"],"occurredAt":"2026-01-01T00:00:00Z"}`},
		{"customers/redact", `{"shop_domain":"s.myshopify.com","customer":{"id":0}}`},
		{"customers/redact", `{"shop_domain":"","customer":{"id":1}}`},
		{"orders/create", `{"id":1,"order_number":1001,"line_items":{}}`},
	} {
		h := http.Header{}
		h.Set("X-Shopify-Topic", tc.topic)
		if _, err := shopify.ParseWebhook(h, []byte(tc.body), source.Options{}); !errors.Is(err, shopify.ErrMalformed) {
			t.Errorf("%s %s: err = %v, want ErrMalformed", tc.topic, tc.body, err)
		}
	}
	for _, tc := range []struct{ topic, body string }{
		// Older API versions send nulls and empty lists in a deletion.
		{"customers/delete", `{"id":1,"phone":null,"addresses":[],"tax_exemptions":[],"email_marketing_consent":null,"sms_marketing_consent":null,"admin_graphql_api_id":"gid://shopify/Customer/1"}`},
		{"customers/redact", `{"shop_id":1,"shop_domain":"s.myshopify.com","customer":{"id":706405506930370084,"email":null,"phone":null},"orders_to_redact":[]}`},
	} {
		h := http.Header{}
		h.Set("X-Shopify-Topic", tc.topic)
		if _, err := shopify.ParseWebhook(h, []byte(tc.body), source.Options{}); err != nil {
			t.Errorf("%s %s: %v", tc.topic, tc.body, err)
		}
	}
}
