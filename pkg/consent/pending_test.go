package consent_test

import (
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

var doiT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// pendingLedger: a number pending through double opt-in connection "doi"
// (its request queued at doiT0).
func pendingLedger(t *testing.T) consent.Ledger {
	t.Helper()
	l, ch := consent.Ledger{Phone: "+61412345678"}.Apply(consent.SignalEvent("doi", consent.DoubleOptIn,
		source.ConsentSignal{State: source.SignalNeverAsked}, doiT0, consent.Evidence{Provider: "Shopify"}))
	if ch.To != consent.Pending || len(ch.MessagesDue) != 1 || ch.MessagesDue[0].Purpose != consent.PurposeDoubleOptInRequest {
		t.Fatalf("setup: %+v", ch)
	}
	return l
}

func TestReviewPending(t *testing.T) {
	p30 := consent.PendingPolicy{ExpiryDays: 30}
	p30r3 := consent.PendingPolicy{ExpiryDays: 30, ReminderDays: 3}
	yes := func(l consent.Ledger) consent.Ledger {
		l, _ = l.Apply(consent.YesEvent(doiT0.Add(days(2)), consent.Evidence{Text: "YES"}))
		return l
	}
	stop := func(l consent.Ledger) consent.Ledger {
		l, _ = l.Apply(consent.OptOutEvent(doiT0.Add(days(2)), consent.Evidence{Text: "STOP"}))
		return l
	}
	reminded := func(l consent.Ledger) consent.Ledger {
		l, _ = l.Apply(consent.ReminderEvent("doi", doiT0.Add(days(3))))
		return l
	}
	expired := func(l consent.Ledger) consent.Ledger {
		l, _ = l.Apply(consent.ExpiredEvent("doi", doiT0.Add(days(30))))
		return l
	}
	same := func(l consent.Ledger) consent.Ledger { return l }
	for _, tc := range []struct {
		name   string
		edit   func(consent.Ledger) consent.Ledger
		conn   string
		policy consent.PendingPolicy
		at     time.Duration
		want   consent.PendingAction
		next   time.Duration // from doiT0 (PendingWait)
	}{
		{"waiting: look again at the expiry", same, "doi", p30, days(1), consent.PendingWait, days(30)},
		{"default expiry is 30 days", same, "doi", consent.PendingPolicy{}, days(29), consent.PendingWait, days(30)},
		{"expired at exactly the expiry", same, "doi", p30, days(30), consent.PendingExpire, 0},
		{"expired later", same, "doi", p30, days(45), consent.PendingExpire, 0},
		{"short expiry", same, "doi", consent.PendingPolicy{ExpiryDays: 2}, days(2), consent.PendingExpire, 0},
		{"reminder not yet due: look again then", same, "doi", p30r3, days(1), consent.PendingWait, days(3)},
		{"reminder due", same, "doi", p30r3, days(3), consent.PendingRemind, days(30)},
		{"reminder sent: wait for the expiry", reminded, "doi", p30r3, days(4), consent.PendingWait, days(30)},
		{"reminder sent, expiry due", reminded, "doi", p30r3, days(30), consent.PendingExpire, 0},
		{"reminder off", same, "doi", p30, days(10), consent.PendingWait, days(30)},
		{"reminder not before the expiry is never due", same, "doi", consent.PendingPolicy{ExpiryDays: 3, ReminderDays: 3}, days(3), consent.PendingExpire, 0},
		{"a missed reminder past the expiry: expire", same, "doi", p30r3, days(31), consent.PendingExpire, 0},
		{"answered YES: done", yes, "doi", p30, days(31), consent.PendingDone, 0},
		{"opted out: done", stop, "doi", p30, days(31), consent.PendingDone, 0},
		{"already expired: done", expired, "doi", p30, days(40), consent.PendingDone, 0},
		{"another connection never asked: done", same, "other", p30, days(31), consent.PendingDone, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.edit(pendingLedger(t))
			r := l.ReviewPending(tc.conn, tc.policy, doiT0.Add(tc.at))
			if r.Action != tc.want {
				t.Fatalf("action = %s, want %s (%+v)", r.Action, tc.want, r)
			}
			if tc.want == consent.PendingWait && !r.Next.Equal(doiT0.Add(tc.next)) {
				t.Fatalf("next = %v, want %v", r.Next, doiT0.Add(tc.next))
			}
		})
	}
}

