package outbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestOutbox_AcceptedSendWithLostAnswerIsSentOnceAndCountedOnce: Twilio
// accepts the opt-out confirmation and its answer never comes. The consumer
// must not send it again inside its lease (one confirmation per opt-out):
// the message deadline ends the attempt, the marker records "unknown" and
// no credit. The sweeper brings the marker back; the next holder looks the
// message up at Twilio, finds it, and records it sent with its one credit
// in the same write — still one message at Twilio.
func TestOutbox_AcceptedSendWithLostAnswerIsSentOnceAndCountedOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	sid, token := tw.Credentials()
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	const number = "+61412555999"
	msg := messages.SMS(tenant.ID, consent.Message{Phone: number, Purpose: consent.PurposeOptOutConfirmation, At: time.Now().UTC()})
	if err := st.PutOutbox(ctx, msg.Entry()); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(msg)
	h := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, HTTP: &http.Client{Timeout: 500 * time.Millisecond}, MessageTimeout: 2 * time.Second})
	handle := func(b string) {
		t.Helper()
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: b}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handling: %v %+v", err, resp)
		}
	}

	tw.HangNext(1)
	handle(string(body))
	if n := len(tw.SentTo(number)); n != 1 || tw.Posts() != 1 {
		t.Fatalf("Twilio holds %d confirmations after %d posts, want 1 after 1", n, tw.Posts())
	}
	if _, status, err := st.GetOutbox(ctx, tenant.ID, msg.Ref); err != nil || status != store.OutboxUnknown {
		t.Fatalf("marker = %q %v, want unknown", status, err)
	}
	if used, _ := st.CreditsUsed(ctx, tenant.ID); used != 0 {
		t.Fatalf("credits = %d before the outcome is known, want 0", used)
	}
	handle(string(body)) // a redelivery reconciles, it does not send

	sw := &messages.Sweeper{Store: st, Queue: queue.NewSender(s.SQS, s.OutboxQueueURL)}
	if n, err := sw.Sweep(ctx, time.Now().Add(store.OutboxGrace+time.Minute)); err != nil || n != 0 {
		t.Fatalf("sweep after the reconciling redelivery = %d %v, want 0", n, err)
	}
	if n := len(tw.SentTo(number)); n != 1 || tw.Posts() != 1 {
		t.Fatalf("Twilio holds %d confirmations after %d posts, want 1 after 1", n, tw.Posts())
	}
	if _, status, err := st.GetOutbox(ctx, tenant.ID, msg.Ref); err != nil || status != store.OutboxSent {
		t.Fatalf("marker = %q %v, want sent", status, err)
	}
	if used, _ := st.CreditsUsed(ctx, tenant.ID); used != 1 {
		t.Fatalf("credits = %d, want 1", used)
	}
}

// TestOutbox_UnknownSendIsSweptAndReconciled: the unknown marker of a lost
// answer comes back through the sweeper when no redelivery does.
func TestOutbox_UnknownSendIsSweptAndReconciled(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	sid, token := tw.Credentials()
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	const number = "+61412555998"
	msg := messages.SMS(tenant.ID, consent.Message{Phone: number, Purpose: consent.PurposeHelp, At: time.Now().UTC()})
	if err := st.PutOutbox(ctx, msg.Entry()); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(msg)
	h := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, HTTP: &http.Client{Timeout: 500 * time.Millisecond}, MessageTimeout: 2 * time.Second})
	tw.HangNext(1)
	if resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: string(body)}}}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handling: %v %+v", err, resp)
	}
	sw := &messages.Sweeper{Store: st, Queue: queue.NewSender(s.SQS, s.OutboxQueueURL)}
	if n, err := sw.Sweep(ctx, time.Now().Add(store.OutboxGrace+time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep = %d %v, want the unknown marker", n, err)
	}
	for _, b := range receive(t, s, 1) {
		if resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m2", Body: b}}}); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handling the swept message: %v %+v", err, resp)
		}
	}
	if _, status, _ := st.GetOutbox(ctx, tenant.ID, msg.Ref); status != store.OutboxSent || len(tw.SentTo(number)) != 1 || tw.Posts() != 1 {
		t.Fatalf("marker %q, %d messages after %d posts; want sent, 1, 1", status, len(tw.SentTo(number)), tw.Posts())
	}
	if used, _ := st.CreditsUsed(ctx, tenant.ID); used != 1 {
		t.Fatalf("credits = %d, want 1", used)
	}
}

// TestOutbox_HangingProviderEndsAtTheMessageDeadline: with an HTTP client
// that never gives up, a provider that takes the message and never answers
// is cut off by the message's own deadline; the outcome (unknown) is still
// recorded.
func TestOutbox_HangingProviderEndsAtTheMessageDeadline(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	sid, token := tw.Credentials()
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	msg := messages.SMS(tenant.ID, consent.Message{Phone: "+61412555997", Purpose: consent.PurposeHelp, At: time.Now().UTC()})
	body, _ := json.Marshal(msg)
	h := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, HTTP: &http.Client{}, MessageTimeout: 500 * time.Millisecond})
	tw.HangNext(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: string(body)}}}); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Errorf("handling: %v %+v", err, resp)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the message was still waiting on the provider 30 s later: no message deadline")
	}
	if _, status, err := st.GetOutbox(ctx, tenant.ID, msg.Ref); err != nil || status != store.OutboxUnknown {
		t.Fatalf("marker = %q %v, want unknown", status, err)
	}
}
