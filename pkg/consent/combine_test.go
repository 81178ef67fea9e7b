// Combine and MostRestrictive are the rule for two contacts' consents
// meeting (design.md §4: the most restrictive wins) when a merge united
// two numbers' ledgers. Consent now belongs to the number (one ledger per
// phone, pkg/merge never unites two), so nothing in production combines
// ledgers: the rule lives here, with the tests that pin it down.

package consent

import (
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Combine is what happens to consent when two contacts merge ("the most
// restrictive wins", design.md §4). keep is the ledger of the number the
// merged contact keeps; other is the ledger of the other contact's number.
//
//   - When both ledgers are for the same number (two copies meeting), their
//     contents are united: the newest hub statements (and who made them),
//     the newest signal per connection, every queued message (compacted).
//   - Consent given for another number does not transfer (consent belongs
//     to the number), but a restriction does: when either side is
//     unsubscribed and the result would not be, a hub-side opt-out at time
//     at is recorded on keep, with evidence naming the other number. It
//     counts as the person's (ConsentRequired) unless the only opt-out in
//     play was a hub user's. A later opt-in lifts it as usual.
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
		if !other.ConsentRequired() && !keep.ConsentRequired() {
			ev.By = ByHubUser // only a hub user's unsubscribe is carried over
		}
		if n.record(ev) {
			changed = true
		}
	}
	if !changed {
		return keep, Change{}
	}
	n.compact()
	return n, Change{From: from, To: n.state(), Kind: EventContactMerge, At: at,
		Evidence: Evidence{Text: "contact merge", MessageID: "merge:" + other.Phone, Provider: "hub"}}
}

// union adds other's contents to l (same number); it reports whether l
// changed.
func (l *Ledger) union(other *Ledger) bool {
	changed := false
	for _, ev := range []Event{
		{Kind: EventHubOptOut, At: other.OptOutAt, By: other.optOutBy(), Evidence: other.OptOut},
		OptInEvent(other.OptInAt, other.OptIn),
		YesEvent(other.YesAt, other.Yes),
	} {
		changed = l.record(ev) || changed
	}
	if c := other.consumerHubOptOutAt(); c.After(l.ConsumerOptOutAt) {
		l.ConsumerOptOutAt, changed = c, true
	}
	for _, s := range other.Signals {
		changed = l.putSignal(s) || changed
	}
	for _, a := range other.AheadClaims {
		changed = l.noteAhead(SourceSignal{State: source.SignalSubscribed, At: a.Claim, ReceivedAt: a.ReceivedAt}) || changed
	}
	for _, e := range other.Expirations {
		if !l.expired(e.ConnectionID) {
			l.putExpiry(e)
			changed = true
		}
	}
	for _, m := range other.Queued {
		if !l.wasQueued(m) {
			l.Queued = append(append(make([]Message, 0, len(l.Queued)+1), l.Queued...), m)
			changed = true
		}
	}
	return changed
}

// restrictiveness orders all states from most permissive (0) to most
// restrictive (3).
func (s State) restrictiveness() int {
	switch s {
	case Unsubscribed:
		return 3
	case Pending:
		return 2
	case NotSubscribed:
		return 1
	}
	return 0
}

// MostRestrictive returns the more restrictive of two states:
// unsubscribed, then pending, then not_subscribed, then subscribed.
func MostRestrictive(a, b State) State {
	if b.restrictiveness() > a.restrictiveness() {
		return b
	}
	return a
}
