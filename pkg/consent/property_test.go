package consent

import (
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
	"pgregory.net/rapid"
)

var (
	propConnections = []string{"c1", "c2", "c3"}
	propModes       = []Mode{Explicit, Inferred, Confirmation, DoubleOptIn}
	propSignals     = []source.SignalState{source.SignalNone, source.SignalNeverAsked, source.SignalSubscribed, source.SignalUnsubscribed}
)

// genEvents draws a stream of events with distinct timestamps: source
// signals from several connections (each with its own mode, timestamps
// sometimes missing), hub STOP/START and YES.
func genEvents(t *rapid.T) []Event {
	n := rapid.IntRange(1, 25).Draw(t, "n")
	times := rapid.Permutation(rangeInts(1, 2*n+1)).Draw(t, "times")
	modes := map[string]Mode{}
	for _, c := range propConnections {
		modes[c] = rapid.SampledFrom(propModes).Draw(t, "mode "+c)
	}
	evs := make([]Event, 0, n)
	for i := range n {
		hubAt, consentAt := at(times[2*i]), at(times[2*i+1])
		switch rapid.IntRange(0, 5).Draw(t, "kind") {
		case 0:
			evs = append(evs, OptOutEvent(hubAt, Evidence{Text: "STOP"}))
		case 1:
			evs = append(evs, OptInEvent(hubAt, Evidence{Text: "START"}))
		case 2:
			evs = append(evs, YesEvent(hubAt, Evidence{Text: "YES"}))
		default:
			c := rapid.SampledFrom(propConnections).Draw(t, "conn")
			if rapid.Bool().Draw(t, "no consent timestamp") {
				consentAt = time.Time{}
			}
			s := rapid.SampledFrom(propSignals).Draw(t, "signal")
			evs = append(evs, SignalEvent(c, modes[c], sig(s, consentAt), hubAt, Evidence{Provider: c}))
		}
	}
	return evs
}

func rangeInts(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// withReplays interleaves replays of earlier events (webhook retries,
// re-syncs of the same payload).
func withReplays(t *rapid.T, evs []Event) []Event {
	out := make([]Event, 0, 2*len(evs))
	for i, ev := range evs {
		out = append(out, ev)
		if rapid.IntRange(0, 3).Draw(t, "replay?") == 0 {
			out = append(out, evs[rapid.IntRange(0, i).Draw(t, "replayed")])
		}
	}
	return out
}

// TestConsentProperty_StopWinsExactly is property (a): after a hub-side
// opt-out at T the number is unsubscribed unless a hub opt-in/YES after T
// or a source explicit opt-in with its own timestamp after T exists; and
// when the newest statement of all is a hub opt-in or YES, it is
// subscribed.
func TestConsentProperty_StopWinsExactly(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		evs := withReplays(t, genEvents(t))
		l := Ledger{Phone: testPhone}
		for _, ev := range evs {
			l, _ = l.Apply(ev)
		}
		var stopAt, newestOut, newestIn time.Time
		for _, ev := range evs {
			switch {
			case ev.Kind == EventHubOptOut:
				stopAt = maxTime(stopAt, ev.At)
				newestOut = maxTime(newestOut, ev.At)
			case ev.Kind == EventHubOptIn || ev.Kind == EventDoubleOptInYes:
				newestIn = maxTime(newestIn, ev.At)
			case ev.Signal.State == source.SignalUnsubscribed:
				newestOut = maxTime(newestOut, ev.Signal.At, ev.At)
			case ev.Signal.State == source.SignalSubscribed:
				newestIn = maxTime(newestIn, ev.Signal.At)
			}
		}
		state := l.State()
		if !stopAt.IsZero() && state != Unsubscribed && !lifted(evs, stopAt) {
			t.Fatalf("STOP at %v lifted without a hub opt-in or explicit source opt-in after it: state %q", stopAt, state)
		}
		if newestIn.After(newestOut) && hubLast(evs, newestIn) && state != Subscribed {
			t.Fatalf("newest statement is a hub opt-in at %v, state %q", newestIn, state)
		}
	})
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// lifted reports whether evs hold a statement that may lift an opt-out at T.
func lifted(evs []Event, stopAt time.Time) bool {
	for _, ev := range evs {
		switch {
		case (ev.Kind == EventHubOptIn || ev.Kind == EventDoubleOptInYes) && ev.At.After(stopAt):
			return true
		case ev.Kind == EventSourceSignal && ev.Signal.State == source.SignalSubscribed && ev.Signal.At.After(stopAt):
			return true
		}
	}
	return false
}

