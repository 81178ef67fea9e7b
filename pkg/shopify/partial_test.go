package shopify_test

import (
	"net/http"
	"testing"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/source"
)

// The topics that carry part of a customer mark their records Partial
// (design.md §3); the customer topics do not.
func TestParseWebhook_PartialTopics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		topic, body string
		partial     bool
	}{
		{"customers/create", `{"id":7,"email":"a@example.com","created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z"}`, false},
		{"customers/update", `{"id":7,"email":"a@example.com","created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z"}`, false},
		{"customers_marketing_consent/update", `{"id":7,"phone":"+61412345678","sms_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2026-11-01T00:00:00Z"}}`, true},
		{"customer.tags_added", `{"customerId":"gid://shopify/Customer/7","tags":["VIP"],"occurredAt":"2026-11-01T00:00:00Z"}`, true},
		{"customer.tags_removed", `{"customerId":"gid://shopify/Customer/7","tags":["VIP"],"occurredAt":"2026-11-01T00:00:00Z"}`, true},
	} {
		h := http.Header{}
		h.Set("X-Shopify-Topic", tc.topic)
		wh, err := shopify.ParseWebhook(h, []byte(tc.body), source.Options{ConnectionID: "c1"})
		if err != nil || len(wh.Records) != 1 {
			t.Fatalf("%s: %+v %v", tc.topic, wh, err)
		}
		if r := wh.Records[0]; r.Partial != tc.partial || r.IsPartial() != tc.partial {
			t.Errorf("%s: Partial %v, want %v", tc.topic, r.Partial, tc.partial)
		}
	}
}
