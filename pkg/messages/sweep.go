package messages

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

// Sweeper finds due messages whose queue message was lost — a decision
// and its outbox marker were written, and the enqueue after them failed (a
// retry of the same input then sees "unchanged" and enqueues nothing) — and
// enqueues them again. It also brings back unknown sends (to reconcile
// with the provider) and leases whose holder died. The scheduler runs it on
// every tick. Re-enqueueing is safe: the marker's lease decides who sends,
// so a message enqueued twice is still sent once.
type Sweeper struct {
	Store interface {
		SweepOutbox(ctx context.Context, now time.Time, every time.Duration, limit int, each func(store.OutboxEntry) error) (int, error)
	}
	Queue interface {
		Send(ctx context.Context, messages ...any) error
	}
	// Every is how long a swept marker waits before it is swept again
	// (default 10 min, under the scheduler's tick).
	Every time.Duration
	// Limit bounds the messages one sweep enqueues (default 2000).
	Limit int
	Log   *slog.Logger
}

// Sweep enqueues the messages due at now; it returns how many.
func (s *Sweeper) Sweep(ctx context.Context, now time.Time) (int, error) {
	every, limit := cmp.Or(s.Every, 10*time.Minute), cmp.Or(s.Limit, 2000)
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.Queue.Send(ctx, batch...)
		batch = batch[:0]
		return err
	}
	n, err := s.Store.SweepOutbox(ctx, now, every, limit, func(e store.OutboxEntry) error {
		batch = append(batch, FromEntry(e))
		if len(batch) == 10 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if s.Log != nil && n > 0 {
		s.Log.InfoContext(ctx, "outbox sweep: messages enqueued again", "count", n, "err", err)
	}
	return n, err
}
