package consent

import "time"

// Combine is what happens to consent when two contacts merge ("the most
// restrictive wins", design.md §4). keep is the ledger of the number the
// merged contact keeps; other is the ledger of the other contact's number.
//
//   - When both ledgers are for the same number (two copies meeting), their
//     contents are united: the newest hub statements, the newest signal per
//     connection, every queued message.
//   - Consent given for another number does not transfer (consent belongs
//     to the number), but a restriction does: when either side is
//     unsubscribed and the result would not be, a hub-side opt-out at time
//     at is recorded on keep, with evidence naming the other number. A later
//     hub opt-in, or a source explicit opt-in timestamped after at, lifts it
//     as usual.
//
// Combine queues no message: the person did not text STOP to this number.
// It is idempotent: Combine(Combine(k, o, at), o, at) changes nothing more.
func Combine(keep, other Ledger, at time.Time) (Ledger, Change) {
	from := keep.state()
	n := keep
	changed := false
	if other.Phone == keep.Phone {
		changed = n.union(&other)
	}
	if MostRestrictive(from, other.state()) == Unsubscribed && n.state() != Unsubscribed {
		ev := OptOutEvent(at, Evidence{Text: "contact merge", MessageID: "merge:" + other.Phone, Provider: "hub"})
		if n.record(ev) {
			changed = true
		}
	}
	if !changed {
		return keep, Change{}
	}
	return n, Change{From: from, To: n.state(), Kind: EventContactMerge, At: at,
		Evidence: Evidence{Text: "contact merge", MessageID: "merge:" + other.Phone, Provider: "hub"}}
}

// union adds other's contents to l (same number); it reports whether l
// changed.
func (l *Ledger) union(other *Ledger) bool {
	changed := false
	for _, ev := range []Event{
		OptOutEvent(other.OptOutAt, other.OptOut),
		OptInEvent(other.OptInAt, other.OptIn),
		YesEvent(other.YesAt, other.Yes),
	} {
		changed = l.record(ev) || changed
	}
	for _, s := range other.Signals {
		changed = l.putSignal(s) || changed
	}
	for _, m := range other.Queued {
		if !l.wasQueued(m) {
			l.Queued = append(append(make([]Message, 0, len(l.Queued)+1), l.Queued...), m)
			changed = true
		}
	}
	return changed
}
