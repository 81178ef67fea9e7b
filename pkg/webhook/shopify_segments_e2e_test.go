package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// TestShopify_SegmentWebhooksAddAndRemoveTheGroupLive is issue 18 item 3
// live: customer.joined_segment puts the customer's contact in the
// segment's group ("Shopify - Big Spenders", the name read from the shop:
// the body names the segment by id only) and customer.left_segment takes
// it out; a segment the shop no longer has changes nothing; a segment body
// under another topic, or another topic's body under a segment topic, is
// refused (400).
func TestShopify_SegmentWebhooksAddAndRemoveTheGroupLive(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 5, Seed: 8})
	defer shop.Close()
	shop.SetSMSConsent(1, "+61412000001", "NOT_SUBSCRIBED", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	seg := shop.AddSegment("Big Spenders")
	cfg, _ := json.Marshal(map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "whsec", "apiBaseUrl": shop.URL()})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "shopify", Label: "Shopify",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.WebhooksFor(&connectors.Registry{AllowPrivateHosts: true}),
		Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL)})
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", h.Handle))
	defer srv.Close()
	url := srv.URL + "/webhooks/shopify/" + conn.ID
	send := func(topic string, body any, want int) string {
		t.Helper()
		code, resp := status(t)(shop.SendWebhook(ctx, url, "whsec", topic, body))
		if code != want {
			t.Fatalf("%s: %d %s, want %d", topic, code, resp, want)
		}
		return resp
	}
	members := func() []string {
		t.Helper()
		cs, _, err := st.ListContacts(ctx, tenant.ID, store.ContactFilter{Group: "Shopify - Big Spenders"}, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Phone)
			if !slices.Contains(c.Groups, "Shopify - Big Spenders") {
				t.Fatalf("contact %s listed in the group without it: %v", c.ID, c.Groups)
			}
		}
		return out
	}

	send("customers/create", shop.CustomerPayload(1), http.StatusOK)
	if got := members(); len(got) != 0 {
		t.Fatalf("members before any segment webhook: %v", got)
	}
	send("customer.joined_segment", shop.SegmentPayload(1, seg), http.StatusOK)
	if got := members(); !slices.Equal(got, []string{"+61412000001"}) {
		t.Fatalf("members after customer.joined_segment: %v", got)
	}
	send("customer.left_segment", shop.SegmentPayload(1, seg), http.StatusOK)
	if got := members(); len(got) != 0 {
		t.Fatalf("members after customer.left_segment: %v", got)
	}
	// A segment deleted since: nothing to apply.
	if resp := send("customer.joined_segment", shop.SegmentPayload(1, "gid://shopify/Segment/999"), http.StatusOK); strings.Contains(resp, "updated") {
		t.Fatalf("an unknown segment changed the contact: %s", resp)
	}
	// The topic header is not signed: shapes are checked.
	send("customer.tags_added", shop.SegmentPayload(1, seg), http.StatusBadRequest)
	send("customer.joined_segment", map[string]any{"customerId": "gid://shopify/Customer/1", "tags": []string{"x"}, "occurredAt": "2026-01-01T00:00:00Z"}, http.StatusBadRequest)
}
