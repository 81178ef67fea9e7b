// Package syncrun defines the bulk-sync page protocol and starts runs.
//
// # Page protocol
//
// A run is driven by messages on the pages queue, each one Message:
//
//   - Kind "plan" (one per run): the bulksync consumer asks the connector for
//     its page plan. Fan-out platforms (page numbers, offsets, byte ranges)
//     get every page enqueued at once and the run's PagesTotal set to their
//     number; chained platforms (cursors) get their first page enqueued and
//     PagesTotal = 1.
//   - Kind "page": fetch the page at Cursor, merge and apply its records,
//     then record it on the run exactly once (store.RecordPage, keyed by
//     PageID). A chained page with a next cursor enqueues the next page and
//     adds one to PagesTotal in the same conditional write that counts it.
//
// The run is finished when PagesDone reaches PagesTotal after the plan was
// set; whoever records the last page calls store.FinishRun, which finalises
// exactly once. A message is a few hundred bytes (cursors are short), far
// under SQS's 256 KiB. The pages queue's visibility timeout is six times the
// consumer's timeout (pkg/resources), which bounds the slowest page.
package syncrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Message kinds.
const (
	KindPlan = "plan"
	KindPage = "page"
)

// Message is one pages-queue message.
type Message struct {
	V            int           `json:"v"`
	Kind         string        `json:"kind"`
	TenantID     string        `json:"tenantId"`
	ConnectionID string        `json:"connectionId"`
	RunID        string        `json:"runId"`
	Incremental  bool          `json:"incremental,omitempty"`
	Since        time.Time     `json:"since,omitzero"`
	Cursor       source.Cursor `json:"cursor,omitempty"`
	PageID       string        `json:"pageId,omitempty"`
	// Attempt counts re-enqueues by our own code (not SQS receives).
	Attempt int `json:"attempt,omitempty"`
	// Resume is a plan message's source.NotReadyError token: the work the
	// platform is preparing for this plan (a Shopify bulk operation id).
	Resume string `json:"resume,omitempty"`
}

// Validate checks a decoded message.
func (m Message) Validate() error {
	switch {
	case m.V != 1:
		return fmt.Errorf("unsupported message version %d", m.V)
	case m.TenantID == "" || m.ConnectionID == "" || m.RunID == "":
		return errors.New("message lacks tenant, connection or run")
	case m.Kind == KindPlan:
		return nil
	case m.Kind == KindPage && m.PageID != "":
		return nil
	}
	return fmt.Errorf("invalid message kind %q or missing page id", m.Kind)
}

// PageMessage returns the message for one page of a run.
func PageMessage(plan Message, cur source.Cursor) Message {
	m := plan
	m.Kind = KindPage
	m.Cursor = cur
	m.PageID = PageID(cur)
	m.Attempt = 0
	return m
}

// PageID is the stable id of the page at cur (a cursor fetched twice is the
// same page, so it is counted once).
func PageID(cur source.Cursor) string {
	sum := sha256.Sum256([]byte(cur))
	return hex.EncodeToString(sum[:12])
}

// Sender enqueues messages on the pages queue.
type Sender interface {
	Send(ctx context.Context, messages ...any) error
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
	msg := Message{V: 1, Kind: KindPlan, TenantID: r.TenantID, ConnectionID: r.ConnectionID, RunID: run.ID, Incremental: r.Incremental, Since: r.Since}
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
