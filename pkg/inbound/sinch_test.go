package inbound_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestSinch_StopOfAStrangerIsSuppressedAndHelpIsAnswered: a STOP from a
// number no contact holds is recorded (a later sync must respect it), a
// redelivered callback changes nothing, a bad signature is refused, and
// HELP gets the tenant's help text through Sinch.
func TestSinch_StopOfAStrangerIsSuppressedAndHelpIsAnswered(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	f := sinchtest.NewServer(sinchtest.Options{})
	defer f.Close()
	plan, token := f.Credentials()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Sinch, Sender: "+61400000000", CompanyName: "Acme", HelpText: "Call 1300 000 000.", APIBaseURL: f.URL(),
		Credentials: map[string]string{"servicePlanId": plan, "apiToken": token, "webhookSecret": "sinch_secret"}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	outboxQ := queue.NewSender(s.SQS, s.OutboxQueueURL)
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true}).Handle, RetryDelay: time.Second}).Run(ctx)
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: outboxQ}).Handle))
	defer srv.Close()
	hook := srv.URL + "/sms/inbound/sinch/" + tenant.ID
	const stranger = "+61499111222"
	resp, id, err := f.SendInbound(ctx, hook, "sinch_secret", stranger, "+61400000000", "STOP please", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("STOP: %v %v", resp, err)
	}
	p, ok, err := st.GetPhone(ctx, tenant.ID, stranger)
	if err != nil || !ok || p.Ledger.State() != consent.Unsubscribed || p.ContactID != "" {
		t.Fatalf("stranger's number = %+v %v %v, want an unsubscribed ledger with no contact", p, ok, err)
	}
	if resp, _, _ := f.SendInbound(ctx, hook, "sinch_secret", stranger, "+61400000000", "STOP please", id); resp.StatusCode != 200 {
		t.Fatalf("redelivery answered %d", resp.StatusCode)
	}
	if resp, _, _ := f.SendInbound(ctx, hook, "wrong", stranger, "+61400000000", "START", ""); resp.StatusCode != 401 {
		t.Fatalf("bad signature answered %d", resp.StatusCode)
	}
	if resp, _, _ := f.SendInbound(ctx, hook, "sinch_secret", "+61499333444", "+61400000000", "help", ""); resp.StatusCode != 200 {
		t.Fatalf("HELP answered %d", resp.StatusCode)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && len(f.Sent()) < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	var help, conf int
	for _, m := range f.Sent() {
		switch {
		case m.To == "+61499333444" && strings.Contains(m.Text, "Call 1300 000 000."):
			help++
		case m.To == stranger && strings.Contains(m.Text, "unsubscribed"):
			conf++
		}
	}
	if help != 1 || conf != 1 || len(f.Sent()) != 2 {
		t.Fatalf("sent = %+v, want one help text and one opt-out confirmation", f.Sent())
	}
}
