package consent

import (
	"cmp"
	"slices"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Evidence is what the hub keeps about a consent statement (design.md §4:
// "recorded with time, source, evidence"). Every field is optional.
//
// Store: persist it inside the ledger and in consent-history items.
type Evidence struct {
	// Text is the inbound reply text (the keyword as the person typed it) or
	// a short note for hub actions ("hub unsubscribe", "contact merge").
	Text string
	// MessageID is the provider's inbound message id, the webhook delivery
	// id, or the hub request id.
	MessageID string
	// Provider names who reported it: an SMS provider ("twilio",
	// "messagemedia", "sinch"), "hub" for a hub user action, or the source
	// label for source signals.
	Provider string
}

// SourceSignal is the newest consent statement one source connection made
// about the number.
//
// Store: persist every field; a zero time is stored as absent.
type SourceSignal struct {
	ConnectionID string
	Mode         Mode               // the connection's consent mode when the signal arrived
	State        source.SignalState // never SignalNone
	// At is the source's own consent timestamp, as it claimed it (zero if
	// it gave none). It is evidence, not a clock the hub trusts: see
	// OrderedAt.
	At     time.Time
	Method string // the source's word for how consent was collected
	// ReceivedAt is when the hub first received this statement (a repeat of
	// the same statement keeps the first receipt).
	ReceivedAt time.Time
	Evidence   Evidence
}

// OrderedAt is the time the signal is ordered by, everywhere signals are
// ordered: min(claimed time, time the hub received it). A source's clock is
// untrusted (a tenant-set apiBaseUrl can answer any time), so a statement
// never counts as newer than its arrival: "subscribed, 2099" received before
// a STOP stays older than the STOP. Without a claimed time it is the time of
// receipt; without either, zero.
func (s SourceSignal) OrderedAt() time.Time { return s.effectiveAt() }

func (s SourceSignal) effectiveAt() time.Time {
	switch {
	case s.At.IsZero():
		return s.ReceivedAt
	case s.ReceivedAt.IsZero() || s.At.Before(s.ReceivedAt):
		return s.At
	}
	return s.ReceivedAt
}

// lifts reports whether the signal may lift an opt-out at t: an explicit
// "subscribed" with a consent timestamp of its own, ordered (OrderedAt)
// strictly after t, and claimed after the fence at t.
func (l *Ledger) lifts(s SourceSignal, t time.Time) bool {
	return s.State == source.SignalSubscribed && !s.At.IsZero() && s.effectiveAt().After(t) && s.At.After(l.fence(t))
}

// fence is the latest time claimed, ahead of its receipt, by a source
// opt-in received at or before t (zero if none). An opt-in claimed at or
// before it may be that statement delivered again (a re-sync, a replayed
// page) after its slot forgot its first receipt (nextSignal), so it lifts
// nothing at t: "subscribed, 2099" received before a STOP never lifts the
// STOP, however often it comes back, even once a newer statement took its
// slot. A source's new opt-in is claimed after the fence: a skewed clock's
// fence is its skew past the STOP; a source that claimed 2099 before a
// STOP lifts it only with an opt-in first received after it and claimed
// later still.
func (l *Ledger) fence(t time.Time) time.Time {
	var f time.Time
	for _, a := range l.AheadClaims {
		if a.ReceivedAt.After(t) {
			break
		}
		if a.Claim.After(f) {
			f = a.Claim
		}
	}
	return f
}

// noteAhead adds a source opt-in claimed ahead of its receipt to
// AheadClaims; it reports whether the list changed.
func (l *Ledger) noteAhead(s SourceSignal) bool {
	if !aheadOfReceipt(s) {
		return false
	}
	a := AheadClaim{Claim: s.At, ReceivedAt: s.ReceivedAt}
	next := make([]AheadClaim, 0, len(l.AheadClaims)+1)
	for _, o := range l.AheadClaims {
		if o.outdoes(a) {
			return false // nothing to add
		}
		if !a.outdoes(o) {
			next = append(next, o)
		}
	}
	next = append(next, a)
	slices.SortFunc(next, func(x, y AheadClaim) int { return x.ReceivedAt.Compare(y.ReceivedAt) })
	for len(next) > maxAheadClaims {
		next[0].Claim = next[1].Claim // earliest receipt, later claim
		next = slices.Delete(next, 1, 2)
	}
	l.AheadClaims = next
	return true
}

// aheadOfReceipt reports whether s is an opt-in claimed later than its
// receipt.
func aheadOfReceipt(s SourceSignal) bool {
	return s.State == source.SignalSubscribed && !s.ReceivedAt.IsZero() && s.At.After(s.ReceivedAt)
}

// contribution is the state this signal alone would give the number
// (design.md §4 table).
func (s SourceSignal) contribution() State {
	switch s.State {
	case source.SignalUnsubscribed:
		return Unsubscribed
	case source.SignalSubscribed:
		if s.Mode == DoubleOptIn {
			return Pending
		}
		return Subscribed
	case source.SignalNeverAsked:
		switch s.Mode {
		case Inferred, Confirmation:
			return Subscribed
		case DoubleOptIn:
			return Pending
		}
	}
	return NotSubscribed
}

// explicit reports whether the signal is an explicit source statement
// (subscribed or unsubscribed) rather than "never asked / unknown".
func (s SourceSignal) explicit() bool {
	return s.State == source.SignalSubscribed || s.State == source.SignalUnsubscribed
}

// Message is an outbound SMS that became due for the ledger's number.
//
// Store: queue it idempotently under (tenant, Phone, ConnectionID, Purpose,
// At); the same message may be handed over again after a retry.
type Message struct {
	Phone        string // E.164
	ConnectionID string // "" for hub-level messages (opt-out confirmation)
	Purpose      Purpose
	// At is the time of the event that made the message due. For an opt-out
	// confirmation it is the opt-out's time (one confirmation per opt-out).
	At time.Time
}

// sameSlot reports whether m and o are the "same message" for the
// never-twice rule: per (connection, purpose), and per opt-out for opt-out
// confirmations.
func (m Message) sameSlot(o Message) bool {
	if m.ConnectionID != o.ConnectionID || m.Purpose != o.Purpose {
		return false
	}
	if m.Purpose == PurposeOptOutConfirmation {
		return m.At.Equal(o.At)
	}
	return true
}

// Ledger is everything needed to derive one phone number's consent state.
// It belongs to the number (per tenant), not to a contact; it exists without
// any contact, which is how a suppression (an opt-out for a number no source
// knows yet, or a deleted contact's opt-out) is represented.
//
// Store: persist the whole ledger as one item per (tenant, Phone), together
// with the phone's claim, and replace it with a condition on Version (the
// store increments Version on every write; Apply never touches it). Signals
// is kept sorted by ConnectionID, Queued in the order messages became due;
// keep both orders. Consent history (one item per state change, one-year
// TTL) is written from the Change that Apply returns, not from the ledger.
type Ledger struct {
	Phone string // E.164

	OptOutAt time.Time // newest hub-side opt-out (STOP-family reply or hub unsubscribe); zero if none
	OptOut   Evidence
	// OptOutBy says who made the opt-out at OptOutAt: the person (a
	// STOP-family reply, or an opt-out carried over by a merge or a
	// redaction) or a hub user. "" in ledgers stored before it existed:
	// read through optOutBy.
	OptOutBy Origin
	// ConsumerOptOutAt is the newest hub-side opt-out made by the person
	// (zero if none, or in ledgers stored before it existed: then OptOutAt
	// counts when OptOutBy reads as the person). A hub user's unsubscribe
	// after it does not hide it: only the person (or a source's explicit
	// opt-in) lifts it, see ConsentRequired.
	ConsumerOptOutAt time.Time

	OptInAt time.Time // newest hub-side opt-in (START/UNSTOP reply or hub resubscribe); zero if none
	OptIn   Evidence
	YesAt   time.Time // newest YES to a double opt-in request; zero if none
	Yes     Evidence

	// Signals holds the newest signal per source connection, sorted by
	// ConnectionID.
	Signals []SourceSignal
	// Queued lists the messages that became due and may still be asked for
	// again, so none is due twice: one entry per (connection, purpose) and
	// only the opt-out confirmations that a future opt-out could repeat
	// (see compact). It does not grow with STOP/START toggles.
	Queued []Message
	// Expirations lists the connections whose double opt-in request
	// expired unanswered (sorted by ConnectionID): their pending
	// contribution counts as not_subscribed (see ReviewPending).
	Expirations []Expiry `dynamodbav:",omitempty"`
	// AheadClaims remembers the source opt-ins whose claimed time was later
	// than their receipt (see fence): one (claim, receipt) per such
	// statement that no other outdoes (an earlier or equal receipt with a
	// later or equal claim), sorted by receipt. Empty for honest clocks.
	AheadClaims []AheadClaim `dynamodbav:",omitempty"`

	Version int64 // optimistic-lock counter, owned by the store
}

// AheadClaim is a source opt-in's claimed time that was ahead of its
// receipt, and that receipt.
type AheadClaim struct {
	Claim, ReceivedAt time.Time
}

// outdoes reports whether a fences at least what b does: received no
// later, claimed no earlier.
func (a AheadClaim) outdoes(b AheadClaim) bool {
	return !a.ReceivedAt.After(b.ReceivedAt) && !a.Claim.Before(b.Claim)
}

// maxAheadClaims bounds AheadClaims. Past it two neighbours are merged into
// the earlier receipt with the later claim: the fence only rises, so an
// opt-in is refused more, never allowed more.
const maxAheadClaims = 32

// Suppressed reports whether the number is opted out: nothing may be sent
// to it (except the opt-out confirmation that Apply hands out).
func (l Ledger) Suppressed() bool { return l.state() == Unsubscribed }

// Signal returns the stored signal of a connection.
func (l Ledger) Signal(connectionID string) (SourceSignal, bool) { return l.signal(connectionID) }

func (l *Ledger) signal(connectionID string) (SourceSignal, bool) {
	if i, ok := l.signalIndex(connectionID); ok {
		return l.Signals[i], true
	}
	return SourceSignal{}, false
}

// signalIndex finds a connection's signal (binary search on the sorted
// slice) or the position where it would go.
func (l *Ledger) signalIndex(connectionID string) (int, bool) {
	lo, hi := 0, len(l.Signals)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.Signals[mid].ConnectionID < connectionID {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(l.Signals) && l.Signals[lo].ConnectionID == connectionID
}

// WasQueued reports whether a message for (connection, purpose) was already
// due once (for opt-out confirmations: for the opt-out at m.At).
func (l Ledger) WasQueued(m Message) bool { return l.wasQueued(m) }

func (l *Ledger) wasQueued(m Message) bool {
	return slices.ContainsFunc(l.Queued, func(q Message) bool { return q.sameSlot(m) })
}

// State derives the number's consent state from the ledger's contents (see
// the package documentation). It does not depend on the order in which the
// contents arrived.
func (l Ledger) State() State { return l.state() }

func (l *Ledger) state() State {
	outAt, hasOut := l.newestOptOut()
	best := State("")
	consider := func(s State) {
		if s.rank() > best.rank() {
			best = s
		}
	}
	if hasOut {
		// Only statements strictly after the newest opt-out lift it.
		if l.OptInAt.After(outAt) || l.YesAt.After(outAt) {
			consider(Subscribed)
		}
		for _, s := range l.Signals {
			if l.lifts(s, outAt) {
				consider(l.signalContribution(s))
			}
		}
		return cmp.Or(best, Unsubscribed)
	}
	if !l.OptInAt.IsZero() || !l.YesAt.IsZero() {
		consider(Subscribed)
	}
	for _, s := range l.Signals {
		consider(l.signalContribution(s))
	}
	return cmp.Or(best, NotSubscribed)
}

// newestOptOut returns the time of the newest explicit opt-out: the hub
// opt-out or a source "unsubscribed" (at its OrderedAt).
func (l *Ledger) newestOptOut() (time.Time, bool) { return l.newestWithSignals(l.OptOutAt) }

// newestWithSignals is the newest of at (zero: none) and the OrderedAt of
// the source "unsubscribed" signals, and whether there is one.
func (l *Ledger) newestWithSignals(at time.Time) (time.Time, bool) {
	ok := !at.IsZero()
	for _, s := range l.Signals {
		if s.State != source.SignalUnsubscribed {
			continue
		}
		if e := s.effectiveAt(); !ok || e.After(at) {
			at, ok = e, true
		}
	}
	return at, ok
}

// Contribution returns the state a connection's own signal gives the number
// (design.md §4 table), or "" when the connection never spoke for it.
func (l Ledger) Contribution(connectionID string) State { return l.contribution(connectionID) }

func (l *Ledger) contribution(connectionID string) State {
	s, ok := l.signal(connectionID)
	if !ok {
		return ""
	}
	return l.signalContribution(s)
}

// signalContribution is a signal's contribution, with an expired double
// opt-in request's pending counted as not_subscribed.
func (l *Ledger) signalContribution(s SourceSignal) State {
	c := s.contribution()
	if c == Pending && len(l.Expirations) > 0 && l.expired(s.ConnectionID) {
		return NotSubscribed
	}
	return c
}
