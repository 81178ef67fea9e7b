package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestSweep_HubUnsubscribeWriteBackSurvivesAFailedEnqueue: a hub
// unsubscribe is recorded and its write-back enqueue fails; the client's
// retry changes nothing. The sweeper enqueues the write-back, and the
// source platform gets it once.
func TestSweep_HubUnsubscribeWriteBackSurvivesAFailedEnqueue(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 1, ConsentMetaKey: "sms_consent"})
	defer shop.Close()
	tenant, apiKey, _ := st.CreateTenant(ctx, "Acme")
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "w", "smsConsentMetaKey": "sms_consent"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, WriteBackOptOuts: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	cust, _ := shop.Update(1, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), func(c *woocommerce.Customer) {
		c.Billing.Phone, c.Billing.Country = "0412 555 666", "AU"
		c.MetaData = []woocommerce.Meta{{Key: "sms_consent", Value: json.RawMessage(`"yes"`)}}
	})
	body, _ := woocommercetest.EncodePHP(cust)
	hdr := http.Header{}
	hdr.Set(woocommerce.HeaderTopic, "customer.created")
	wh, err := woocommerce.ParseWebhookKeys(hdr, body, webhookOpts(conn), woocommerce.Keys{Consent: "sms_consent"})
	if err != nil {
		t.Fatal(err)
	}
	applied, err := st.ApplyRecord(ctx, store.Target{TenantID: tenant.ID, Conn: store.MergeConnection(conn)}, wh.Records[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sandbox.HTTP("/v1/{proxy+}", hubapi.New(hubapi.Deps{Store: st, Sealer: sealer, AdminToken: "admin",
		Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL+"-gone")}).Handle))
	defer api.Close()
	put := func() int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, api.URL+"/v1/contacts/"+applied.Decision.ContactID+"/subscription",
			bytes.NewReader([]byte(`{"status":"unsubscribed"}`)))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := put(); c != http.StatusInternalServerError {
		t.Fatalf("unsubscribe with a failing enqueue = %d, want 500", c)
	}
	if c := put(); c != http.StatusOK {
		t.Fatalf("the client's retry = %d, want 200", c)
	}
	sw := &messages.Sweeper{Store: st, Queue: queue.NewSender(s.SQS, s.OutboxQueueURL)}
	if n, err := sw.Sweep(ctx, time.Now().Add(store.OutboxGrace+time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep = %d %v, want the write-back", n, err)
	}
	h := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, WriteBacks: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}})
	for i, b := range receive(t, s, 1) {
		for range 2 { // delivered twice
			if resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m" + string(rune('0'+i)), Body: b}}}); err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("handling: %v %+v", err, resp)
			}
		}
	}
	if wb := shop.WriteBacks(); len(wb) != 1 || wb[0].CustomerID != 1 || wb[0].Meta["sms_consent"] != "no" {
		t.Fatalf("write-backs = %+v, want one", wb)
	}
}
