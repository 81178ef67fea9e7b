package consent

import (
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

const testPhone = "+61412345678"

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// at returns the base time plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

func sig(state source.SignalState, consentAt time.Time) source.ConsentSignal {
	return source.ConsentSignal{State: state, At: consentAt}
}

// run applies events in order to an empty ledger and returns the ledger and
// every change.
func run(t *testing.T, evs ...Event) (Ledger, []Change) {
	t.Helper()
	l := Ledger{Phone: testPhone}
	var chs []Change
	for _, ev := range evs {
		var ch Change
		l, ch = l.Apply(ev)
		chs = append(chs, ch)
	}
	return l, chs
}

func stop(n int) Event {
	return OptOutEvent(at(n), Evidence{Text: "STOP", MessageID: "in-stop", Provider: "twilio"})
}
func start(n int) Event {
	return OptInEvent(at(n), Evidence{Text: "START", MessageID: "in-start", Provider: "twilio"})
}
func yes(n int) Event {
	return YesEvent(at(n), Evidence{Text: "YES", MessageID: "in-yes", Provider: "twilio"})
}

func signal(conn string, mode Mode, state source.SignalState, consentAt time.Time, received int) Event {
	return SignalEvent(conn, mode, sig(state, consentAt), at(received), Evidence{Provider: "Shopify"})
}

// TestConsent_ModeTable checks design.md §4's table: the state each mode
// gives for each source signal, and the message due.
func TestConsent_ModeTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode    Mode
		signal  source.SignalState
		want    State
		message Purpose
	}{
		{Explicit, source.SignalSubscribed, Subscribed, ""},
		{Explicit, source.SignalNeverAsked, NotSubscribed, ""},
		{Explicit, source.SignalUnsubscribed, Unsubscribed, ""},
		{Inferred, source.SignalSubscribed, Subscribed, ""},
		{Inferred, source.SignalNeverAsked, Subscribed, ""},
		{Inferred, source.SignalUnsubscribed, Unsubscribed, ""},
		{Confirmation, source.SignalSubscribed, Subscribed, PurposeConfirmation},
		{Confirmation, source.SignalNeverAsked, Subscribed, PurposeConfirmation},
		{Confirmation, source.SignalUnsubscribed, Unsubscribed, ""},
		{DoubleOptIn, source.SignalSubscribed, Pending, PurposeDoubleOptInRequest},
		{DoubleOptIn, source.SignalNeverAsked, Pending, PurposeDoubleOptInRequest},
		{DoubleOptIn, source.SignalUnsubscribed, Unsubscribed, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+string(tt.signal), func(t *testing.T) {
			t.Parallel()
			l, chs := run(t, signal("c1", tt.mode, tt.signal, at(1), 2))
			if got := l.State(); got != tt.want {
				t.Errorf("State() = %q, want %q", got, tt.want)
			}
			ch := chs[0]
			if ch.From != NotSubscribed || ch.To != tt.want || ch.Kind != EventSourceSignal || ch.ConnectionID != "c1" || !ch.SourceAt.Equal(at(1)) {
				t.Errorf("change = %+v", ch)
			}
			var want []Message
			if tt.message != "" {
				want = []Message{{Phone: testPhone, ConnectionID: "c1", Purpose: tt.message, At: at(2)}}
			}
			if !reflect.DeepEqual(ch.MessagesDue, want) {
				t.Errorf("MessagesDue = %+v, want %+v", ch.MessagesDue, want)
			}
		})
	}
}

func TestConsent_EmptyLedgerIsNotSubscribed(t *testing.T) {
	t.Parallel()
	if got := (Ledger{Phone: testPhone}).State(); got != NotSubscribed {
		t.Errorf("State() = %q, want %q", got, NotSubscribed)
	}
}

