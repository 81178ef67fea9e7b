package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// A signed customer.created body re-sent under customer.deleted (the
// topic header is not signed) is refused with 400 and the contact keeps
// its source; it used to delete it.
func TestWebhook_BodyReplayedUnderAnotherTopicChangesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	cust, _ := r.shop.Customer(5)
	if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.created", cust)); code != 200 || !strings.Contains(body, `"created"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	for _, topic := range []string{"customer.deleted", "order.created"} {
		if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", topic, cust)); code != http.StatusBadRequest {
			t.Fatalf("customer body as %s: %d %s, want 400", topic, code, body)
		}
	}
	list, _, err := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{}, 10, "")
	if err != nil || len(list) != 1 || len(list[0].Sources) != 1 {
		t.Fatalf("after the replays the contacts are %+v (%v), want the one contact with its source", list, err)
	}
}

// clockRig is a handler with one connection, whose clock the test sets.
type clockRig struct {
	url string
	now *time.Time
}

func newClockRig(t *testing.T, platform string, cfg map[string]string) clockRig {
	t.Helper()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: platform, Label: platform,
		ConsentMode: "explicit", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	now := new(time.Time)
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Now: func() time.Time { return *now }})
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", h.Handle))
	t.Cleanup(srv.Close)
	return clockRig{url: srv.URL + "/webhooks/" + platform + "/" + conn.ID, now: now}
}

const klaviyoDelivery = `{"data":[{"topic":"profile:updated","external_id":"x1","payload":{"data":{"type":"profile","id":"01KREPLAY","attributes":{"email":"r@example.com","phone_number":"+61412345670","updated":"2026-11-24T09:00:00Z","subscriptions":{"sms":{"marketing":{"consent":"SUBSCRIBED","consent_timestamp":"2026-11-24T09:00:00Z","method":"TEXT"}}}}}}}],"meta":{"klaviyo_webhook_id":"w1","timestamp":"2026-11-24T09:00:00Z"}}`

func postKlaviyo(t *testing.T, url, secret, id string, at time.Time) int {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(klaviyoDelivery)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Klaviyo-Webhook-Id", id)
	req.Header.Set("Klaviyo-Timestamp", ts)
	req.Header.Set("Klaviyo-Signature", klaviyo.Signature(secret, []byte(klaviyoDelivery), ts))
	code, _ := status(t)(http.DefaultClient.Do(req))
	return code
}

// A signed Klaviyo delivery received more than the replay window after its
// timestamp (a captured delivery re-sent with a new Klaviyo-Webhook-Id)
// is refused with 401.
func TestWebhook_KlaviyoDeliveryOutsideTheReplayWindowIsRefused(t *testing.T) {
	t.Parallel()
	r := newClockRig(t, "klaviyo", map[string]string{"privateApiKey": "pk_x", "webhookSecret": "klsec"})
	signedAt := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	*r.now = signedAt.Add(klaviyo.ReplayWindow + time.Second)
	if code := postKlaviyo(t, r.url, "klsec", "replayed-1", signedAt); code != http.StatusUnauthorized {
		t.Fatalf("past the window: %d, want 401", code)
	}
	*r.now = signedAt.Add(time.Minute)
	if code := postKlaviyo(t, r.url, "klsec", "fresh-1", signedAt); code != http.StatusOK {
		t.Fatalf("within the window: %d, want 200", code)
	}
}

// postShopify posts a customers/update signed with secret.
func postShopify(t *testing.T, url, secret, id string) int {
	t.Helper()
	code, _ := postShopifyBody(t, url, secret, id)
	return code
}

func postShopifyBody(t *testing.T, url, secret, id string) (int, string) {
	t.Helper()
	body := []byte(`{"id":7001,"created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-02T00:00:00Z","first_name":"Rota","email":"rota@example.com","phone":null,"admin_graphql_api_id":"gid://shopify/Customer/7001"}`)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", "customers/update")
	req.Header.Set("X-Shopify-Webhook-Id", id)
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign(secret, body))
	return status(t)(http.DefaultClient.Do(req))
}

// previousWebhookSecret is accepted for the hour after the rotation the
// Hub API recorded, and not after: it used to be accepted forever, and
// still is by nothing when no rotation time was recorded.
func TestWebhook_PreviousShopifySecretOnlyWithinTheRotationWindow(t *testing.T) {
	t.Parallel()
	rotated := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	r := newClockRig(t, "shopify", map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "shpat", "webhookSecret": "new",
		"previousWebhookSecret": "old", "webhookSecretRotatedAt": rotated.Format(time.RFC3339Nano)})
	for _, tc := range []struct {
		name   string
		at     time.Time
		secret string
		want   int
	}{
		{"old secret 59 minutes after", rotated.Add(59 * time.Minute), "old", http.StatusOK},
		{"old secret 61 minutes after", rotated.Add(61 * time.Minute), "old", http.StatusUnauthorized},
		{"old secret a week after", rotated.AddDate(0, 0, 7), "old", http.StatusUnauthorized},
		{"new secret a week after", rotated.AddDate(0, 0, 7), "new", http.StatusOK},
	} {
		*r.now = tc.at
		if got := postShopify(t, r.url, tc.secret, "d-"+tc.name); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	untimed := newClockRig(t, "shopify", map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "shpat", "webhookSecret": "new",
		"previousWebhookSecret": "old"})
	*untimed.now = rotated
	if got := postShopify(t, untimed.url, "old", "d-untimed"); got != http.StatusUnauthorized {
		t.Errorf("previous secret with no rotation time: %d, want 401", got)
	}
}

// A signed orders/create body re-sent as customers/redact (the topic header
// is not signed) is refused with 400 and redacts nothing.
func TestWebhook_ShopifyOrderReplayedAsRedactChangesNothing(t *testing.T) {
	t.Parallel()
	r := newClockRig(t, "shopify", map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "shpat", "webhookSecret": "new"})
	*r.now = time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	if got := postShopify(t, r.url, "new", "d-create"); got != http.StatusOK {
		t.Fatalf("customers/update: %d", got)
	}
	order := []byte(`{"id":9001,"order_number":1001,"line_items":[{"id":1,"quantity":1}],"email":"rota@example.com","created_at":"2026-12-05T05:00:00Z","customer":{"id":7001,"email":"rota@example.com","created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-02T00:00:00Z"}}`)
	for _, topic := range []string{"customers/redact", "customers/delete", "shop/redact"} {
		req, _ := http.NewRequest("POST", r.url, bytes.NewReader(order))
		req.Header.Set("X-Shopify-Topic", topic)
		req.Header.Set("X-Shopify-Webhook-Id", "d-"+topic)
		req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign("new", order))
		if code, body := status(t)(http.DefaultClient.Do(req)); code != http.StatusBadRequest {
			t.Fatalf("order body as %s: %d %s, want 400", topic, code, body)
		}
	}
	// The customer is still there: the same update again is unchanged.
	if code, body := postShopifyBody(t, r.url, "new", "d-again"); code != http.StatusOK || !strings.Contains(body, `"unchanged"`) {
		t.Fatalf("customers/update again: %d %s, want unchanged (the customer kept)", code, body)
	}
}
