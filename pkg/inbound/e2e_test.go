package inbound_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

const phone = "+61412555001"

func TestDoubleOptIn_YesThenStop_EndToEnd(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sid, token := tw.Credentials()
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	outboxQ := queue.NewSender(s.SQS, s.OutboxQueueURL)
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true}).Handle, RetryDelay: time.Second}).Run(ctx)
	in := inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: outboxQ})
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", in.Handle))
	defer srv.Close()
	hookURL := srv.URL + "/sms/inbound/twilio/" + tenant.ID
	// PUBLIC_BASE_URL defaults to nothing in this handler: the signed URL is the path.
	publicURL := "/sms/inbound/twilio/" + tenant.ID

	conn := merge.Connection{ID: "c1", Label: "Shopify", Mode: consent.DoubleOptIn, DefaultRegion: "AU"}
	rec := source.Record{Platform: source.Shopify, Label: "Shopify", ConnectionID: "c1", ExternalID: "42", UpdatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		FirstName: "Ann", Emails: []string{"ann@example.com"}, Phones: []source.PhoneField{{Raw: "0412 555 001", Country: "AU"}},
		Consent: source.ConsentSignal{State: source.SignalNeverAsked}}
	sync := func(r source.Record) {
		t.Helper()
		a, err := st.ApplyRecord(ctx, store.Target{TenantID: tenant.ID, Conn: conn}, r, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range a.Messages {
			if err := outboxQ.Send(ctx, messages.SMS(tenant.ID, m)); err != nil {
				t.Fatal(err)
			}
		}
	}
	state := func() consent.State {
		t.Helper()
		p, _, err := st.GetPhone(ctx, tenant.ID, phone)
		if err != nil {
			t.Fatal(err)
		}
		return p.Ledger.State()
	}
	waitSent := func(n int) []sms.Message {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if got := tw.SentTo(phone); len(got) >= n {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("provider received %d messages, want %d", len(tw.SentTo(phone)), n)
		return nil
	}
	reply := func(text, sid string) string {
		t.Helper()
		resp, id, err := tw.SendInbound(ctx, hookURL, publicURL, phone, "+15005550006", text, sid)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<Response/>") {
			t.Fatalf("reply %q answered %d %s", text, resp.StatusCode, b)
		}
		return id
	}

	sync(rec)
	if got := state(); got != consent.Pending {
		t.Fatalf("after install: %s, want pending", got)
	}
	sent := waitSent(1)
	if !strings.Contains(sent[0].Text, "Reply Y or YES") {
		t.Fatalf("first message = %q, want the double opt-in request", sent[0].Text)
	}
	sync(rec) // a replayed record must not send a second request
	reply("yes", "")
	if got := state(); got != consent.Subscribed {
		t.Fatalf("after YES: %s, want subscribed", got)
	}
	stopSID := reply("Stop.", "")
	if got := state(); got != consent.Unsubscribed {
		t.Fatalf("after STOP: %s, want unsubscribed", got)
	}
	sent = waitSent(2)
	if !strings.Contains(sent[1].Text, "unsubscribed") {
		t.Fatalf("second message = %q, want the opt-out confirmation", sent[1].Text)
	}
	reply("Stop.", stopSID) // Twilio redelivers the same message
	reply("STOP", "")       // and the person sends STOP again
	later := rec
	later.UpdatedAt = later.UpdatedAt.Add(48 * time.Hour)
	later.FirstName = "Annie"
	sync(later) // the daily re-sync
	if got := state(); got != consent.Unsubscribed {
		t.Fatalf("after re-sync: %s, want unsubscribed (STOP wins)", got)
	}
	s.WaitDrained(t, s.OutboxQueueURL, time.Minute) // every message handed to the outbox has been handled
	if got := tw.SentTo(phone); len(got) != 2 {
		t.Fatalf("provider received %d messages, want exactly 2 (one request, one opt-out confirmation): %+v", len(got), got)
	}
	if used, _ := st.CreditsUsed(ctx, tenant.ID); used != 2 {
		t.Errorf("credits used = %d, want 2", used)
	}
}
