package outbox_test

import (
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
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestWriteBack_StopReachesTheSourcePlatform: with write-back on, a STOP
// reply is written back to the WooCommerce customer's consent meta key (and
// one opt-out confirmation is sent); with it off, nothing is written.
func TestWriteBack_StopReachesTheSourcePlatform(t *testing.T) {
	s := stacktest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 1, ConsentMetaKey: "sms_consent"})
	defer shop.Close()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	sid, token := tw.Credentials()
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "w", "smsConsentMetaKey": "sms_consent"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, WriteBackOptOuts: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	cust, _ := shop.Update(1, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), func(c *woocommerce.Customer) {
		c.Billing.Phone, c.Billing.Country = "0412 555 777", "AU"
		c.MetaData = []woocommerce.Meta{{Key: "sms_consent", Value: json.RawMessage(`"yes"`)}} // subscribed at the source
	})
	body, _ := woocommercetest.EncodePHP(cust)
	h := http.Header{}
	h.Set(woocommerce.HeaderTopic, "customer.created")
	wh, err := woocommerce.ParseWebhookKeys(h, body, webhookOpts(conn), woocommerce.Keys{Consent: "sms_consent"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: tenant.ID, Conn: store.MergeConnection(conn)}, wh.Records[0], time.Now()); err != nil {
		t.Fatal(err)
	}
	outboxQ := queue.NewSender(s.SQS, s.OutboxQueueURL)
	reg := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, WriteBacks: reg}).Handle, RetryDelay: time.Second}).Run(ctx)
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: outboxQ}).Handle))
	defer srv.Close()
	path := "/sms/inbound/twilio/" + tenant.ID
	resp, _, err := tw.SendInbound(ctx, srv.URL+path, path, "+61412555777", "+15005550006", "stop", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("STOP: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && (len(shop.WriteBacks()) == 0 || len(tw.SentTo("+61412555777")) == 0) {
		time.Sleep(50 * time.Millisecond)
	}
	wb := shop.WriteBacks()
	if len(wb) != 1 || wb[0].CustomerID != 1 || wb[0].Meta["sms_consent"] != "no" {
		t.Fatalf("write-backs = %+v", wb)
	}
	if sent := tw.SentTo("+61412555777"); len(sent) != 1 || !strings.Contains(sent[0].Text, "unsubscribed") {
		t.Fatalf("confirmations = %+v", sent)
	}
}
