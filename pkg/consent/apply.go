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
	if m, due := n.messageDue(ev, from, to); due {
		n.Queued = append(append(make([]Message, 0, len(n.Queued)+1), n.Queued...), m)
		ch.MessagesDue = []Message{m}
	}
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
		return keepNewest(ev, &l.OptOutAt, &l.OptOut)
	case EventHubOptIn:
		return keepNewest(ev, &l.OptInAt, &l.OptIn)
	case EventDoubleOptInYes:
		return keepNewest(ev, &l.YesAt, &l.Yes)
	case EventSourceSignal:
		return l.recordSignal(ev)
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
	return l.putSignal(signalOf(ev))
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
		return !newer(ev, l.OptOutAt)
	case EventHubOptIn:
		return !newer(ev, l.OptInAt)
	case EventDoubleOptInYes:
		return !newer(ev, l.YesAt)
	case EventSourceSignal:
		if ev.Signal.State == source.SignalNone {
			return true
		}
		i, found := l.signalIndex(ev.ConnectionID)
		return found && !supersedes(signalOf(ev), l.Signals[i])
	}
	return true
}

// newer reports whether a hub event is newer than the one held at at.
func newer(ev Event, at time.Time) bool { return !ev.At.IsZero() && ev.At.After(at) }

// putSignal stores s in a new signal list if it supersedes the
// connection's stored signal (or there is none).
func (l *Ledger) putSignal(s SourceSignal) bool {
	i, found := l.signalIndex(s.ConnectionID)
	if found && !supersedes(s, l.Signals[i]) {
		return false
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

// supersedes reports whether signal a replaces b of the same connection.
// It compares a lexicographic key, a strict total order, so the stored
// signal does not depend on arrival order:
//  1. an explicit signal beats "never asked";
//  2. the newer consent time wins (the source's timestamp, else the time
//     the hub received it);
//  3. at equal times unsubscribed beats subscribed beats never asked, then
//     mode and method in byte order, then the later source timestamp;
//  4. the same statement repeated keeps its earliest receipt, so a re-sync
//     of a timestamped signal writes nothing.
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
