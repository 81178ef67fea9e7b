package bulksync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Sources builds (or returns a cached) client for a connection. Clients
// must be reused across pages of one connection so they share its rate
// budget.
type Sources interface {
	Source(ctx context.Context, conn store.Connection) (source.Source, error)
}

// Store is what the handler needs from the store.
type Store interface {
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	GetRun(ctx context.Context, tenant, runID string) (store.Run, error)
	SetPlan(ctx context.Context, tenant, runID string, pages, expected int) error
	PageRecorded(ctx context.Context, tenant, runID, pageID string) (bool, error)
	ChainPage(ctx context.Context, tenant, runID, pageID, nextPageID string) error
	ChainedNext(ctx context.Context, tenant, runID, pageID string) (string, error)
	ApplyRecords(ctx context.Context, t store.Target, recs []source.Record, now time.Time) ([]store.Applied, error)
	RecordPage(ctx context.Context, p store.PageResult, lockFor time.Duration) (bool, bool, error)
	FinishRun(ctx context.Context, tenant, runID string) (store.Run, error)
	MarkSynced(ctx context.Context, tenant, id string, at time.Time, full bool) error
	// Write-backs of opt-outs (writeback.go).
	PutOutbox(ctx context.Context, entries ...store.OutboxEntry) error
	LeaseOutbox(ctx context.Context, tenant, ref string, lease time.Duration) (store.OutboxLease, error)
	FinishOutbox(ctx context.Context, tenant, ref string, r store.OutboxResult) error
	StaleLink(ctx context.Context, tenant, conn, externalID string) error
	NoteWriteBackUnsupported(ctx context.Context, tenant, runID string) error
	// Complete groups (source.Plan.CompleteGroups, see groups.go).
	SetCompleteGroups(ctx context.Context, tenant, runID string, groups []string) error
	AssertGroups(ctx context.Context, tenant, runID string, recs []source.Record, complete []string) error
	Asserted(ctx context.Context, tenant, runID string, extIDs, groups []string) (map[string]bool, error)
	MarkIncomplete(ctx context.Context, tenant, runID string, groups []string) error
	DeferOutOfScope(ctx context.Context, tenant, runID, pageID string, ids []string) error
	ListDeferred(ctx context.Context, tenant, runID, cursor string) ([]store.Deferred, string, error)
	RemoveLeavers(ctx context.Context, t store.Target, run store.Run, now time.Time) (int, error)
	ClaimRunEnd(ctx context.Context, tenant, runID, holder string, d time.Duration) error
	// The page window's stored cursors (window.go).
	SaveFanout(ctx context.Context, tenant, runID string, from int, cursors []source.Cursor) error
	FanoutCursors(ctx context.Context, tenant, runID string, from, to int) ([]source.Cursor, error)
}

// Sender enqueues JSON messages.
type Sender interface {
	Send(ctx context.Context, messages ...any) error
	SendDelayed(ctx context.Context, delay time.Duration, messages ...any) error
}

// Deps are the handler's collaborators.
type Deps struct {
	Store      Store
	Sources    Sources
	Pages      Sender // the pages queue (next pages, fan-out)
	Outbox     Sender // due SMS
	DeadLetter Sender // the pages DLQ, for permanent failures
	Now        func() time.Time
	Log        *slog.Logger
	// MaxReceives is the queue's maxReceiveCount: on that receive a failing
	// page is recorded dead instead of being retried (default
	// resources.MaxReceiveCount).
	MaxReceives int
	LockFor     time.Duration // run lock extension per page (default 6 h)
	// Concurrency is how many messages of one batch are processed in
	// parallel (default: the event source's batch size, so that every
	// message of a batch starts at once with its whole deadline).
	Concurrency int
	// MessageTimeout is each message's deadline (default three quarters of
	// the function's timeout, resources.MessageTimeout, and never later than
	// the invocation's deadline minus the time to record a failure): a page
	// that hangs on its platform fails and is retried instead of using up
	// the invocation.
	MessageTimeout time.Duration
	// Notify tells the hub a run ended (sync.completed, sync.failed; nil:
	// nothing is told).
	Notify *notify.Notifier
	// PageWindow is how many pages of one run the pages queue holds at
	// once (window.go; default the function's resources.PageWindow,
	// negative: every page is enqueued by the plan, no window).
	PageWindow int
	// Prices prices a dry run's messages (default messages.Prices{}: the
	// default templates; compose gives it the store and the sealer, so the
	// tenant's own templates count).
	Prices Pricer
}

// Pricer tells what one message of each purpose would cost a tenant
// (messages.Prices).
type Pricer interface {
	Credits(ctx context.Context, tenant string) (func(consent.Purpose) int, error)
}