// TestConsent_StopWins covers design.md §4 "STOP wins": after a hub-side
// opt-out at T the number stays unsubscribed until a hub-side opt-in after
// T or a source explicit opt-in whose own consent timestamp is after T.
func TestConsent_StopWins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []Event
		want   State
	}{
		{"StopUnsubscribes", []Event{signal("c1", Explicit, source.SignalSubscribed, at(1), 1), stop(10)}, Unsubscribed},
		{"HubOptInAfterT_Resubscribes", []Event{stop(10), start(11)}, Subscribed},
		{"YesAfterT_Resubscribes", []Event{stop(10), yes(11)}, Subscribed},
		{"HubOptInBeforeT_ArrivingLate_DoesNotResubscribe", []Event{stop(10), start(9)}, Unsubscribed},
		{"SourceExplicitOptInAfterStop_Resubscribes", []Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, at(11), 12)}, Subscribed},
		{"SourceExplicitOptInAfterStop_InDoubleOptInConnection_IsPending", []Event{stop(10), signal("c1", DoubleOptIn, source.SignalSubscribed, at(11), 12)}, Pending},
		{"SourceOptInBeforeT_ReceivedAfter_DoesNotResubscribe", []Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, at(9), 12)}, Unsubscribed},
		{"SourceOptInAtT_DoesNotResubscribe", []Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, at(10), 12)}, Unsubscribed},
		{"SourceOptInWithoutTimestamp_NeverResubscribes", []Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, time.Time{}, 12)}, Unsubscribed},
		{"InferredResyncDoesNotResubscribe", []Event{signal("c1", Inferred, source.SignalNeverAsked, time.Time{}, 1), stop(10), signal("c1", Inferred, source.SignalNeverAsked, time.Time{}, 20)}, Unsubscribed},
		{"ConfirmationResyncDoesNotResubscribe", []Event{signal("c1", Confirmation, source.SignalNeverAsked, time.Time{}, 1), stop(10), signal("c1", Confirmation, source.SignalNeverAsked, time.Time{}, 20)}, Unsubscribed},
		{"ReplayedWebhookDoesNotResubscribe", []Event{signal("c1", Explicit, source.SignalSubscribed, at(1), 1), stop(10), signal("c1", Explicit, source.SignalSubscribed, at(1), 30)}, Unsubscribed},
		{"NewConnectionDoesNotResubscribe", []Event{stop(10), signal("c2", Inferred, source.SignalNeverAsked, time.Time{}, 20)}, Unsubscribed},
		{"NewConnectionDoubleOptInDoesNotLift", []Event{stop(10), signal("c2", DoubleOptIn, source.SignalNeverAsked, time.Time{}, 20)}, Unsubscribed},
		{"LaterStopAfterStart_Unsubscribes", []Event{stop(10), start(11), stop(12)}, Unsubscribed},
		{"StartThenOlderStopArrivingLate_StaysSubscribed", []Event{start(11), stop(10)}, Subscribed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := run(t, tt.events...)
			if got := l.State(); got != tt.want {
				t.Errorf("State() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConsent_MCWooCommerce1264_ResyncAfterOptOutDoesNotResubscribe is the
// mc-woocommerce#1264 scenario: a full re-sync that re-sends every customer
// as "subscribed" (with the original consent timestamp) after some of them
// texted STOP must not re-subscribe them.
func TestConsent_MCWooCommerce1264_ResyncAfterOptOutDoesNotResubscribe(t *testing.T) {
	t.Parallel()
	l, _ := run(t,
		signal("woo", Explicit, source.SignalSubscribed, at(1), 2), // install sync
		stop(100), // the customer texts STOP
		signal("woo", Explicit, source.SignalSubscribed, at(1), 1000), // daily re-sync
		signal("woo", Inferred, source.SignalNeverAsked, time.Time{}, 1001),
		signal("mailchimp", Inferred, source.SignalSubscribed, time.Time{}, 1002), // reconnect, no timestamp
	)
	if got := l.State(); got != Unsubscribed {
		t.Fatalf("State() after re-sync = %q, want %q", got, Unsubscribed)
	}
	if !l.Suppressed() {
		t.Error("Suppressed() = false, want true")
	}
}

// TestConsent_NeverAskedDoesNotLower: a "never asked" / unknown signal
// never lowers a consent another source or the hub established.
func TestConsent_NeverAskedDoesNotLower(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []Event
		want   State
	}{
		{"OtherSourceSubscribed", []Event{signal("c1", Explicit, source.SignalSubscribed, at(1), 1), signal("c2", Explicit, source.SignalNeverAsked, at(5), 5)}, Subscribed},
		{"HubOptIn", []Event{start(1), signal("c2", Explicit, source.SignalNeverAsked, at(5), 5)}, Subscribed},
		{"SameSourceLater", []Event{signal("c1", Explicit, source.SignalSubscribed, at(1), 1), signal("c1", Explicit, source.SignalNeverAsked, at(5), 5)}, Subscribed},
		{"SameSourceDoesNotRaiseOptOut", []Event{signal("c1", Explicit, source.SignalUnsubscribed, at(1), 1), signal("c1", Inferred, source.SignalNeverAsked, at(5), 5)}, Unsubscribed},
		{"DoubleOptInPendingNotLoweredByExplicitNeverAsked", []Event{signal("c1", DoubleOptIn, source.SignalNeverAsked, time.Time{}, 1), signal("c2", Explicit, source.SignalNeverAsked, at(5), 5)}, Pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := run(t, tt.events...)
			if got := l.State(); got != tt.want {
				t.Errorf("State() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConsent_OnlyExplicitOptOutLowers and the newest explicit signal by
// its own consent timestamp wins among sources.
func TestConsent_NewestExplicitSignalWinsAmongSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []Event
		want   State
	}{
		{"SourceOptOutLowers", []Event{signal("c1", Explicit, source.SignalSubscribed, at(1), 1), signal("c2", Explicit, source.SignalUnsubscribed, at(2), 2)}, Unsubscribed},
		{"NewerOptInOfOtherSourceWins", []Event{signal("c2", Explicit, source.SignalUnsubscribed, at(2), 2), signal("c1", Explicit, source.SignalSubscribed, at(3), 3)}, Subscribed},
		{"OlderOptInOfOtherSourceLoses", []Event{signal("c2", Explicit, source.SignalUnsubscribed, at(2), 2), signal("c1", Explicit, source.SignalSubscribed, at(1), 3)}, Unsubscribed},
		{"ByConsentTimestampNotArrival", []Event{signal("c1", Explicit, source.SignalSubscribed, at(5), 6), signal("c2", Explicit, source.SignalUnsubscribed, at(4), 9)}, Subscribed},
		{"SameSourceOutOfOrderKeepsNewest", []Event{signal("c1", Explicit, source.SignalUnsubscribed, at(5), 6), signal("c1", Explicit, source.SignalSubscribed, at(4), 9)}, Unsubscribed},
		{"SourceOptOutWithoutTimestampCountsAtReceipt", []Event{signal("c1", Explicit, source.SignalSubscribed, at(1), 1), signal("c2", Explicit, source.SignalUnsubscribed, time.Time{}, 3)}, Unsubscribed},
		{"HubOptInAfterSourceOptOut", []Event{signal("c2", Explicit, source.SignalUnsubscribed, at(2), 2), start(3)}, Subscribed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := run(t, tt.events...)
			if got := l.State(); got != tt.want {
				t.Errorf("State() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConsent_SignalNoneChangesNothing: a record without consent data
// (e.g. Shopify customers/update since 2025-01) never touches consent.
func TestConsent_SignalNoneChangesNothing(t *testing.T) {
	t.Parallel()
	l, _ := run(t, signal("c1", Explicit, source.SignalSubscribed, at(1), 1))
	for _, mode := range []Mode{Explicit, Inferred, Confirmation, DoubleOptIn} {
		got, ch := l.Apply(SignalEvent("c1", mode, source.ConsentSignal{}, at(50), Evidence{}))
		if !reflect.DeepEqual(got, l) || !ch.IsZero() {
			t.Errorf("%s: SignalNone changed the ledger: %+v, change %+v", mode, got, ch)
		}
	}
}

// TestConsent_DoubleOptIn_PendingUntilYes: a double opt-in number is
// pending (one request sent) until it replies YES.
func TestConsent_DoubleOptIn_PendingUntilYes(t *testing.T) {
	t.Parallel()
	l, chs := run(t, signal("c1", DoubleOptIn, source.SignalSubscribed, at(1), 1))
	if l.State() != Pending || len(chs[0].MessagesDue) != 1 || chs[0].MessagesDue[0].Purpose != PurposeDoubleOptInRequest {
		t.Fatalf("after signal: state %q, change %+v", l.State(), chs[0])
	}
	l, ch := l.Apply(yes(5))
	if l.State() != Subscribed || ch.From != Pending || ch.To != Subscribed || ch.Kind != EventDoubleOptInYes || ch.Evidence.Text != "YES" {
		t.Fatalf("after YES: state %q, change %+v", l.State(), ch)
	}
	// A re-sync does not make it pending again, and sends nothing.
	l2, ch := l.Apply(signal("c1", DoubleOptIn, source.SignalSubscribed, at(1), 100))
	if l2.State() != Subscribed || len(ch.MessagesDue) != 0 {
		t.Errorf("after re-sync: state %q, change %+v", l2.State(), ch)
	}
}

// TestConsent_MessagesOncePerNumberPerConnection: confirmation and double
// opt-in requests are due once per number per connection, never again.
func TestConsent_MessagesOncePerNumberPerConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mode    Mode
		purpose Purpose
	}{
		{"Confirmation", Confirmation, PurposeConfirmation},
		{"DoubleOptInRequest", DoubleOptIn, PurposeDoubleOptInRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, chs := run(t,
				signal("c1", tt.mode, source.SignalNeverAsked, time.Time{}, 1),
				signal("c1", tt.mode, source.SignalSubscribed, at(2), 2), // state changes, still no second message
				signal("c1", tt.mode, source.SignalUnsubscribed, at(3), 3),
				signal("c1", tt.mode, source.SignalSubscribed, at(4), 4), // back again: still once
				signal("c2", tt.mode, source.SignalSubscribed, at(5), 5), // another connection: its own
			)
			var got []Message
			for _, ch := range chs {
				got = append(got, ch.MessagesDue...)
			}
			want := []Message{
				{Phone: testPhone, ConnectionID: "c1", Purpose: tt.purpose, At: at(1)},
				{Phone: testPhone, ConnectionID: "c2", Purpose: tt.purpose, At: at(5)},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("messages = %+v, want %+v", got, want)
			}
		})
	}
}

// TestConsent_NoMessageToUnsubscribedNumber: nothing is due to an opted-out
// number, except the opt-out confirmation itself (once per opt-out).
func TestConsent_NoMessageToUnsubscribedNumber(t *testing.T) {
	t.Parallel()
	_, chs := run(t,
		stop(1),
		signal("c1", Confirmation, source.SignalNeverAsked, time.Time{}, 2),
		signal("c2", DoubleOptIn, source.SignalSubscribed, at(0), 3),
		stop(4), // a second STOP while opted out: no second confirmation
	)
	var got []Message
	for _, ch := range chs {
		got = append(got, ch.MessagesDue...)
	}
	want := []Message{{Phone: testPhone, Purpose: PurposeOptOutConfirmation, At: at(1)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("messages = %+v, want %+v", got, want)
	}
}

// TestConsent_OptOutConfirmationOncePerOptOut: STOP, START, STOP gives two
// confirmations (one per revocation); a replayed STOP gives none.
func TestConsent_OptOutConfirmationOncePerOptOut(t *testing.T) {
	t.Parallel()
	_, chs := run(t, stop(1), stop(1), start(2), stop(3), stop(3))
	n := 0
	for _, ch := range chs {
		n += len(ch.MessagesDue)
	}
	if n != 2 {
		t.Errorf("opt-out confirmations = %d, want 2", n)
	}
}

// TestConsent_ApplyTwiceIsIdempotent: every kind of event applied twice
// leaves the ledger unchanged and returns a zero change the second time.
func TestConsent_ApplyTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	events := []Event{
		signal("c1", Confirmation, source.SignalNeverAsked, time.Time{}, 1),
		signal("c2", DoubleOptIn, source.SignalSubscribed, at(2), 2),
		stop(3), start(4), yes(5),
		signal("c3", Explicit, source.SignalUnsubscribed, time.Time{}, 6),
	}
	l := Ledger{Phone: testPhone}
	for _, ev := range events {
		once, ch := l.Apply(ev)
		if ch.IsZero() {
			t.Fatalf("%s: first apply changed nothing", ev.Kind)
		}
		twice, ch2 := once.Apply(ev)
		if !reflect.DeepEqual(once, twice) || !ch2.IsZero() {
			t.Errorf("%s: second apply changed the ledger (%+v) or returned %+v", ev.Kind, twice, ch2)
		}
		l = once
	}
}

// TestConsent_ApplyDoesNotModifyReceiver: Apply is pure.
func TestConsent_ApplyDoesNotModifyReceiver(t *testing.T) {
	t.Parallel()
	l, _ := run(t, signal("c1", Explicit, source.SignalSubscribed, at(1), 1), signal("c3", Confirmation, source.SignalSubscribed, at(1), 1))
	before := Ledger{Phone: l.Phone, Signals: append([]SourceSignal(nil), l.Signals...), Queued: append([]Message(nil), l.Queued...)}
	l.Apply(signal("c2", Explicit, source.SignalUnsubscribed, at(2), 2))
	l.Apply(signal("c1", Explicit, source.SignalUnsubscribed, at(2), 2))
	if !reflect.DeepEqual(l.Signals, before.Signals) || !reflect.DeepEqual(l.Queued, before.Queued) {
		t.Errorf("receiver modified: %+v", l)
	}
}

// TestConsent_SuppressionWithoutContact: a hub-side opt-out for a number no
// contact has is a ledger of its own, and a later first sync respects it.
func TestConsent_SuppressionWithoutContact(t *testing.T) {
	t.Parallel()
	l, ch := Ledger{Phone: testPhone}.Apply(stop(1))
	if !l.Suppressed() || ch.To != Unsubscribed {
		t.Fatalf("suppression not recorded: %+v", l)
	}
	l, ch = l.Apply(signal("c1", Inferred, source.SignalSubscribed, time.Time{}, 10))
	if l.State() != Unsubscribed || ch.StateChanged() || len(ch.MessagesDue) != 0 {
		t.Errorf("first sync after suppression: state %q, change %+v", l.State(), ch)
	}
}

// TestConsent_MostRestrictiveWinsOnMerge: when two contacts' consents meet,
// the most restrictive wins.
func TestConsent_MostRestrictiveWinsOnMerge(t *testing.T) {
	t.Parallel()
	subscribed, _ := run(t, signal("c1", Explicit, source.SignalSubscribed, at(1), 1))
	optedOut, _ := Ledger{Phone: "+61499999999"}.Apply(stop(2))
	t.Run("OptOutOfOtherNumberCarriesOver", func(t *testing.T) {
		t.Parallel()
		got, ch := Combine(subscribed, optedOut, at(10))
		if got.State() != Unsubscribed || ch.From != Subscribed || ch.To != Unsubscribed || ch.Kind != EventContactMerge || len(ch.MessagesDue) != 0 {
			t.Fatalf("Combine: state %q, change %+v", got.State(), ch)
		}
		again, ch := Combine(got, optedOut, at(10))
		if !reflect.DeepEqual(again, got) || !ch.IsZero() {
			t.Errorf("Combine not idempotent: %+v %+v", again, ch)
		}
		// A later explicit source opt-in lifts it as usual.
		lifted, _ := got.Apply(signal("c1", Explicit, source.SignalSubscribed, at(11), 12))
		if lifted.State() != Subscribed {
			t.Errorf("explicit opt-in after merge: %q", lifted.State())
		}
	})
	t.Run("KeptOptOutStays", func(t *testing.T) {
		t.Parallel()
		got, _ := Combine(optedOut, subscribed, at(10))
		if got.State() != Unsubscribed || got.Phone != optedOut.Phone {
			t.Errorf("Combine: %+v", got)
		}
	})
	t.Run("ConsentOfOtherNumberDoesNotTransfer", func(t *testing.T) {
		t.Parallel()
		empty := Ledger{Phone: "+61400000000"}
		got, ch := Combine(empty, subscribed, at(10))
		if got.State() != NotSubscribed || !ch.IsZero() {
			t.Errorf("Combine: %q %+v", got.State(), ch)
		}
	})
	t.Run("SameNumberUnites", func(t *testing.T) {
		t.Parallel()
		other, _ := Ledger{Phone: testPhone}.Apply(stop(5))
		got, _ := Combine(subscribed, other, at(10))
		if got.State() != Unsubscribed || !got.OptOutAt.Equal(at(5)) || len(got.Signals) != 1 {
			t.Errorf("Combine same number: %+v", got)
		}
	})
	t.Run("MostRestrictiveOrder", func(t *testing.T) {
		t.Parallel()
		order := []State{Subscribed, NotSubscribed, Pending, Unsubscribed}
		for i, a := range order {
			for j, b := range order {
				want := order[max(i, j)]
				if got := MostRestrictive(a, b); got != want {
					t.Errorf("MostRestrictive(%q, %q) = %q, want %q", a, b, got, want)
				}
			}
		}
	})
}

func TestConsent_ZeroTimeHubEventIsIgnored(t *testing.T) {
	t.Parallel()
	l, ch := Ledger{Phone: testPhone}.Apply(OptOutEvent(time.Time{}, Evidence{}))
	if !ch.IsZero() || l.State() != NotSubscribed {
		t.Errorf("zero-time opt-out recorded: %+v", l)
	}
}

func TestConsent_ModeValid(t *testing.T) {
	t.Parallel()
	for _, m := range []Mode{Explicit, Inferred, Confirmation, DoubleOptIn} {
		if !m.Valid() {
			t.Errorf("%q.Valid() = false", m)
		}
	}
	if Mode("opt_in").Valid() {
		t.Error(`"opt_in".Valid() = true`)
	}
}

// TestConsent_ChangeRecordsTimeSourceAndEvidence: every consent change is
// recorded with time, source and evidence (design.md §4).
func TestConsent_ChangeRecordsTimeSourceAndEvidence(t *testing.T) {
	t.Parallel()
	ev := SignalEvent("c1", Explicit, source.ConsentSignal{State: source.SignalSubscribed, At: at(1), Method: "checkout"}, at(2), Evidence{MessageID: "wh-1", Provider: "Shopify"})
	l, ch := Ledger{Phone: testPhone}.Apply(ev)
	want := Change{From: NotSubscribed, To: Subscribed, Kind: EventSourceSignal, At: at(2), ConnectionID: "c1", SourceAt: at(1), Evidence: Evidence{MessageID: "wh-1", Provider: "Shopify"}}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("change = %+v, want %+v", ch, want)
	}
	s, _ := l.Signal("c1")
	if s.Method != "checkout" || !s.ReceivedAt.Equal(at(2)) || s.Evidence.MessageID != "wh-1" {
		t.Errorf("stored signal = %+v", s)
	}
	_, ch = l.Apply(stop(3))
	if ch.Kind != EventHubOptOut || !ch.At.Equal(at(3)) || ch.Evidence.Text != "STOP" || ch.Evidence.MessageID != "in-stop" || ch.Evidence.Provider != "twilio" {
		t.Errorf("opt-out change = %+v", ch)
	}
}
