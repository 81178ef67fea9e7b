package outbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestOutbox_ReminderToANumberNoLongerPendingIsSkipped: a double opt-in
// reminder whose number answered YES after it became due is not sent: the
// consumer re-checks the number and records the marker skipped (before any
// provider is looked at).
func TestOutbox_ReminderToANumberNoLongerPendingIsSkipped(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	const number = "+61412555777"
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var reminder messages.Outbox
	if _, err := st.UpdateLedger(ctx, tenant.ID, number, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		l, _ := r.Ledger.Apply(consent.SignalEvent("c1", consent.DoubleOptIn, source.ConsentSignal{State: source.SignalNeverAsked}, t0, consent.Evidence{}))
		l.Phone = number
		l, ch := l.Apply(consent.ReminderEvent("c1", t0.Add(72*time.Hour)))
		if len(ch.MessagesDue) != 1 {
			t.Fatalf("reminder change = %+v", ch)
		}
		reminder = messages.SMS(tenant.ID, ch.MessagesDue[0])
		return store.LedgerUpdate{Ledger: l, Changed: true, Outbox: messages.Entries([]messages.Outbox{reminder})}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The YES arrives before the consumer gets to the reminder.
	if _, err := st.UpdateLedger(ctx, tenant.ID, number, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		l, ch := r.Ledger.Apply(consent.YesEvent(t0.Add(73*time.Hour), consent.Evidence{Text: "YES"}))
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(reminder)
	h := outbox.New(outbox.Deps{Store: st, Opener: sealer})
	if resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: string(body)}}}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handling: %v %+v", err, resp)
	}
	if e, status, err := st.GetOutbox(ctx, tenant.ID, reminder.Ref); err != nil || status != store.OutboxSkipped || e.Purpose != string(consent.PurposeDoubleOptInReminder) {
		t.Fatalf("reminder marker = %+v %q %v, want skipped", e, status, err)
	}
}