// Handler handles page messages.
type Handler struct{ d Deps }

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.MaxReceives == 0 {
		d.MaxReceives = resources.MaxReceiveCount
	}
	if d.LockFor == 0 {
		d.LockFor = 6 * time.Hour
	}
	if d.Concurrency == 0 {
		f, _ := resources.FunctionByName("bulksync")
		d.Concurrency = max(f.EventSource.BatchSize, 1)
	}
	if d.MessageTimeout == 0 {
		d.MessageTimeout = resources.MessageTimeout("bulksync")
	}
	if d.Prices == nil {
		d.Prices = messages.Prices{}
	}
	if d.PageWindow == 0 {
		f, _ := resources.FunctionByName("bulksync")
		d.PageWindow = f.PageWindow
	}
	return &Handler{d: d}
}

// Handle processes a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, h.d.Concurrency)
	for _, rec := range ev.Records {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := h.handleMessage(ctx, rec); err != nil {
				mu.Lock()
				failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

func (h *Handler) handleMessage(ctx context.Context, rec events.SQSMessage) error {
	var m messages.Page
	if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.Validate() != nil {
		// Poison: nothing identifies a run to record it on. Dead-letter it.
		h.d.Log.ErrorContext(ctx, "invalid page message: dead-lettered", "messageId", rec.MessageId)
		return h.deadLetter(ctx, rec.Body, "invalid page message")
	}
	log := h.d.Log.With("tenant", m.TenantID, "connection", m.ConnectionID, "run", m.RunID, "kind", m.Kind, "page", m.PageID)
	var err error
	nextSent := false // this attempt enqueued the page after m
	work, cancel := context.WithTimeout(ctx, messageTimeout(ctx, h.d.MessageTimeout, recordBudget))
	defer cancel()
	if m.Kind == messages.KindPlan {
		err = h.plan(work, m)
	} else {
		nextSent, err = h.page(work, m, log)
	}
	if err == nil {
		return nil
	}
	// What follows records the failure, with time of its own: the
	// message's deadline may be what failed it.
	ctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), recordBudget)
	defer cancelRecord()
	receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if !errors.Is(err, source.ErrPermanent) && receives < h.d.MaxReceives {
		log.WarnContext(ctx, "page failed: will be retried", "receive", receives, "err", err)
		return err
	}
	reason := err.Error()
	if len(reason) > 300 {
		reason = reason[:300]
	}
	log.ErrorContext(ctx, "page failed permanently: dead-lettered", "receive", receives, "err", err)
	if err := h.failPage(ctx, m, reason, nextSent); err != nil {
		return err
	}
	return h.deadLetter(ctx, rec.Body, reason)
}

// recordBudget is the time recording a failed message may take after the
// message's own deadline passed.
var recordBudget = resources.MessageReserve("bulksync")

// messageTimeout is a message's deadline: d, or less so that reserve is left
// before the invocation's own deadline.
func messageTimeout(ctx context.Context, d, reserve time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		d = max(min(d, time.Until(dl)-reserve), 0)
	}
	return d
}

