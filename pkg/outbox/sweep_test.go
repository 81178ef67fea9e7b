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

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestSweep_DueMessagesSurviveAFailedEnqueue: a webhook (double opt-in
// request) and an inbound STOP (opt-out confirmation) write their decisions
// and then fail to enqueue (the outbox queue they were given does not
// exist). Their retries see "unchanged" and enqueue nothing. The sweeper
// finds both markers after the grace period and enqueues them; each is sent
// exactly once — also when its queue message is delivered twice — and
// counted once; a later sweep finds nothing.
func TestSweep_DueMessagesSurviveAFailedEnqueue(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 1})
	defer shop.Close()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	sid, token := tw.Credentials()
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "double_opt_in", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	gone := queue.NewSender(s.SQS, s.OutboxQueueURL+"-gone") // every enqueue fails
	wh := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}",
		webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Outbox: gone}).Handle))
	defer wh.Close()
	in := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: gone}).Handle))
	defer in.Close()
	code := func(resp *http.Response, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// A double opt-in contact: its request is due, the enqueue fails.
	const pending, stopper = "+61412555777", "+61412555888"
	cust, _ := shop.Update(1, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), func(c *woocommerce.Customer) {
		c.Billing.Phone, c.Billing.Country = "0412 555 777", "AU"
	})
	hookURL := wh.URL + "/webhooks/woocommerce/" + conn.ID
	if c := code(shop.SendWebhook(ctx, hookURL, "whsec", "customer.updated", cust)); c != http.StatusInternalServerError {
		t.Fatalf("webhook with a failing enqueue = %d, want 500", c)
	}
	if c := code(shop.SendWebhook(ctx, hookURL, "whsec", "customer.updated", cust)); c != http.StatusOK {
		t.Fatalf("the platform's retry = %d, want 200 (unchanged)", c)
	}
	// A STOP: its confirmation is due, the enqueue fails; the provider's
	// retry changes nothing.
	path := "/sms/inbound/twilio/" + tenant.ID
	resp, msgSID, err := tw.SendInbound(ctx, in.URL+path, path, stopper, "+15005550006", "STOP", "")
	if c := code(resp, err); c != http.StatusInternalServerError {
		t.Fatalf("STOP with a failing enqueue = %d, want 500", c)
	}
	resp, _, err = tw.SendInbound(ctx, in.URL+path, path, stopper, "+15005550006", "STOP", msgSID)
	if c := code(resp, err); c != http.StatusOK {
		t.Fatalf("the provider's retry = %d, want 200", c)
	}
	if p, _, _ := st.GetPhone(ctx, tenant.ID, pending); string(p.Ledger.State()) != "pending" {
		t.Fatalf("the double opt-in number is %s, want pending", p.Ledger.State())
	}

	sw := &messages.Sweeper{Store: st, Queue: queue.NewSender(s.SQS, s.OutboxQueueURL)}
	if n, err := sw.Sweep(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("sweep inside the grace period = %d %v, want 0", n, err)
	}
	later := time.Now().Add(store.OutboxGrace + time.Minute)
	if n, err := sw.Sweep(ctx, later); err != nil || n != 2 {
		t.Fatalf("sweep after the grace period = %d %v, want 2", n, err)
	}
	if n, err := sw.Sweep(ctx, later); err != nil || n != 0 {
		t.Fatalf("a second sweep at once = %d %v, want 0 (swept markers move on)", n, err)
	}

	// Consume what the sweeper enqueued, each message delivered twice.
	h := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true})
	bodies := receive(t, s, 2)
	for round := range 2 {
		for i, b := range bodies {
			resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m" + string(rune('0'+i)), Body: b}}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("round %d: handling %s: %v %+v", round, b, err, resp)
			}
		}
	}
	if got := tw.SentTo(pending); len(got) != 1 || !strings.Contains(got[0].Text, "YES") {
		t.Fatalf("double opt-in requests = %+v, want one", got)
	}
	if got := tw.SentTo(stopper); len(got) != 1 || !strings.Contains(got[0].Text, "unsubscribed") {
		t.Fatalf("opt-out confirmations = %+v, want one", got)
	}
	if used, _ := st.CreditsUsed(ctx, tenant.ID); used != 2 {
		t.Fatalf("credits = %d, want 2", used)
	}
	if n, err := sw.Sweep(ctx, later.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep after delivery = %d %v, want 0", n, err)
	}
}

// receive reads n messages from the test's outbox queue (deleting them).
func receive(t *testing.T, s *stacktest.Stack, n int) []string {
	t.Helper()
	ctx := context.Background()
	var bodies []string
	deadline := time.Now().Add(20 * time.Second)
	for len(bodies) < n && time.Now().Before(deadline) {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.OutboxQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.OutboxQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(bodies) != n {
		t.Fatalf("outbox queue held %d messages, want %d", len(bodies), n)
	}
	return bodies
}
