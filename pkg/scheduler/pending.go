package scheduler

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/store"
)

// PendingStore is what the PendingSweeper reads and writes.
type PendingStore interface {
	SweepPending(ctx context.Context, now time.Time, limit int, each func(store.PendingRequest) (time.Time, bool, error)) (int, error)
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	UpdateLedger(ctx context.Context, tenant, e164 string, fn func(store.PhoneRecord) (store.LedgerUpdate, error)) (store.PhoneRecord, error)
}

// PendingSweeper looks after double opt-in requests that are never
// answered (issue 18 item 7): on each scheduler tick it finds the numbers
// whose request is due a look (store.SweepPending), sends the connection's
// one reminder when it is due (an outbox message with its own purpose,
// written with the ledger so it is sent at most once) and, after the
// connection's doubleOptInExpiryDays, moves the number to not_subscribed
// with a consent history entry (event double_opt_in_expired). The decisions
// are consent.Ledger.ReviewPending's.
type PendingSweeper struct {
	Store PendingStore
	Queue interface {
		Send(ctx context.Context, messages ...any) error
	}
	// Limit bounds the requests one sweep looks at (default 500: the tick
	// also starts runs and sweeps the outbox within its minute; the rest
	// wait for the next tick).
	Limit int
	Log   *slog.Logger
}

// PendingSummary is what one sweep did.
type PendingSummary struct {
	Looked, Reminded, Expired int
}

// Sweep looks at the requests due at now.
func (p *PendingSweeper) Sweep(ctx context.Context, now time.Time) (PendingSummary, error) {
	limit := cmp.Or(p.Limit, 500)
	var sum PendingSummary
	conns := map[string]*store.Connection{} // read once per sweep; nil: gone
	n, err := p.Store.SweepPending(ctx, now, limit, func(r store.PendingRequest) (time.Time, bool, error) {
		k := r.TenantID + "/" + r.ConnectionID
		c, seen := conns[k]
		if !seen {
			got, err := p.Store.GetConnection(ctx, r.TenantID, r.ConnectionID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return time.Time{}, false, err
			default:
				c = &got
			}
			conns[k] = c
		}
		if c == nil {
			return time.Time{}, true, nil // the connection is gone: nothing to expire for it
		}
		conn := *c
		policy := consent.PendingPolicy{ExpiryDays: conn.DoubleOptInExpiryDays, ReminderDays: conn.DoubleOptInReminderDays}
		var (
			review consent.PendingReview
			msgs   []messages.Outbox
		)
		_, err := p.Store.UpdateLedger(ctx, r.TenantID, r.Phone, func(rec store.PhoneRecord) (store.LedgerUpdate, error) {
			msgs = nil
			review = rec.Ledger.ReviewPending(r.ConnectionID, policy, now)
			var ev consent.Event
			switch review.Action {
			case consent.PendingExpire:
				ev = consent.ExpiredEvent(r.ConnectionID, now)
			case consent.PendingRemind:
				ev = consent.ReminderEvent(r.ConnectionID, now)
			default:
				return store.LedgerUpdate{}, nil
			}
			l, ch := rec.Ledger.Apply(ev)
			upd := store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}
			if ch.StateChanged() {
				upd.History = append(upd.History, store.HistoryEntry{At: now, EventID: string(ch.Kind) + "-" + r.ConnectionID, Kind: "consent_change",
					Detail: map[string]string{"from": string(ch.From), "to": string(ch.To), "event": string(ch.Kind), "connectionId": r.ConnectionID,
						"requestAt": review.RequestAt.UTC().Format(time.RFC3339), "provider": "hub"}})
			}
			for _, m := range ch.MessagesDue {
				msgs = append(msgs, messages.SMS(r.TenantID, m))
			}
			upd.Outbox = messages.Entries(msgs)
			return upd, nil
		})
		if err != nil {
			return time.Time{}, false, err
		}
		switch review.Action {
		case consent.PendingExpire:
			sum.Expired++
			return time.Time{}, true, nil
		case consent.PendingDone:
			return time.Time{}, true, nil
		case consent.PendingRemind:
			sum.Reminded += len(msgs)
		}
		if len(msgs) > 0 {
			// The markers are written: a lost enqueue is found by the
			// outbox sweeper.
			if err := p.Queue.Send(ctx, messages.Values(msgs)...); err != nil && p.Log != nil {
				p.Log.ErrorContext(ctx, "enqueuing a double opt-in reminder", "tenant", r.TenantID, "err", err)
			}
		}
		return review.Next, false, nil
	})
	sum.Looked = n
	if p.Log != nil && n > 0 {
		p.Log.InfoContext(ctx, "pending double opt-in requests looked at", "looked", n, "reminded", sum.Reminded, "expired", sum.Expired, "err", err)
	}
	return sum, err
}
