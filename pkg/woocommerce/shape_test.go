package woocommerce_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// X-WC-Webhook-Topic is not signed, so a signed body can be re-sent under
// any topic. Each body parses under its own topics and is refused as
// malformed under the others: a customer.updated body re-sent as
// customer.deleted used to delete the customer's source record, and an
// order body re-sent as customer.updated was read as a customer.
func TestParseWebhook_ABodyIsRefusedUnderAnotherTopic(t *testing.T) {
	bodies := map[string]struct {
		body []byte
		ok   []string
	}{
		"customer (docs)":      {readFixture(t, "customer.docs-v3.json"), []string{"customer.created", "customer.updated"}},
		"customer (wire body)": {readFixture(t, "customer-created.wire-body.derived.json"), []string{"customer.created", "customer.updated"}},
		"guest order (docs)":   {readFixture(t, "order-guest.docs-v3.json"), []string{"order.created", "order.updated"}},
		"deletion":             {[]byte(`{"id":25}`), []string{"customer.deleted"}},
	}
	topics := []string{"customer.created", "customer.updated", "customer.deleted", "order.created", "order.updated"}
	for name, b := range bodies {
		ok := map[string]bool{}
		for _, topic := range b.ok {
			ok[topic] = true
		}
		for _, topic := range topics {
			h := http.Header{}
			h.Set(woocommerce.HeaderTopic, topic)
			h.Set(woocommerce.HeaderSignature, "signed")
			_, err := woocommerce.ParseWebhookKeys(h, b.body, source.Options{ConnectionID: "c1"}, woocommerce.Keys{})
			switch {
			case ok[topic] && err != nil:
				t.Errorf("%s as %s: %v", name, topic, err)
			case !ok[topic] && !errors.Is(err, woocommerce.ErrMalformed):
				t.Errorf("%s as %s: err = %v, want ErrMalformed", name, topic, err)
			}
		}
	}
	for _, tc := range []struct{ topic, body string }{
		{"customer.deleted", `{"id":25,"email":""}`},
		{"customer.deleted", `{"id":"25"}`},
		{"customer.deleted", `{"id":25} {"id":26}`},
		{"customer.updated", `{"id":25,"email":"a@b.co","role":"customer"}`},
		{"order.created", `{"id":727,"order_key":"wc_order_1","line_items":[],"customer_id":-1}`},
	} {
		h := http.Header{}
		h.Set(woocommerce.HeaderTopic, tc.topic)
		h.Set(woocommerce.HeaderSignature, "signed")
		if _, err := woocommerce.ParseWebhookKeys(h, []byte(tc.body), source.Options{}, woocommerce.Keys{}); !errors.Is(err, woocommerce.ErrMalformed) {
			t.Errorf("%s %s: err = %v, want ErrMalformed", tc.topic, tc.body, err)
		}
	}
}