// failPage records m's page (or plan) as dead with reason, and the page
// after it too when m counted it and nextSent says no attempt enqueued it;
// the run finishes (failed) when that was its last page.
func (h *Handler) failPage(ctx context.Context, m messages.Page, reason string, nextSent bool) error {
	pageID := m.PageID
	if m.Kind == messages.KindPlan {
		pageID = "plan"
		if perr := h.d.Store.SetPlan(ctx, m.TenantID, m.RunID, 1, -1); perr != nil {
			return perr
		}
	}
	if m.Kind == messages.KindPage && !nextSent {
		// Its chain ends here (the page after it is closed below): the
		// window's next page still runs, enqueued before this one is
		// counted so that a crash in between cannot lose it.
		if err := h.releaseNext(ctx, m); err != nil {
			return err
		}
	}
	if err := h.recordDead(ctx, m, pageID, reason); err != nil {
		return err
	}
	if m.Kind == messages.KindPage && !nextSent {
		// This page counted the page after it, and no attempt of it that
		// is still running enqueued that page: close it too, or the run
		// would wait for it until its lock expired. (An earlier attempt
		// that did enqueue it had it recorded long before this one.)
		next, err := h.d.Store.ChainedNext(ctx, m.TenantID, m.RunID, m.PageID)
		if err != nil {
			return err
		}
		if next != "" {
			recorded, err := h.d.Store.PageRecorded(ctx, m.TenantID, m.RunID, next)
			if err != nil {
				return err
			}
			if !recorded {
				if err := h.recordDead(ctx, m, next, "not fetched: the page before it was dead-lettered"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// recordDead records a page of m's run as dead with reason, and finishes
// the run when that was its last page — the way a recorded page does
// (finish: the run-end group work first, which a run with a dead page
// skips). A redelivered copy of a page already recorded (a slow page
// whose message became visible again and went past its receives) can be
// the one that sees the run done: finishing it here without the run-end
// work completed the run without removing its group leavers.
func (h *Handler) recordDead(ctx context.Context, m messages.Page, pageID, reason string) error {
	_, done, err := h.d.Store.RecordPage(ctx, store.PageResult{TenantID: m.TenantID, RunID: m.RunID, PageID: pageID, DeadReason: reason}, h.d.LockFor)
	if err != nil || !done {
		return err
	}
	return h.finish(ctx, m)
}

func (h *Handler) deadLetter(ctx context.Context, body, reason string) error {
	if h.d.DeadLetter == nil {
		return errors.New("no dead-letter queue configured") // leave it to SQS's redrive
	}
	dl := deadLetter{Reason: reason}
	if json.Valid([]byte(body)) {
		dl.Message = json.RawMessage(body)
	} else {
		dl.Body = body // not JSON: kept as received (RawMessage would not encode)
	}
	return h.d.DeadLetter.Send(ctx, dl)
}

// deadLetter is what the DLQ receives: the reason and the message.
type deadLetter struct {
	Reason  string          `json:"reason"`
	Message json.RawMessage `json:"message,omitempty"`
	Body    string          `json:"body,omitempty"`
}

func (h *Handler) source(ctx context.Context, m messages.Page) (store.Connection, source.Source, error) {
	conn, err := h.d.Store.GetConnection(ctx, m.TenantID, m.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return conn, nil, fmt.Errorf("%w: the connection was deleted", source.ErrPermanent)
	}
	if err != nil {
		return conn, nil, err
	}
	src, err := h.d.Sources.Source(ctx, conn)
	if err != nil {
		return conn, nil, err
	}
	return conn, src, nil
}

// plan asks the connector for the run's pages and enqueues them.
func (h *Handler) plan(ctx context.Context, m messages.Page) error {
	run, err := h.d.Store.GetRun(ctx, m.TenantID, m.RunID)
	if err != nil || run.Status != store.RunRunning {
		return err // finished or expired runs need nothing more
	}
	_, src, err := h.source(ctx, m)
	if err != nil {
		return err
	}
	var plan source.Plan
	r, resumable := src.(source.Resumer)
	switch {
	case m.Incremental:
		plan, err = src.PlanIncremental(ctx, m.Since)
	case m.Resume != "" && resumable:
		plan, err = r.ResumePlan(ctx, m.Resume)
	default:
		plan, err = src.PlanBulk(ctx)
	}
	if nr := (*source.NotReadyError)(nil); errors.As(err, &nr) {
		// The platform is still preparing the listing (a bulk export):
		// ask again later, resuming that work, without spending one of
		// the message's receives. The run's lock bounds how long.
		h.d.Log.InfoContext(ctx, "plan not ready: asking again later", "tenant", m.TenantID, "run", m.RunID,
			"after", nr.RetryAfter, "reason", nr.Reason)
		next := m
		next.Resume = nr.Resume
		return h.d.Pages.SendDelayed(ctx, nr.RetryAfter, next)
	}
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	expected := plan.Total
	if m.Incremental || plan.Chained {
		expected = -1 // an incremental total is not a completeness bound
	}
	if !m.Incremental && len(plan.CompleteGroups) > 0 {
		// Before the plan is set: a page never runs without them.
		if err := h.d.Store.SetCompleteGroups(ctx, m.TenantID, m.RunID, plan.CompleteGroups); err != nil {
			return err
		}
	}
	// The pages past the run's window wait in the store (window.go),
	// saved before any page can need them.
	msgs, err := h.windowed(ctx, m, plan.Fanout)
	if err != nil {
		return err
	}
	if err := h.d.Store.SetPlan(ctx, m.TenantID, m.RunID, len(plan.Fanout), expected); err != nil {
		return err
	}
	if len(plan.Fanout) == 0 {
		return h.finish(ctx, m)
	}
	return h.d.Pages.Send(ctx, msgs...)
}

// page fetches, merges and records one page; nextSent reports whether it
// enqueued the next page of a chained listing.
func (h *Handler) page(ctx context.Context, m messages.Page, log *slog.Logger) (nextSent bool, err error) {
	run, err := h.d.Store.GetRun(ctx, m.TenantID, m.RunID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && run.Status != store.RunRunning) {
		return nextSent, nil // the run is over (or expired): nothing to do
	}
	if err != nil {
		return nextSent, err
	}
	if done, err := h.d.Store.PageRecorded(ctx, m.TenantID, m.RunID, m.PageID); err != nil || done {
		if err == nil && run.Planned && run.PagesDone >= run.PagesTotal {
			// A duplicate delivery of the last page: the attempt that
			// counted it may have stopped while finishing the run (its
			// complete groups' leavers are removed then); finish it.
			return nextSent, h.finish(ctx, m)
		}
		return nextSent, err // a duplicate delivery of a page already counted
	}
	conn, src, err := h.source(ctx, m)
	if err != nil {
		return nextSent, err
	}
	pg, err := src.FetchPage(ctx, m.Cursor)
	if err != nil {
		return nextSent, fmt.Errorf("fetching page: %w", err)
	}
	if pg.Next != "" {
		// Count and enqueue the next page now, so fetching it overlaps
		// applying this one (a retry of this page re-sends it: the copy is
		// the same page id, counted once).
		next := messages.PageMessage(m, pg.Next)
		if err := h.d.Store.ChainPage(ctx, m.TenantID, m.RunID, m.PageID, next.PageID); err != nil {
			return nextSent, err
		}
		if err := h.d.Pages.Send(ctx, next); err != nil {
			return nextSent, fmt.Errorf("enqueuing next page: %w", err)
		}
		nextSent = true
	}
	complete := completeGroups(run)
	if len(complete) > 0 {
		if len(pg.Incomplete) > 0 {
			if err := h.d.Store.MarkIncomplete(ctx, m.TenantID, m.RunID, pg.Incomplete); err != nil {
				return nextSent, err
			}
		}
		if pg.Records, err = h.deferOutOfScope(ctx, m, pg.Records); err != nil {
			return nextSent, err
		}
	}
	now := h.d.Now()
	// A dry run (run.DryRun) takes the same decisions in its scratch
	// space: nothing is written, no message is queued, nothing is written
	// back, and the report says what would be (messages, and their
	// credits).
	applied, err := h.d.Store.ApplyRecords(ctx, store.Target{TenantID: m.TenantID, Conn: store.MergeConnection(conn), RunID: m.RunID,
		WriteBack: conn.WriteBackOptOuts && !run.DryRun, DryRun: run.DryRun}, pg.Records, now)
	if err != nil {
		return nextSent, fmt.Errorf("applying page: %w", err)
	}
	if len(complete) > 0 {
		// Before the page is recorded: the run's end reads them.
		if err := h.d.Store.AssertGroups(ctx, m.TenantID, m.RunID, pg.Records, complete); err != nil {
			return nextSent, err
		}
	}
	res, due, err := h.pageResult(ctx, m, run.DryRun, pg.Records, applied)
	if err != nil {
		return nextSent, err
	}
	if len(due) > 0 && h.d.Outbox != nil {
		if err := h.d.Outbox.Send(ctx, due...); err != nil {
			return nextSent, fmt.Errorf("enqueuing messages: %w", err)
		}
	}
	if err := h.writeBacks(ctx, m, conn, src, pg.Records, applied, &res, log); err != nil {
		return nextSent, fmt.Errorf("writing opt-outs back: %w", err)
	}
	if pg.Next == "" {
		// The page ends its chain (or is a fan-out page): the run's next
		// page in its window is enqueued as it finishes, before it is
		// counted, so a retry re-sends it (the same page id, counted once).
		if err := h.releaseNext(ctx, m); err != nil {
			return nextSent, fmt.Errorf("enqueuing the window's next page: %w", err)
		}
	}
	return h.recordPage(ctx, m, log, res, nextSent)
}

// pageResult counts a page's applied records and lists their report rows
// and the messages that became due (none in a dry run, whose messages are
// counted and priced instead).
func (h *Handler) pageResult(ctx context.Context, m messages.Page, dry bool, recs []source.Record, applied []store.Applied) (store.PageResult, []any, error) {
	res := store.PageResult{TenantID: m.TenantID, RunID: m.RunID, PageID: m.PageID}
	var due []any
	var would []consent.Purpose // a dry run's messages
	for i, a := range applied {
		if recs[i].OutOfScope {
			// Left out by the connection's scope: counted and listed as
			// such, whether or not it took this source from a contact (it
			// is applied as a delete: no message is ever due).
			res.Counts.Seen++
			res.Counts.OutOfScope++
			res.Rows = append(res.Rows, outOfScopeRow(recs[i], a.Decision))
			continue
		}
		res.Counts.Seen++
		row := store.NewReportRow(recs[i], a.Decision, a.Identity)
		switch a.Decision.Outcome {
		case merge.Created:
			res.Counts.Created++
		case merge.Updated:
			res.Counts.Updated++
		case merge.Invalid:
			res.Counts.Invalid++
		case merge.Skipped: // a partial record before its source record is linked
			res.Counts.Skipped++
		default:
			res.Counts.Unchanged++
			row = store.ReportRow{} // unchanged records are counted, not listed
		}
		if a.Pending && (a.Decision.Outcome == merge.Created || a.Decision.Outcome == merge.Updated) {
			// Created or updated, and waiting for a YES: out of the
			// audience until then (double opt-in).
			res.Counts.PendingConfirmation++
			row.Consent = "pending_confirmation"
		}
		if row.Outcome != "" {
			res.Rows = append(res.Rows, row)
		}
		// Messages this run made due: now, or when this page was applied
		// before (a redelivery: counted again, their markers are written).
		purposes := a.Counted
		for _, msg := range a.Messages {
			purposes = append(purposes, msg.Purpose)
			if !dry {
				due = append(due, outboxMessage(m.TenantID, msg))
			}
		}
		res.Counts.Messages += len(purposes)
		for _, p := range purposes {
			switch p {
			case consent.PurposeConfirmation:
				res.Counts.Confirmations++
			case consent.PurposeDoubleOptInRequest:
				res.Counts.DoubleOptInRequests++
			}
		}
		if dry {
			would = append(would, purposes...)
		}
	}
	if len(would) > 0 {
		price, err := h.d.Prices.Credits(ctx, m.TenantID)
		if err != nil {
			return res, nil, fmt.Errorf("pricing messages: %w", err)
		}
		for _, p := range would {
			res.Counts.Credits += price(p)
		}
	}
	return res, due, nil
}

// recordPage records the page's result and finishes the run when it was
// the last page.
func (h *Handler) recordPage(ctx context.Context, m messages.Page, log *slog.Logger, res store.PageResult, nextSent bool) (bool, error) {
	counted, done, err := h.d.Store.RecordPage(ctx, res, h.d.LockFor)
	if err != nil {
		return nextSent, err
	}
	log.InfoContext(ctx, "page applied", "records", res.Counts.Seen, "created", res.Counts.Created, "updated", res.Counts.Updated,
		"unchanged", res.Counts.Unchanged, "invalid", res.Counts.Invalid, "outOfScope", res.Counts.OutOfScope, "counted", counted)
	if done {
		return nextSent, h.finish(ctx, m)
	}
	return nextSent, nil
}

func (h *Handler) finish(ctx context.Context, m messages.Page) error {
	if err := h.endGroups(ctx, m); err != nil {
		return err
	}
	run, err := h.d.Store.FinishRun(ctx, m.TenantID, m.RunID)
	if err != nil {
		return err
	}
	h.notifyFinished(ctx, run)
	if run.Status == store.RunCompleted && !run.DryRun {
		return h.d.Store.MarkSynced(ctx, m.TenantID, m.ConnectionID, run.StartedAt, !run.Incremental)
	}
	return nil
}

// notifyFinished tells the hub a run ended. Whoever finishes a run (or
// sees it finished, on a retry) emits; the event's id is the run's, so it
// is stored and sent once. A failure is logged: it never fails the page.
func (h *Handler) notifyFinished(ctx context.Context, run store.Run) {
	if ev, ok := notify.RunFinished(run); ok {
		h.d.Notify.EmitLogged(ctx, run.TenantID, ev)
	}
}

// OutcomeOutOfScope is the report outcome of a record the connection's
// scope leaves out (source.Record.OutOfScope).
const OutcomeOutOfScope = "out_of_scope"

// Reasons of out_of_scope rows.
const (
	// ReasonNotSelected: the record is in none of the selected tags.
	ReasonNotSelected = "not_in_selected_tags"
)

// outOfScopeRow is the report row of an out-of-scope record: the merge's
// reason when it took the source from a contact (source_removed, or
// contact_deleted when nothing else kept the contact), not_in_selected_tags
// otherwise.
func outOfScopeRow(rec source.Record, d merge.Decision) store.ReportRow {
	row := store.ReportRow{ExternalID: rec.ExternalID, Outcome: OutcomeOutOfScope, Reason: ReasonNotSelected}
	if d.Outcome == merge.Updated {
		row.Reason, row.ContactID = string(d.Reason), d.ContactID
	}
	return row
}

func outboxMessage(tenant string, msg consent.Message) messages.Outbox {
	return messages.SMS(tenant, msg)
}
