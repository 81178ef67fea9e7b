package consent

import (
	"slices"
	"time"
)

// Double opt-in requests that are never answered (issue 18 item 7).
//
// A number that is pending through a double opt-in connection has had one
// "reply Y or YES" request queued for that connection (Ledger.Queued). When
// no YES arrives, the connection may send at most one reminder after
// ReminderDays, and the request expires after ExpiryDays: the ledger
// records the expiry for the connection, whose signal then counts as
// not_subscribed instead of pending (an expired request is not asked
// again: the request is once per number and connection). A YES after the
// expiry still subscribes: it is the person's own opt-in.

const (
	// EventDoubleOptInExpired: a double opt-in request of a connection went
	// unanswered for its expiry time.
	EventDoubleOptInExpired EventKind = "double_opt_in_expired"
	// EventDoubleOptInReminder: the one reminder of an unanswered request
	// became due (no state change).
	EventDoubleOptInReminder EventKind = "double_opt_in_reminder"
)

// PurposeDoubleOptInReminder is the one reminder of an unanswered double
// opt-in request.
const PurposeDoubleOptInReminder Purpose = "double_opt_in_reminder"

// DefaultDoubleOptInExpiryDays is how long a double opt-in request waits for
// its YES when the connection does not say.
const DefaultDoubleOptInExpiryDays = 30

// Expiry records that a connection's double opt-in request expired.
//
// Store: persist both fields, inside the ledger.
type Expiry struct {
	ConnectionID string
	At           time.Time
}

// PendingPolicy is a double opt-in connection's settings for unanswered
// requests.
type PendingPolicy struct {
	// ExpiryDays: the request expires this many days after it became due
	// (0 = DefaultDoubleOptInExpiryDays).
	ExpiryDays int
	// ReminderDays: the one reminder is due this many days after the
	// request (0 = no reminder; a reminder not before the expiry is never
	// sent).
	ReminderDays int
}

func (p PendingPolicy) expiry() time.Duration {
	d := p.ExpiryDays
	if d <= 0 {
		d = DefaultDoubleOptInExpiryDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// PendingAction is what ReviewPending says to do now.
type PendingAction string

// Pending actions.
const (
	// PendingWait: nothing yet; look again at PendingReview.Next.
	PendingWait PendingAction = "wait"
	// PendingRemind: apply ReminderEvent (the reminder is due).
	PendingRemind PendingAction = "remind"
	// PendingExpire: apply ExpiredEvent (the request expired).
	PendingExpire PendingAction = "expire"
	// PendingDone: the number is no longer waiting on this connection's
	// request (answered, opted out, expired, or never asked): stop looking.
	PendingDone PendingAction = "done"
)

// PendingReview is ReviewPending's answer.
type PendingReview struct {
	Action PendingAction
	// RequestAt is when the connection's request became due (zero: none).
	RequestAt time.Time
	// Next is when to look again (PendingWait, PendingRemind: the expiry).
	Next time.Time
}

// ReviewPending decides, at now, what happens to a number waiting on the
// double opt-in request of connection conn under policy p. It is pure.
func (l Ledger) ReviewPending(conn string, p PendingPolicy, now time.Time) PendingReview {
	var req Message
	found := false
	for _, q := range l.Queued {
		if q.ConnectionID == conn && q.Purpose == PurposeDoubleOptInRequest {
			req, found = q, true
			break
		}
	}
	if !found || l.state() != Pending || l.contribution(conn) != Pending {
		return PendingReview{Action: PendingDone, RequestAt: req.At}
	}
	r := PendingReview{RequestAt: req.At}
	expiresAt := req.At.Add(p.expiry())
	if !now.Before(expiresAt) {
		r.Action = PendingExpire
		return r
	}
	r.Action, r.Next = PendingWait, expiresAt
	if p.ReminderDays > 0 {
		remindAt := req.At.Add(time.Duration(p.ReminderDays) * 24 * time.Hour)
		if remindAt.Before(expiresAt) && !l.wasQueued(Message{ConnectionID: conn, Purpose: PurposeDoubleOptInReminder}) {
			if !now.Before(remindAt) {
				r.Action = PendingRemind
			} else {
				r.Next = remindAt
			}
		}
	}
	return r
}

// ExpiredEvent is the expiry at time at of connection conn's unanswered
// double opt-in request.
func ExpiredEvent(conn string, at time.Time) Event {
	return Event{Kind: EventDoubleOptInExpired, At: at, ConnectionID: conn,
		Evidence: Evidence{Text: "double opt-in request unanswered", Provider: "hub", MessageID: "expiry:" + conn}}
}

// ReminderEvent makes the one reminder of connection conn's unanswered
// request due at time at.
func ReminderEvent(conn string, at time.Time) Event {
	return Event{Kind: EventDoubleOptInReminder, At: at, ConnectionID: conn,
		Evidence: Evidence{Text: "double opt-in reminder", Provider: "hub", MessageID: "reminder:" + conn}}
}

// Expired reports whether connection conn's double opt-in request expired.
func (l Ledger) Expired(conn string) bool { return l.expired(conn) }

func (l *Ledger) expired(conn string) bool {
	return slices.ContainsFunc(l.Expirations, func(e Expiry) bool { return e.ConnectionID == conn })
}

// recordExpiry keeps the first expiry of a connection's request; only a
// number pending through it expires.
func (l *Ledger) recordExpiry(ev Event) bool {
	if ev.ConnectionID == "" || ev.At.IsZero() || l.expired(ev.ConnectionID) || l.contribution(ev.ConnectionID) != Pending {
		return false
	}
	l.putExpiry(Expiry{ConnectionID: ev.ConnectionID, At: ev.At})
	return true
}

func (l *Ledger) putExpiry(e Expiry) {
	out := make([]Expiry, 0, len(l.Expirations)+1)
	i := 0
	for i < len(l.Expirations) && l.Expirations[i].ConnectionID < e.ConnectionID {
		i++
	}
	out = append(out, l.Expirations[:i]...)
	out = append(out, e)
	l.Expirations = append(out, l.Expirations[i:]...)
}

// recordReminder records nothing in the ledger itself: the reminder is a
// message (messageDue), due once per number and connection while the
// number waits on the connection's request.
func (l *Ledger) recordReminder(ev Event) bool {
	m := Message{ConnectionID: ev.ConnectionID, Purpose: PurposeDoubleOptInReminder}
	return ev.ConnectionID != "" && !ev.At.IsZero() && !l.wasQueued(m) && l.state() == Pending && l.contribution(ev.ConnectionID) == Pending
}
