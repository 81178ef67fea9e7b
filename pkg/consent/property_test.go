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

// genAnyEvents draws honest streams (genEvents) or adversarial ones
// (genClockEvents, whose re-sync steps change nothing here).
func genAnyEvents(t *rapid.T) []Event {
	if rapid.Bool().Draw(t, "adversarial clocks") {
		return genClockEvents(t)
	}
	return genEvents(t)
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
// or a source explicit opt-in ordered after T (min of its own timestamp and
// its receipt) exists; and when the newest statement of all is a hub
// opt-in or YES, it is subscribed.
//
// Half the streams have honest, distinct timestamps; the other half
// adversarial clocks (genClockEvents): consent timestamps in the future
// (2099), skewed ahead or behind, equal to other events' times or missing,
// hub events at equal times or without a time, STOPs and hub unsubscribes,
// and re-syncs that re-deliver a connection's stored statement at any later
// (or earlier) receipt. A re-sync is never evidence of a new opt-in.
func TestConsentProperty_StopWinsExactly(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		var evs []Event
		l := Ledger{Phone: testPhone}
		if rapid.Bool().Draw(t, "adversarial clocks") {
			l, evs = applyWithResyncs(t, l, genClockEvents(t))
		} else {
			evs = withReplays(t, genEvents(t))
			for _, ev := range evs {
				l, _ = l.Apply(ev)
			}
		}
		var stopAt, personStop, newestOut, newestIn time.Time
		personOut := false
		for _, ev := range evs {
			switch {
			case ev.Kind == EventHubOptOut:
				stopAt = maxTime(stopAt, ev.At)
				newestOut = maxTime(newestOut, ev.At)
				if ev.By != ByHubUser {
					personStop = maxTime(personStop, ev.At)
					personOut = personOut || !ev.At.IsZero()
				}
			case ev.Kind == EventHubOptIn || ev.Kind == EventDoubleOptInYes:
				newestIn = maxTime(newestIn, ev.At)
			case ev.Signal.State == source.SignalUnsubscribed:
				newestOut = maxTime(newestOut, orderedAt(ev))
				personOut = true
			case ev.Signal.State == source.SignalSubscribed && !ev.Signal.At.IsZero() && !isResync(ev):
				newestIn = maxTime(newestIn, orderedAt(ev))
			}
		}
		state := l.State()
		if !stopAt.IsZero() && state != Unsubscribed && !lifted(evs, stopAt) {
			t.Fatalf("STOP at %v lifted without a hub opt-in or explicit source opt-in after it: state %q", stopAt, state)
		}
		if newestIn.After(newestOut) && hubLast(evs, newestIn) && state != Subscribed {
			t.Fatalf("newest statement is a hub opt-in at %v, state %q", newestIn, state)
		}
		// A hub user may lift only an opt-out the person did not make: a
		// STOP with nothing after it requires the person's consent, a hub
		// unsubscribe alone does not.
		if !personStop.IsZero() && !lifted(evs, personStop) && !l.ConsentRequired() {
			t.Fatalf("STOP at %v, nothing after it, but ConsentRequired() = false", personStop)
		}
		if !personOut && l.ConsentRequired() {
			t.Fatal("ConsentRequired() = true without any opt-out by the person")
		}
	})
}

// resyncProvider marks the evidence of a re-sync: a re-delivery of a
// connection's stored statement (as a daily pull reports it again).
const resyncProvider = "re-sync"

func isResync(ev Event) bool { return ev.Evidence.Provider == resyncProvider }

// orderedAt is the oracle's reading of rule 1: min(claimed, received), the
// receipt when the source gave no time.
func orderedAt(ev Event) time.Time {
	if c := ev.Signal.At; !c.IsZero() && (ev.At.IsZero() || c.Before(ev.At)) {
		return c
	}
	return ev.At
}

// genClockEvents draws a stream with adversarial clocks. Receipts come from
// a small range, so equal times are common; a re-sync step (Kind "") is
// turned into a real event by applyWithResyncs.
func genClockEvents(t *rapid.T) []Event {
	n := rapid.IntRange(1, 30).Draw(t, "n")
	modes := map[string]Mode{}
	for _, c := range propConnections {
		modes[c] = rapid.SampledFrom(propModes).Draw(t, "mode "+c)
	}
	evs := make([]Event, 0, n)
	for range n {
		r := rapid.IntRange(1, 40).Draw(t, "received")
		hubAt := at(r)
		if rapid.IntRange(0, 9).Draw(t, "hub time missing?") == 0 {
			hubAt = time.Time{}
		}
		switch rapid.IntRange(0, 9).Draw(t, "kind") {
		case 0, 1:
			evs = append(evs, OptOutEvent(hubAt, Evidence{Text: "STOP"}))
		case 2:
			evs = append(evs, HubUnsubscribeEvent(hubAt, Evidence{Text: "hub unsubscribe", Provider: "hub"}))
		case 3:
			evs = append(evs, OptInEvent(hubAt, Evidence{Text: "START"}))
		case 4:
			evs = append(evs, YesEvent(hubAt, Evidence{Text: "YES"}))
		case 5, 6: // mostly later than the rest, sometimes earlier
			c := rapid.SampledFrom(propConnections).Draw(t, "resync conn")
			evs = append(evs, Event{ConnectionID: c, At: at(rapid.IntRange(10, 60).Draw(t, "resync received"))})
		default:
			c := rapid.SampledFrom(propConnections).Draw(t, "conn")
			var claim time.Time
			switch rapid.IntRange(0, 6).Draw(t, "clock") {
			case 0: // missing
			case 1: // honest: before its receipt
				claim = at(r - rapid.IntRange(0, 10).Draw(t, "behind"))
			case 2: // skewed ahead
				claim = at(r + rapid.IntRange(1, 10).Draw(t, "ahead"))
			case 3, 4: // far future
				claim = year2099.Add(time.Duration(rapid.IntRange(0, 3).Draw(t, "2099+")) * time.Hour)
			default: // any time, often equal to another event's
				claim = at(rapid.IntRange(1, 40).Draw(t, "claim"))
			}
			st := rapid.SampledFrom(propSignals).Draw(t, "signal")
			evs = append(evs, SignalEvent(c, modes[c], sig(st, claim), at(r), Evidence{Provider: c}))
		}
	}
	return evs
}

