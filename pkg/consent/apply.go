package consent

import (
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Apply returns the ledger after ev and what changed. It is pure and
// idempotent: applying the same event again returns the ledger unchanged
// and a zero Change. The receiver is not modified.
func (l Ledger) Apply(ev Event) (Ledger, Change) {
	n := l
	if !n.record(ev) {
		return l, Change{}
	}
	from, to := l.state(), n.state()
	ch := Change{From: from, To: to, Kind: ev.Kind, At: ev.At, Evidence: ev.Evidence}
	if ev.Kind == EventSourceSignal {
		ch.ConnectionID = ev.ConnectionID
		ch.SourceAt = ev.Signal.At
	}
	if ev.Kind == EventDoubleOptInExpired || ev.Kind == EventDoubleOptInReminder {
		ch.ConnectionID = ev.ConnectionID
	}
	if m, due := n.messageDue(ev, from, to); due {
		n.Queued = append(append(make([]Message, 0, len(n.Queued)+1), n.Queued...), m)
		ch.MessagesDue = []Message{m}
	}
	n.compact()
	return n, ch
}

// messageDue decides which message, if any, ev makes due.
func (l *Ledger) messageDue(ev Event, from, to State) (Message, bool) {
	var m Message
	switch {
	case ev.Kind == EventHubOptOut && to == Unsubscribed && from != Unsubscribed:
		m = Message{Phone: l.Phone, Purpose: PurposeOptOutConfirmation, At: ev.At}
	case ev.Kind == EventSourceSignal && ev.Mode == Confirmation && to == Subscribed &&
		l.contribution(ev.ConnectionID) == Subscribed:
		m = Message{Phone: l.Phone, ConnectionID: ev.ConnectionID, Purpose: PurposeConfirmation, At: ev.At}
	case ev.Kind == EventSourceSignal && ev.Mode == DoubleOptIn && to == Pending &&
		l.contribution(ev.ConnectionID) == Pending:
		m = Message{Phone: l.Phone, ConnectionID: ev.ConnectionID, Purpose: PurposeDoubleOptInRequest, At: ev.At}
	case ev.Kind == EventDoubleOptInReminder:
		m = Message{Phone: l.Phone, ConnectionID: ev.ConnectionID, Purpose: PurposeDoubleOptInReminder, At: ev.At}
	default:
		return Message{}, false
	}
	if l.wasQueued(m) {
		return Message{}, false
	}
	return m, true
}

// record stores ev in l (slices are replaced, never written in place, so
// copies of the ledger stay intact); it reports false when the ledger
// already holds ev (or something that supersedes it).
func (l *Ledger) record(ev Event) bool {
	switch ev.Kind {
	case EventHubOptOut:
		return l.recordOptOut(ev)
	case EventHubOptIn:
		return keepNewest(ev, &l.OptInAt, &l.OptIn)
	case EventDoubleOptInYes:
		return keepNewest(ev, &l.YesAt, &l.Yes)
	case EventSourceSignal:
		return l.recordSignal(ev)
	case EventDoubleOptInExpired:
		return l.recordExpiry(ev)
	case EventDoubleOptInReminder:
		return l.recordReminder(ev)
	}
	return false
}

// keepNewest stores a hub event in its slot if it is newer than the one
// held; it reports whether it did.
func keepNewest(ev Event, at *time.Time, evidence *Evidence) bool {
	if !newer(ev, *at) {
		return false
	}
	*at, *evidence = ev.At, ev.Evidence
	return true
}

// recordSignal keeps the newest signal per connection.
func (l *Ledger) recordSignal(ev Event) bool {
	if ev.Signal.State == source.SignalNone {
		return false
	}
	s := signalOf(ev)
	ahead := l.noteAhead(s)
	return l.putSignal(s) || ahead
}

func signalOf(ev Event) SourceSignal {
	return SourceSignal{
		ConnectionID: ev.ConnectionID,
		Mode:         ev.Mode,
		State:        ev.Signal.State,
		At:           ev.Signal.At,
		Method:       ev.Signal.Method,
		ReceivedAt:   ev.At,
		Evidence:     ev.Evidence,
	}
}

// Holds reports whether the ledger already holds ev or something that
// supersedes it, so that Apply(ev) would change nothing. It reads the
// ledger in place: the cheap check before Apply for the common re-sync
// whose signal is already stored.
func (l *Ledger) Holds(ev Event) bool {
	switch ev.Kind {
	case EventHubOptOut:
		c := *l // recordOptOut sets fields only: the copy shares no write
		return !c.recordOptOut(ev)
	case EventHubOptIn:
		return !newer(ev, l.OptInAt)
	case EventDoubleOptInYes:
		return !newer(ev, l.YesAt)
	case EventSourceSignal:
		if ev.Signal.State == source.SignalNone {
			return true
		}
		i, found := l.signalIndex(ev.ConnectionID)
		if !found {
			return false
		}
		s := signalOf(ev)
		if aheadOfReceipt(s) {
			c := *l // noteAhead replaces the list, never writes into it
			if c.noteAhead(s) {
				return false
			}
		}
		_, changed := nextSignal(l.Signals[i], s)
		return !changed
	case EventDoubleOptInExpired:
		c := *l
		return !c.recordExpiry(ev)
	case EventDoubleOptInReminder:
		return !l.recordReminder(ev)
	}
	return true
}

// newer reports whether a hub event is newer than the one held at at.
func newer(ev Event, at time.Time) bool { return !ev.At.IsZero() && ev.At.After(at) }

// putSignal stores s in a new signal list if it changes the connection's
// stored signal (see nextSignal), or there is none.
func (l *Ledger) putSignal(s SourceSignal) bool {
	i, found := l.signalIndex(s.ConnectionID)
	if found {
		var changed bool
		if s, changed = nextSignal(l.Signals[i], s); !changed {
			return false
		}
	}
	sigs := make([]SourceSignal, 0, len(l.Signals)+1)
	sigs = append(sigs, l.Signals[:i]...)
	sigs = append(sigs, s)
	if found {
		i++
	}
	l.Signals = append(sigs, l.Signals[i:]...)
	return true
}

// nextSignal returns what a connection's slot holds once signal a arrives
// beside the stored b, and whether that differs from b.
//
// The same statement arriving again (same state, same claimed consent
// timestamp: a re-sync, a replayed webhook) is one statement, first
// received at the earlier of the two receipts: its OrderedAt never moves
// later, so a daily re-sync of "subscribed, 2099" received before a STOP
// stays before the STOP. Otherwise the newer statement wins (supersedes).
//
// The slot holds one statement, not every one the connection made, so this
// is idempotent for a retry but not for every later replay: a statement
// displaced and then received again keeps only its second receipt until a
// replay of the first brings it back. Such a replay moves only this
// connection's signal, toward what the full history says. No second receipt
// lets an opt-in lift an opt-out it was first received before: the fence
// (Ledger.fence) remembers claims that were ahead of their receipt
// (property tests (a) and (b)).
func nextSignal(b, a SourceSignal) (SourceSignal, bool) {
	if !sameStatement(a, b) {
		if supersedes(a, b) {
			return a, true
		}
		return b, false
	}
	first := earliest(a.ReceivedAt, b.ReceivedAt)
	w, changed := b, false
	if tieBreak(a, b) {
		w, changed = a, true
	}
	if !first.Equal(w.ReceivedAt) {
		w.ReceivedAt, changed = first, true
	}
	return w, changed
}

// sameStatement reports whether a and b are the same timestamped statement
// of a connection, whatever their receipt.
func sameStatement(a, b SourceSignal) bool {
	return a.State == b.State && !a.At.IsZero() && a.At.Equal(b.At)
}

// earliest is the earlier of two receipt times, ignoring a missing one.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// supersedes reports whether signal a replaces b of the same connection
// (different statements; see nextSignal for a repeat). It compares a
// lexicographic key, so the stored signal does not depend on arrival order:
//  1. an explicit signal beats "never asked";
//  2. the newer OrderedAt wins: min(the source's timestamp, the time the
//     hub received it), or the receipt when the source gave none;
//  3. at equal times unsubscribed beats subscribed beats never asked, then
//     tieBreak.
func supersedes(a, b SourceSignal) bool {
	if a.explicit() != b.explicit() {
		return a.explicit()
	}
	if ea, eb := a.effectiveAt(), b.effectiveAt(); !ea.Equal(eb) {
		return ea.After(eb)
	}
	if ra, rb := signalRank(a.State), signalRank(b.State); ra != rb {
		return ra > rb
	}
	return tieBreak(a, b)
}

// tieBreak orders two signals of equal rank and time: mode and method in
// byte order, then the later source timestamp, then the earlier receipt
// (the same statement repeated keeps its first receipt, so a re-sync of a
// timestamped signal writes nothing).
func tieBreak(a, b SourceSignal) bool {
	if a.Mode != b.Mode {
		return a.Mode > b.Mode
	}
	if a.Method != b.Method {
		return a.Method > b.Method
	}
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ReceivedAt.Before(b.ReceivedAt)
}

// signalRank orders signal states for ties: the more restrictive wins.
func signalRank(s source.SignalState) int {
	switch s {
	case source.SignalUnsubscribed:
		return 3
	case source.SignalSubscribed:
		return 2
	case source.SignalNeverAsked:
		return 1
	}
	return 0
}