// hubLast reports whether the statement at newest is a hub opt-in or YES.
func hubLast(evs []Event, newest time.Time) bool {
	for _, ev := range evs {
		if (ev.Kind == EventHubOptIn || ev.Kind == EventDoubleOptInYes) && ev.At.Equal(newest) {
			return true
		}
	}
	return false
}

// TestConsentProperty_ApplyTwiceChangesNothing is property (b): applying
// any event a second time (at once or later, as a replay) changes nothing.
func TestConsentProperty_ApplyTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		evs := genEvents(t)
		l := Ledger{Phone: testPhone}
		for i, ev := range evs {
			l, _ = l.Apply(ev)
			again, ch := l.Apply(ev)
			if !reflect.DeepEqual(again, l) || !ch.IsZero() {
				t.Fatalf("event %d applied twice changed the ledger: %+v", i, ch)
			}
			old := evs[rapid.IntRange(0, i).Draw(t, "replay")]
			replayed, ch := l.Apply(old)
			if !reflect.DeepEqual(replayed, l) || !ch.IsZero() {
				t.Fatalf("replay of an earlier event changed the ledger: %+v", ch)
			}
		}
	})
}

// TestConsentProperty_HoldsIsApplyChangingNothing: Holds, the cheap check
// merge makes before Apply, says "nothing to do" exactly when Apply would
// change nothing, for any ledger and any event.
func TestConsentProperty_HoldsIsApplyChangingNothing(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		evs := genEvents(t)
		l := Ledger{Phone: testPhone}
		for i, ev := range evs {
			probe := evs[rapid.IntRange(0, len(evs)-1).Draw(t, "probe")]
			after, ch := l.Apply(probe)
			unchanged := ch.IsZero() && reflect.DeepEqual(after, l)
			if got := l.Holds(probe); got != unchanged {
				t.Fatalf("before event %d: Holds = %v, but Apply changed nothing = %v (%+v)", i, got, unchanged, ch)
			}
			l, _ = l.Apply(ev)
		}
	})
}

// TestConsentProperty_OrderIndependent is property (c): for events with
// distinct timestamps, the state (and every stored statement) does not
// depend on the arrival order.
func TestConsentProperty_OrderIndependent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		evs := genEvents(t)
		shuffled := rapid.Permutation(evs).Draw(t, "arrival order")
		a, b := Ledger{Phone: testPhone}, Ledger{Phone: testPhone}
		for i := range evs {
			a, _ = a.Apply(evs[i])
			b, _ = b.Apply(shuffled[i])
		}
		if a.State() != b.State() {
			t.Fatalf("state depends on order: %q vs %q", a.State(), b.State())
		}
		a.Queued, b.Queued = nil, nil // what was sent depends on history, by nature
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("ledger contents depend on order:\n%+v\n%+v", a, b)
		}
	})
}

// TestConsentProperty_MessagesAtMostOncePerConnection is property (f): at
// most one confirmation and one double opt-in request per number per
// connection, and nothing but the opt-out confirmation to an unsubscribed
// number.
func TestConsentProperty_MessagesAtMostOncePerConnection(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		evs := withReplays(t, genEvents(t))
		l := Ledger{Phone: testPhone}
		seen := map[Message]bool{}
		for _, ev := range evs {
			var ch Change
			l, ch = l.Apply(ev)
			for _, m := range ch.MessagesDue {
				key := Message{ConnectionID: m.ConnectionID, Purpose: m.Purpose}
				if m.Purpose == PurposeOptOutConfirmation {
					key.At = m.At
				}
				if seen[key] {
					t.Fatalf("message %+v due twice", m)
				}
				seen[key] = true
				if ch.To == Unsubscribed && m.Purpose != PurposeOptOutConfirmation {
					t.Fatalf("message %+v due to an unsubscribed number", m)
				}
				if m.Purpose == PurposeOptOutConfirmation && ch.To != Unsubscribed {
					t.Fatalf("opt-out confirmation while %q", ch.To)
				}
			}
		}
	})
}
