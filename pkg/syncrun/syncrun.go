// Package syncrun starts runs: it takes the connection's lock (a run
// record) and enqueues the run's plan message on the pages queue, the first
// message of the page protocol (messages.Page, described in pkg/messages).
// Every way of starting a run (sync now, install, the scheduler,
// activation) goes through Starter.
package syncrun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/store"
)

// Sender enqueues messages on the pages queue.
type Sender interface {
	Send(ctx context.Context, msgs ...any) error
}

// RunStore is what starting a run needs from the store.
type RunStore interface {
	StartRun(context.Context, store.RunSpec) (store.Run, error)
	SetPlan(ctx context.Context, tenant, runID string, pages, expected int) error
	RecordPage(ctx context.Context, p store.PageResult, lockFor time.Duration) (bool, bool, error)
	FinishRun(ctx context.Context, tenant, runID string) (store.Run, error)
}

// Starter starts runs: it takes the connection's lock and enqueues the plan
// message.
type Starter struct {
	Store   RunStore
	Pages   Sender
	LockFor time.Duration
}

// Request is what a run is asked for: whose, why, what to list, and
// whether it is a dry run (it then reports what it would do — its counts,
// the messages and credits it would send — and changes nothing:
// store.Target.DryRun). Every way of starting a run (sync now, install,
// the scheduler, activation) is one Request.
type Request struct {
	TenantID     string
	ConnectionID string
	Trigger      string
	Incremental  bool
	Since        time.Time
	DryRun       bool
}

// Start starts a run of conn; *store.RunInProgressError when one is going.
func (s Starter) Start(ctx context.Context, tenant, conn, trigger string, incremental bool, since time.Time) (store.Run, error) {
	return s.StartRequest(ctx, Request{TenantID: tenant, ConnectionID: conn, Trigger: trigger, Incremental: incremental, Since: since})
}

// StartRequest starts the run r asks for; *store.RunInProgressError when
// the connection has one going (a dry run included: it holds the lock
// like any run). If the plan message cannot be enqueued the run is failed
// at once (and its lock released) so the connection is not blocked until
// the lock expires.
func (s Starter) StartRequest(ctx context.Context, r Request) (store.Run, error) {
	run, err := s.Store.StartRun(ctx, store.RunSpec{
		TenantID: r.TenantID, ConnectionID: r.ConnectionID, Trigger: r.Trigger, Incremental: r.Incremental, Since: r.Since,
		LockFor: s.LockFor, DryRun: r.DryRun,
	})
	if err != nil {
		return store.Run{}, err
	}
	msg := messages.Page{V: 1, Kind: messages.KindPlan, TenantID: r.TenantID, ConnectionID: r.ConnectionID, RunID: run.ID, Incremental: r.Incremental, Since: r.Since}
	if err := s.Pages.Send(ctx, msg); err != nil {
		return run, errors.Join(fmt.Errorf("enqueuing run plan: %w", err), s.abandon(ctx, r.TenantID, run.ID, "could not enqueue the run's plan"))
	}
	return run, nil
}

// abandon fails a run that never got going: one dead page, then finish.
func (s Starter) abandon(ctx context.Context, tenant, runID, reason string) error {
	if err := s.Store.SetPlan(ctx, tenant, runID, 1, -1); err != nil {
		return err
	}
	if _, _, err := s.Store.RecordPage(ctx, store.PageResult{TenantID: tenant, RunID: runID, PageID: "plan", DeadReason: reason}, time.Minute); err != nil {
		return err
	}
	_, err := s.Store.FinishRun(ctx, tenant, runID)
	return err
}
