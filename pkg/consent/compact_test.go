package consent

import (
	"reflect"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"pgregory.net/rapid"
)

// TestConsent_StopStartTogglesKeepTheLedgerSmall: a number toggling
// STOP/START 10,000 times gets one opt-out confirmation per STOP, and its
// ledger stays the size of one toggle.
func TestConsent_StopStartTogglesKeepTheLedgerSmall(t *testing.T) {
	t.Parallel()
	l, _ := run(t, signal("c1", Confirmation, source.SignalSubscribed, at(0), 1), signal("c2", DoubleOptIn, source.SignalNeverAsked, at(0), 1))
	confirmations := 0
	for i := range 5000 {
		var ch Change
		l, ch = l.Apply(stop(10 + 2*i))
		if len(ch.MessagesDue) != 1 || ch.MessagesDue[0].Purpose != PurposeOptOutConfirmation {
			t.Fatalf("STOP %d: messages %+v", i, ch.MessagesDue)
		}
		confirmations++
		l, ch = l.Apply(start(11 + 2*i))
		if len(ch.MessagesDue) != 0 || l.State() != Subscribed {
			t.Fatalf("START %d: messages %+v, state %q", i, ch.MessagesDue, l.State())
		}
		if len(l.Queued) > 3 {
			t.Fatalf("after %d toggles Queued holds %d messages: %+v", i+1, len(l.Queued), l.Queued)
		}
	}
	if confirmations != 5000 {
		t.Errorf("opt-out confirmations = %d, want 5000", confirmations)
	}
	// The confirmation and double opt-in request are still remembered:
	// nothing is due again, nor for a replay of the first or the last STOP.
	for _, ev := range []Event{signal("c1", Confirmation, source.SignalSubscribed, at(20000), 20001), signal("c2", DoubleOptIn, source.SignalSubscribed, at(20002), 20003), stop(10), stop(10 + 2*4999)} {
		if _, ch := l.Apply(ev); len(ch.MessagesDue) != 0 {
			t.Errorf("%s: due again: %+v", ev.Kind, ch.MessagesDue)
		}
	}
}

// TestConsentProperty_CompactionNeverMakesAMessageDueTwice: whatever the
// events (adversarial clocks, replays of old STOPs, re-syncs, copies of the
// ledger meeting again through Combine), the compacted ledger makes exactly
// the messages due that a ledger remembering every queued message would,
// none twice, and Queued stays bounded (one per connection and purpose,
// plus one opt-out confirmation).
func TestConsentProperty_CompactionNeverMakesAMessageDueTwice(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		steps := genClockEvents(t)
		l := Ledger{Phone: testPhone}
		var all []Message // everything ever due: the uncompacted memory
		var snapshots []Ledger
		seen := map[Message]bool{}
		var applied []Event
		for _, ev := range steps {
			switch rapid.IntRange(0, 5).Draw(t, "step") {
			case 0:
				if len(applied) > 0 { // a replay of an older event (an old STOP...)
					ev = applied[rapid.IntRange(0, len(applied)-1).Draw(t, "replayed")]
				}
			case 1:
				if len(snapshots) > 0 { // an older copy of the ledger meets this one
					old := snapshots[rapid.IntRange(0, len(snapshots)-1).Draw(t, "copy")]
					l, _ = Combine(l, old, at(rapid.IntRange(1, 60).Draw(t, "merge at")))
				}
			}
			if ev.Kind == "" {
				s, ok := l.Signal(ev.ConnectionID)
				if !ok {
					continue
				}
				ev = SignalEvent(s.ConnectionID, s.Mode, source.ConsentSignal{State: s.State, At: s.At, Method: s.Method}, ev.At, Evidence{Provider: resyncProvider})
			}
			ref := l
			ref.Queued = append([]Message(nil), all...)
			_, refCh := ref.Apply(ev)
			var ch Change
			l, ch = l.Apply(ev)
			if !reflect.DeepEqual(ch.MessagesDue, refCh.MessagesDue) {
				t.Fatalf("%+v: due %+v, but with every queued message remembered %+v", ev, ch.MessagesDue, refCh.MessagesDue)
			}
			for _, m := range ch.MessagesDue {
				key := Message{ConnectionID: m.ConnectionID, Purpose: m.Purpose}
				if m.Purpose == PurposeOptOutConfirmation {
					key.At = m.At
				}
				if seen[key] {
					t.Fatalf("message %+v due twice", m)
				}
				seen[key] = true
				all = append(all, m)
			}
			if max := 2*len(propConnections) + 1; len(l.Queued) > max {
				t.Fatalf("Queued holds %d messages (at most %d): %+v", len(l.Queued), max, l.Queued)
			}
			applied = append(applied, ev)
			snapshots = append(snapshots, l)
		}
	})
}
