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
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/sandbox"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/stacktest"
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

// klaviyoRig is a handler with a Klaviyo connection whose clock the test sets.
type klaviyoRig struct {
	url string
	now *time.Time
}

func newKlaviyoRig(t *testing.T, cfg map[string]string) klaviyoRig {
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
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "klaviyo", Label: "Klaviyo",
		ConsentMode: "explicit", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	now := new(time.Time)
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Now: func() time.Time { return *now }})
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", h.Handle))
	t.Cleanup(srv.Close)
	return klaviyoRig{url: srv.URL + "/webhooks/klaviyo/" + conn.ID, now: now}
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
	r := newKlaviyoRig(t, map[string]string{"privateApiKey": "pk_x", "webhookSecret": "klsec"})
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
