package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

type rig struct {
	st     *store.Store
	url    string
	tenant string
	shop   *woocommercetest.Server
}

func newRig(t *testing.T) *rig {
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
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 20, Seed: 8})
	t.Cleanup(shop.Close)
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL)})
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", h.Handle))
	t.Cleanup(srv.Close)
	return &rig{st: st, url: srv.URL + "/webhooks/woocommerce/" + conn.ID, tenant: tenant.ID, shop: shop}
}

// status reads a response: status(t)(http.Get(...)).
func status(t *testing.T) func(*http.Response, error) (int, string) {
	return func(resp *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

func TestWebhook_LiveCustomerLifecycle(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	cust, _ := r.shop.Customer(3)
	code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.created", cust))
	if code != 200 || !strings.Contains(body, `"created"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	// WooCommerce re-fires the same payload with a new delivery id.
	if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.created", cust)); code != 200 || !strings.Contains(body, `"unchanged"`) {
		t.Fatalf("re-fired payload: %d %s", code, body)
	}
	newer, _ := r.shop.Update(3, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), func(c *woocommerce.Customer) { c.FirstName = "Newer" })
	older := newer
	older.FirstName = "Older"
	older.DateModifiedGMT = woocommerce.WCTime{Time: newer.DateModifiedGMT.Add(-time.Hour)}
	if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.updated", newer)); code != 200 || !strings.Contains(body, `"updated"`) {
		t.Fatalf("update: %d %s", code, body)
	}
	if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.updated", older)); code != 200 || !strings.Contains(body, `"unchanged"`) {
		t.Fatalf("older update after newer: %d %s", code, body)
	}
	list, _, err := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{}, 10, "")
	if err != nil || len(list) != 1 || list[0].FirstName.Value != "Newer" {
		t.Fatalf("contacts = %+v %v", list, err)
	}
	if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.deleted", map[string]int64{"id": 3})); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if list, _, _ := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{}, 10, ""); len(list) != 0 {
		t.Fatalf("contact survived the delete of its only source: %+v", list)
	}
}

func TestWebhook_RedeliveryOfTheSameDeliveryIsAcknowledged(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	cust, _ := r.shop.Customer(4)
	body, _ := woocommercetest.EncodePHP(cust)
	send := func() (int, string) {
		req, _ := http.NewRequest("POST", r.url, bytes.NewReader(body))
		req.Header.Set(woocommerce.HeaderTopic, "customer.created")
		req.Header.Set(woocommerce.HeaderDeliveryID, "same-delivery")
		req.Header.Set(woocommerce.HeaderSignature, woocommerce.Sign("whsec", body))
		return status(t)(http.DefaultClient.Do(req))
	}
	if code, b := send(); code != 200 || !strings.Contains(b, "created") {
		t.Fatalf("first: %d %s", code, b)
	}
	if code, b := send(); code != 200 || !strings.Contains(b, "duplicate") {
		t.Fatalf("redelivery: %d %s", code, b)
	}
}

func TestWebhook_BadInputAnswers(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	cust, _ := r.shop.Customer(5)
	if code, _ := status(t)(r.shop.SendWebhook(ctx, r.url, "wrong-secret", "customer.created", cust)); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", code)
	}
	if code, _ := status(t)(r.shop.SendWebhook(ctx, r.url+"x", "whsec", "customer.created", cust)); code != http.StatusNotFound {
		t.Errorf("unknown connection: %d", code)
	}
	if code, _ := status(t)(r.shop.SendWebhook(ctx, strings.Replace(r.url, "/woocommerce/", "/shopify/", 1), "whsec", "customer.created", cust)); code != http.StatusNotFound {
		t.Errorf("platform mismatch: %d", code)
	}
	if code, _ := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "product.created", cust)); code != http.StatusBadRequest {
		t.Errorf("unsupported topic: %d", code)
	}
	garbage := []byte("{not json")
	req, _ := http.NewRequest("POST", r.url, bytes.NewReader(garbage))
	req.Header.Set(woocommerce.HeaderTopic, "customer.created")
	req.Header.Set(woocommerce.HeaderSignature, woocommerce.Sign("whsec", garbage))
	if code, _ := status(t)(http.DefaultClient.Do(req)); code != http.StatusBadRequest {
		t.Errorf("malformed: %d", code)
	}
	big := bytes.Repeat([]byte("x"), webhook.MaxBody+1)
	req, _ = http.NewRequest("POST", r.url, bytes.NewReader(big))
	if code, _ := status(t)(http.DefaultClient.Do(req)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", code)
	}
	if code, _ := status(t)(woocommercetest.SendPing(ctx, r.url, 12)); code != http.StatusOK {
		t.Errorf("ping: %d", code)
	}
	if list, _, _ := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{}, 10, ""); len(list) != 0 {
		t.Errorf("bad input wrote contacts: %+v", list)
	}
}