func TestExpiredAndReminderEvents(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    []consent.Event
		want     consent.State
		messages []consent.Purpose // due at the last step
	}{
		{"expiry: pending to not_subscribed", []consent.Event{consent.ExpiredEvent("doi", doiT0.Add(days(30)))}, consent.NotSubscribed, nil},
		{"expiry applied twice changes nothing the second time",
			[]consent.Event{consent.ExpiredEvent("doi", doiT0.Add(days(30))), consent.ExpiredEvent("doi", doiT0.Add(days(31)))}, consent.NotSubscribed, nil},
		{"a YES after the expiry subscribes (an opt-in reply)",
			[]consent.Event{consent.ExpiredEvent("doi", doiT0.Add(days(30))), consent.OptInEvent(doiT0.Add(days(40)), consent.Evidence{Text: "YES"})}, consent.Subscribed, nil},
		{"a re-sync after the expiry does not make it pending again (no second request)",
			[]consent.Event{consent.ExpiredEvent("doi", doiT0.Add(days(30))),
				consent.SignalEvent("doi", consent.DoubleOptIn, source.ConsentSignal{State: source.SignalSubscribed, At: doiT0.Add(days(35))}, doiT0.Add(days(35)), consent.Evidence{})},
			consent.NotSubscribed, nil},
		{"the expiry of one connection leaves another's pending", []consent.Event{
			consent.SignalEvent("doi2", consent.DoubleOptIn, source.ConsentSignal{State: source.SignalNeverAsked}, doiT0.Add(days(20)), consent.Evidence{}),
			consent.ExpiredEvent("doi", doiT0.Add(days(30)))}, consent.Pending, nil},
		{"expiry leaves a subscribed source subscribed", []consent.Event{
			consent.SignalEvent("inf", consent.Inferred, source.ConsentSignal{State: source.SignalNeverAsked}, doiT0.Add(days(1)), consent.Evidence{}),
			consent.ExpiredEvent("doi", doiT0.Add(days(30)))}, consent.Subscribed, nil},
		{"the reminder is due once", []consent.Event{consent.ReminderEvent("doi", doiT0.Add(days(3)))}, consent.Pending, []consent.Purpose{consent.PurposeDoubleOptInReminder}},
		{"a second reminder is not due", []consent.Event{consent.ReminderEvent("doi", doiT0.Add(days(3))), consent.ReminderEvent("doi", doiT0.Add(days(4)))}, consent.Pending, nil},
		{"no reminder to a number that answered", []consent.Event{consent.YesEvent(doiT0.Add(days(1)), consent.Evidence{Text: "YES"}), consent.ReminderEvent("doi", doiT0.Add(days(3)))}, consent.Subscribed, nil},
		{"no reminder to an opted-out number", []consent.Event{consent.OptOutEvent(doiT0.Add(days(1)), consent.Evidence{Text: "STOP"}), consent.ReminderEvent("doi", doiT0.Add(days(3)))}, consent.Unsubscribed, nil},
		{"no expiry of an opted-out number", []consent.Event{consent.OptOutEvent(doiT0.Add(days(1)), consent.Evidence{Text: "STOP"}), consent.ExpiredEvent("doi", doiT0.Add(days(30)))}, consent.Unsubscribed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := pendingLedger(t)
			var ch consent.Change
			for _, ev := range tc.steps {
				before := l
				l, ch = l.Apply(ev)
				if ch.IsZero() != before.Holds(ev) {
					t.Fatalf("Holds(%s) = %v, Apply changed %v", ev.Kind, before.Holds(ev), !ch.IsZero())
				}
			}
			if l.State() != tc.want {
				t.Fatalf("state = %s, want %s", l.State(), tc.want)
			}
			var got []consent.Purpose
			for _, m := range ch.MessagesDue {
				got = append(got, m.Purpose)
			}
			if len(got) != len(tc.messages) || (len(got) > 0 && got[0] != tc.messages[0]) {
				t.Fatalf("messages due = %v, want %v", got, tc.messages)
			}
		})
	}
	// The expiry's change is the history entry's content.
	_, ch := pendingLedger(t).Apply(consent.ExpiredEvent("doi", doiT0.Add(days(30))))
	if ch.From != consent.Pending || ch.To != consent.NotSubscribed || ch.Kind != consent.EventDoubleOptInExpired || ch.ConnectionID != "doi" {
		t.Fatalf("expiry change = %+v", ch)
	}
}
