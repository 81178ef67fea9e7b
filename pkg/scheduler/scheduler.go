// Package scheduler is the daily-pull Lambda's handler: on each EventBridge
// tick it finds every enabled connection whose interval has elapsed, across
// all tenants (the store's sharded due index), and starts a run for each,
// skipping connections whose run is still going.
//
// A run is incremental (changes since the last sync) when the platform
// offers an updated-since filter and the last full sync is recent enough
// (pkg/schedule.Full); otherwise it is full, so deletions are caught at
// least weekly. Due times follow each connection's fixed slots
// (pkg/schedule), and EventBridge ticks every resources.SchedulerTick.
// Starting a run is one transaction and one SQS message, so one invocation
// starts thousands of runs a minute with bounded concurrency; the work
// itself fans out over the pages queue.
//
// Each tick also does the pipeline's housekeeping: it drains the pages DLQ
// (runs whose pages SQS dead-lettered end failed instead of waiting out
// their lock), then sweeps the outbox (due messages whose enqueue was lost
// are enqueued again: messages.Sweeper), then reviews unanswered double
// opt-in requests (their one reminder, their expiry: PendingSweeper,
// pending.go), then makes the daily check of platform webhook subscriptions
// (pkg/hooks: at most hooks.MaxChecksPerTick connections whose last check
// is a day old; missing or disabled subscriptions re-created).
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/hooks"
	"github.com/contactsync/contactsync/pkg/schedule"
	"github.com/contactsync/contactsync/pkg/store"
)

// FullSyncEvery is the longest time between two full syncs of a connection.
const FullSyncEvery = schedule.FullEvery

// ConnectionStore is what the scheduler reads, and the next due time it
// moves when it starts a slot's run.
type ConnectionStore interface {
	ListDueConnections(ctx context.Context, now time.Time, each func(store.DueConnection) error) error
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	ScheduleNext(ctx context.Context, tenant, id string, next time.Time) error
}

// RunStarter starts runs (syncrun.Starter).
type RunStarter interface {
	Start(ctx context.Context, tenant, conn, trigger string, incremental bool, since time.Time) (store.Run, error)
}

// Deps are the handler's collaborators.
type Deps struct {
	Store       ConnectionStore
	Starter     RunStarter
	Now         func() time.Time
	Log         *slog.Logger
	Concurrency int // parallel starts (default 16)
	// DeadPages ends runs whose pages SQS dead-lettered (bulksync.DeadLetters;
	// nil: none).
	DeadPages interface {
		Drain(ctx context.Context) (int, error)
	}
	// Outbox enqueues due messages whose enqueue was lost (messages.Sweeper;
	// nil: none).
	Outbox interface {
		Sweep(ctx context.Context, now time.Time) (int, error)
	}
	// Pending reminds and expires unanswered double opt-in requests
	// (PendingSweeper; nil: none).
	Pending interface {
		Sweep(ctx context.Context, now time.Time) (PendingSummary, error)
	}
	// Webhooks checks the platform webhook subscriptions of connections
	// whose daily check is due (hooks.Keeper; nil: none).
	Webhooks interface {
		CheckDue(ctx context.Context, now time.Time) (hooks.Summary, error)
	}
}

// Handler handles scheduled events.
type Handler struct{ d Deps }

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Concurrency <= 0 {
		d.Concurrency = 16
	}
	return &Handler{d: d}
}

// Summary is what one tick did.
type Summary struct {
	Due     int `json:"due"`
	Started int `json:"started"`
	Skipped int `json:"skipped"` // a run was still in progress
	Failed  int `json:"failed"`
	// DeadPages are pages SQS dead-lettered, recorded so their runs end.
	DeadPages int `json:"deadPages,omitempty"`
	// Swept are outbox messages enqueued again.
	Swept int `json:"swept,omitempty"`
	// Reminded and Expired are unanswered double opt-in requests reminded
	// and expired.
	Reminded int `json:"reminded,omitempty"`
	Expired  int `json:"expired,omitempty"`
	// WebhooksChecked, WebhooksRepaired and WebhooksFailing count the
	// connections whose webhook subscriptions were checked, repaired, or
	// found failing.
	WebhooksChecked  int `json:"webhooksChecked,omitempty"`
	WebhooksRepaired int `json:"webhooksRepaired,omitempty"`
	WebhooksFailing  int `json:"webhooksFailing,omitempty"`
}