// applyWithResyncs applies steps in order; a re-sync step re-delivers the
// connection's stored statement at the step's receipt (nothing when the
// connection has none). It returns the ledger and the events applied.
func applyWithResyncs(t *rapid.T, l Ledger, steps []Event) (Ledger, []Event) {
	out := make([]Event, 0, len(steps))
	for _, ev := range steps {
		if ev.Kind == "" {
			s, ok := l.Signal(ev.ConnectionID)
			if !ok {
				continue
			}
			ev = SignalEvent(s.ConnectionID, s.Mode, source.ConsentSignal{State: s.State, At: s.At, Method: s.Method}, ev.At, Evidence{Provider: resyncProvider})
		}
		if rapid.IntRange(0, 4).Draw(t, "replay first?") == 0 && len(out) > 0 {
			old := out[rapid.IntRange(0, len(out)-1).Draw(t, "replayed")]
			l, _ = l.Apply(old)
		}
		l, _ = l.Apply(ev)
		out = append(out, ev)
	}
	return l, out
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

// lifted reports whether evs hold a statement that may lift an opt-out at
// T: a hub opt-in or YES after T, or a source's explicit opt-in (not a
// re-sync of a stored one) ordered after T by rule 1.
func lifted(evs []Event, stopAt time.Time) bool {
	for _, ev := range evs {
		switch {
		case (ev.Kind == EventHubOptIn || ev.Kind == EventDoubleOptInYes) && ev.At.After(stopAt):
			return true
		case ev.Kind == EventSourceSignal && ev.Signal.State == source.SignalSubscribed && !ev.Signal.At.IsZero() &&
			!isResync(ev) && orderedAt(ev).After(stopAt):
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
// any event a second time at once (a retry) changes nothing; on honest
// streams a later replay changes nothing either.
//
// Under adversarial clocks a later replay may move the event's own
// connection's signal, and only that: a repeat of a statement keeps its
// first receipt (nextSignal), and one slot per connection cannot remember
// every statement it absorbed or displaced, so a replay can carry an
// earlier receipt back (rapid found: unsubscribed@2099 received at 1,
// displaced, then received again at 2, then replayed from 1). What a
// replay can never do there is checked by property (a), which replays too.
func TestConsentProperty_ApplyTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		adversarial := rapid.Bool().Draw(t, "adversarial clocks")
		evs := genEvents(t)
		if adversarial {
			evs = genClockEvents(t)
		}
		l := Ledger{Phone: testPhone}
		for i, ev := range evs {
			l, _ = l.Apply(ev)
			again, ch := l.Apply(ev)
			if !reflect.DeepEqual(again, l) || !ch.IsZero() {
				t.Fatalf("event %d applied twice changed the ledger: %+v", i, ch)
			}
			old := evs[rapid.IntRange(0, i).Draw(t, "replay")]
			replayed, ch := l.Apply(old)
			if !adversarial {
				if !reflect.DeepEqual(replayed, l) || !ch.IsZero() {
					t.Fatalf("replay of an earlier event changed the ledger: %+v", ch)
				}
				continue
			}
			if again, ch := replayed.Apply(old); !reflect.DeepEqual(again, replayed) || !ch.IsZero() {
				t.Fatalf("a replay applied twice changed the ledger: %+v", ch)
			}
			if !ch.IsZero() && (old.Kind != EventSourceSignal || !onlySignalMoved(l, replayed, old.ConnectionID)) {
				t.Fatalf("replay of %+v changed more than its connection's signal:\n%+v\n%+v", old, l, replayed)
			}
			l = replayed
		}
	})
}

// onlySignalMoved reports whether b differs from a in conn's stored signal
// and what the new state made due, nothing else.
func onlySignalMoved(a, b Ledger, conn string) bool {
	strip := func(l Ledger) Ledger {
		sigs := make([]SourceSignal, 0, len(l.Signals))
		for _, s := range l.Signals {
			if s.ConnectionID != conn {
				sigs = append(sigs, s)
			}
		}
		l.Signals, l.Queued = sigs, nil
		return l
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// TestConsentProperty_HoldsIsApplyChangingNothing: Holds, the cheap check
// merge makes before Apply, says "nothing to do" exactly when Apply would
// change nothing, for any ledger and any event.
func TestConsentProperty_HoldsIsApplyChangingNothing(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		evs := genAnyEvents(t)
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
