package consent

import (
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

func hubUnsubscribe(n int) Event {
	return HubUnsubscribeEvent(at(n), Evidence{Text: "hub unsubscribe", MessageID: "req-1", Provider: "hub"})
}

// TestConsent_ConsentRequired: the ledger knows whether the opt-out in force
// is the person's (a hub user may not lift it) or only a hub user's.
func TestConsent_ConsentRequired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []Event
		want   bool
		state  State
	}{
		{"Nothing", nil, false, NotSubscribed},
		{"Stop", []Event{stop(1)}, true, Unsubscribed},
		{"HubUnsubscribe", []Event{hubUnsubscribe(1)}, false, Unsubscribed},
		{"StopThenStart", []Event{stop(1), start(2)}, false, Subscribed},
		{"StopThenYes", []Event{stop(1), yes(2)}, false, Subscribed},
		{"StopThenHubUnsubscribe_StopStillInForce", []Event{stop(1), hubUnsubscribe(2)}, true, Unsubscribed},
		{"HubUnsubscribeThenStop", []Event{hubUnsubscribe(1), stop(2)}, true, Unsubscribed},
		{"HubUnsubscribeAndStopAtOneTime", []Event{hubUnsubscribe(1), stop(1)}, true, Unsubscribed},
		{"StopThenStartThenHubUnsubscribe", []Event{stop(1), start(2), hubUnsubscribe(3)}, false, Unsubscribed},
		{"HubUnsubscribeThenHubResubscribe", []Event{hubUnsubscribe(1), start(2)}, false, Subscribed},
		{"SourceUnsubscribe", []Event{signal("c1", Explicit, source.SignalUnsubscribed, at(1), 2)}, true, Unsubscribed},
		{"SourceUnsubscribeWithoutTime", []Event{signal("c1", Explicit, source.SignalUnsubscribed, time.Time{}, 2)}, true, Unsubscribed},
		{"SourceUnsubscribeThenHubUnsubscribe", []Event{signal("c1", Explicit, source.SignalUnsubscribed, at(1), 2), hubUnsubscribe(3)}, true, Unsubscribed},
		{"SourceUnsubscribeThenNewerSourceOptIn", []Event{signal("c1", Explicit, source.SignalUnsubscribed, at(1), 2), signal("c2", Explicit, source.SignalSubscribed, at(3), 4)}, false, Subscribed},
		{"StopThenSourceOptInDated2099ReceivedBefore", []Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), stop(2)}, true, Unsubscribed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := run(t, tt.events...)
			if got := l.ConsentRequired(); got != tt.want {
				t.Errorf("ConsentRequired() = %v, want %v (ledger %+v)", got, tt.want, l)
			}
			if got := l.State(); got != tt.state {
				t.Errorf("State() = %q, want %q", got, tt.state)
			}
		})
	}
}

// TestConsent_OptOutOriginDoesNotDependOnArrivalOrder: a STOP and a hub
// unsubscribe at the same time give the same ledger in either order (the
// person's wins the slot).
func TestConsent_OptOutOriginDoesNotDependOnArrivalOrder(t *testing.T) {
	t.Parallel()
	a, _ := run(t, hubUnsubscribe(5), stop(5))
	b, _ := run(t, stop(5), hubUnsubscribe(5))
	a.Queued, b.Queued = nil, nil
	if !reflect.DeepEqual(a, b) || a.OptOutBy != ByConsumer {
		t.Errorf("ledgers differ by arrival order:\n%+v\n%+v", a, b)
	}
}

// TestConsent_StoredLedgersWithoutOrigin: ledgers stored before OptOutBy
// existed read a hub user's unsubscribe by the evidence the Hub API wrote;
// every other opt-out is the person's.
func TestConsent_StoredLedgersWithoutOrigin(t *testing.T) {
	t.Parallel()
	hub := Ledger{Phone: testPhone, OptOutAt: at(1), OptOut: Evidence{Text: "hub unsubscribe", MessageID: "req-1", Provider: "hub"}}
	if hub.ConsentRequired() || hub.State() != Unsubscribed {
		t.Errorf("stored hub unsubscribe: ConsentRequired %v, state %q", hub.ConsentRequired(), hub.State())
	}
	stopped := Ledger{Phone: testPhone, OptOutAt: at(1), OptOut: Evidence{Text: "STOP", MessageID: "SM1", Provider: "twilio"}}
	if !stopped.ConsentRequired() {
		t.Error("stored STOP: ConsentRequired() = false")
	}
	merged := Ledger{Phone: testPhone, OptOutAt: at(1), OptOut: Evidence{Text: "contact merge", MessageID: "merge:+61400000000", Provider: "hub"}}
	if !merged.ConsentRequired() {
		t.Error("stored merge opt-out: ConsentRequired() = false")
	}
	// A hub unsubscribe on top of a stored STOP does not hide it.
	l, _ := stopped.Apply(hubUnsubscribe(2))
	if !l.ConsentRequired() {
		t.Error("stored STOP then hub unsubscribe: ConsentRequired() = false")
	}
}

// TestConsent_CombineCarriesWhoOptedOut: a merge carries the other number's
// opt-out over as the person's, unless only a hub user had opted it out.
func TestConsent_CombineCarriesWhoOptedOut(t *testing.T) {
	t.Parallel()
	subscribed, _ := run(t, signal("c1", Explicit, source.SignalSubscribed, at(1), 1))
	for _, tt := range []struct {
		name string
		ev   Event
		want bool
	}{{"Stop", stop(2), true}, {"HubUnsubscribe", hubUnsubscribe(2), false}} {
		other, _ := Ledger{Phone: "+61499999999"}.Apply(tt.ev)
		got, _ := Combine(subscribed, other, at(10))
		if got.State() != Unsubscribed || got.ConsentRequired() != tt.want {
			t.Errorf("%s: state %q, ConsentRequired %v, want unsubscribed, %v", tt.name, got.State(), got.ConsentRequired(), tt.want)
		}
	}
	// Two copies of one number: the STOP of one survives the other's hub
	// unsubscribe.
	a, _ := run(t, stop(1))
	b, _ := run(t, hubUnsubscribe(2))
	for _, got := range []Ledger{first(Combine(a, b, at(10))), first(Combine(b, a, at(10)))} {
		if !got.ConsentRequired() || !got.OptOutAt.Equal(at(2)) {
			t.Errorf("same number: %+v", got)
		}
	}
}

func first(l Ledger, _ Change) Ledger { return l }