// Handle runs one scheduler tick. It fails (so EventBridge retries) only if
// the due connections cannot be listed; single connections that fail to
// start are logged and counted, and the next tick retries them.
func (h *Handler) Handle(ctx context.Context, _ events.EventBridgeEvent) (Summary, error) {
	now := h.d.Now()
	var (
		mu  sync.Mutex
		sum Summary
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, h.d.Concurrency)
	err := h.d.Store.ListDueConnections(ctx, now, func(d store.DueConnection) error {
		mu.Lock()
		sum.Due++
		mu.Unlock()
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outcome := h.start(ctx, d, now)
			mu.Lock()
			defer mu.Unlock()
			switch outcome {
			case started:
				sum.Started++
			case skipped:
				sum.Skipped++
			default:
				sum.Failed++
			}
		}()
		return nil
	})
	wg.Wait()
	// Housekeeping failures are logged, not returned: the next tick does
	// it again, and a retried tick must not start runs twice.
	if h.d.DeadPages != nil {
		n, derr := h.d.DeadPages.Drain(ctx)
		sum.DeadPages = n
		if derr != nil {
			h.d.Log.ErrorContext(ctx, "draining the pages DLQ", "err", derr)
		}
	}
	if h.d.Outbox != nil {
		n, serr := h.d.Outbox.Sweep(ctx, now)
		sum.Swept = n
		if serr != nil {
			h.d.Log.ErrorContext(ctx, "sweeping the outbox", "err", serr)
		}
	}
	if h.d.Pending != nil {
		p, perr := h.d.Pending.Sweep(ctx, now)
		sum.Reminded, sum.Expired = p.Reminded, p.Expired
		if perr != nil {
			h.d.Log.ErrorContext(ctx, "reviewing pending double opt-in requests", "err", perr)
		}
	}
	if h.d.Webhooks != nil {
		w, werr := h.d.Webhooks.CheckDue(ctx, now)
		sum.WebhooksChecked, sum.WebhooksRepaired, sum.WebhooksFailing = w.Checked, w.Repaired, w.Failing
		if werr != nil {
			h.d.Log.ErrorContext(ctx, "checking webhook subscriptions", "err", werr)
		}
	}
	h.d.Log.InfoContext(ctx, "scheduler tick", "webhooksChecked", sum.WebhooksChecked, "webhooksRepaired", sum.WebhooksRepaired, "due", sum.Due, "started", sum.Started, "skipped", sum.Skipped, "failed", sum.Failed,
		"deadPages", sum.DeadPages, "swept", sum.Swept, "reminded", sum.Reminded, "expired", sum.Expired)
	return sum, err
}

type outcome int

const (
	started outcome = iota + 1
	skipped
	failed
)

func (h *Handler) start(ctx context.Context, d store.DueConnection, now time.Time) outcome {
	conn, err := h.d.Store.GetConnection(ctx, d.TenantID, d.ConnectionID)
	if err != nil {
		h.d.Log.ErrorContext(ctx, "reading due connection", "tenant", d.TenantID, "connection", d.ConnectionID, "err", err)
		return failed
	}
	if !conn.Enabled || conn.Status != "" {
		// Disabled, a draft, or needing a new authorisation (such a
		// connection is also out of the due index).
		return skipped
	}
	incremental := !schedule.Full(conn.LastSyncAt, conn.LastFullSyncAt, now, conn.SyncIntervalHours)
	_, err = h.d.Starter.Start(ctx, d.TenantID, d.ConnectionID, store.TriggerSchedule, incremental, conn.LastSyncAt)
	var busy *store.RunInProgressError
	if errors.As(err, &busy) {
		h.d.Log.InfoContext(ctx, "run still in progress: skipped", "tenant", d.TenantID, "connection", d.ConnectionID, "run", busy.RunID)
		return skipped
	}
	if err != nil {
		h.d.Log.ErrorContext(ctx, "starting scheduled run", "tenant", d.TenantID, "connection", d.ConnectionID, "err", err)
		return failed
	}
	// The slot's run is under way: the next slot is next (the run's end
	// sets the same, pkg/schedule), so a run that fails is retried at the
	// next slot rather than at every tick.
	next := schedule.AfterStart(d.TenantID, d.ConnectionID, conn.SyncIntervalHours, now)
	if err := h.d.Store.ScheduleNext(ctx, d.TenantID, d.ConnectionID, next); err != nil {
		h.d.Log.ErrorContext(ctx, "scheduling the next sync", "tenant", d.TenantID, "connection", d.ConnectionID, "err", err)
	}
	return started
}
