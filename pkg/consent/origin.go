package consent

import (
	"slices"
	"time"
)

// Origin says who made a hub-side opt-out: the person who owns the number,
// or a user of the hub acting for the business.
type Origin string

// Origins of hub-side opt-outs.
const (
	// ByConsumer: the person (a STOP-family reply), or an opt-out the hub
	// carries over for them (a contact merge, a redacted number's
	// suppression entry). The default: an event that does not say is the
	// person's.
	ByConsumer Origin = "consumer"
	// ByHubUser: an unsubscribe by a hub user (PUT
	// /v1/contacts/{id}/subscription).
	ByHubUser Origin = "hub_user"
)

// hubUnsubscribeText is the evidence text the Hub API has always written for
// a hub user's unsubscribe: ledgers stored before OptOutBy existed are read
// by it.
const hubUnsubscribeText = "hub unsubscribe"

// HubUnsubscribeEvent is an unsubscribe by a hub user at time at. Unlike a
// STOP (OptOutEvent), a hub user may lift it again with a resubscribe.
func HubUnsubscribeEvent(at time.Time, ev Evidence) Event {
	return Event{Kind: EventHubOptOut, At: at, By: ByHubUser, Evidence: ev}
}

// origin is who made the event; anything that does not say is the person.
func (ev Event) origin() Origin {
	if ev.By == ByHubUser {
		return ByHubUser
	}
	return ByConsumer
}

// optOutBy is who made the opt-out at OptOutAt. Ledgers stored before
// OptOutBy existed are read by the evidence the Hub API wrote; everything
// else is the person's.
func (l *Ledger) optOutBy() Origin {
	switch {
	case l.OptOutBy != "":
		return l.OptOutBy
	case l.OptOut.Provider == "hub" && l.OptOut.Text == hubUnsubscribeText:
		return ByHubUser
	}
	return ByConsumer
}

// consumerOptOutAt is the newest opt-out the person made: a hub-side one
// (STOP, or carried over by a merge or a redaction) or a source
// "unsubscribed" at its OrderedAt.
func (l *Ledger) consumerOptOutAt() (time.Time, bool) {
	return l.newestWithSignals(l.consumerHubOptOutAt())
}

// consumerHubOptOutAt is the newest hub-side opt-out the person made (zero
// if none).
func (l *Ledger) consumerHubOptOutAt() time.Time {
	if l.optOutBy() == ByConsumer && l.OptOutAt.After(l.ConsumerOptOutAt) {
		return l.OptOutAt
	}
	return l.ConsumerOptOutAt
}

// liftedAfter reports whether a statement that may lift an opt-out is
// strictly after t: a hub opt-in or a YES, or a source's explicit opt-in
// ordered after t.
func (l *Ledger) liftedAfter(t time.Time) bool {
	return l.OptInAt.After(t) || l.YesAt.After(t) ||
		slices.ContainsFunc(l.Signals, func(s SourceSignal) bool { return l.lifts(s, t) })
}

// ConsentRequired reports whether the number carries an opt-out the person
// made (a STOP-family reply, a source unsubscribe, or one carried over by a
// merge or a redaction) that nothing has lifted since. Only the person (a
// START or YES reply) or a source's explicit opt-in ordered after it may
// lift it: a hub user's resubscribe must be refused (409
// consent_required). A hub user's own unsubscribe, on a number the person
// had not opted out, does not require it; nor does a hub unsubscribe made on
// top of a STOP hide the STOP.
func (l Ledger) ConsentRequired() bool {
	at, ok := l.consumerOptOutAt()
	return ok && !l.liftedAfter(at)
}

// OptedOutAt returns the time of the newest explicit opt-out of any kind
// (hub-side, or a source "unsubscribed" at its OrderedAt), and whether
// there is one. A suppression entry that outlives the ledger keeps it.
func (l Ledger) OptedOutAt() (time.Time, bool) { return l.newestOptOut() }

// recordOptOut stores a hub-side opt-out: in the OptOutAt slot if it is
// the newest (at equal times the person's wins over a hub user's, so the
// slot does not depend on arrival order), and in ConsumerOptOutAt if the
// person made it. It reports whether the ledger changed.
func (l *Ledger) recordOptOut(ev Event) bool {
	if ev.At.IsZero() {
		return false
	}
	by, changed := ev.origin(), false
	if by == ByConsumer && ev.At.After(l.ConsumerOptOutAt) {
		l.ConsumerOptOutAt, changed = ev.At, true
	}
	if ev.At.After(l.OptOutAt) || (ev.At.Equal(l.OptOutAt) && by == ByConsumer && l.optOutBy() == ByHubUser) {
		// The person's opt-out leaving the slot stays known (a ledger
		// stored before ConsumerOptOutAt existed has it only in the slot).
		l.ConsumerOptOutAt = l.consumerHubOptOutAt()
		l.OptOutAt, l.OptOut, l.OptOutBy, changed = ev.At, ev.Evidence, by, true
	}
	return changed
}
