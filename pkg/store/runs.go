package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Run statuses.
const (
	RunRunning   = "running"
	RunCompleted = "completed"
	RunFailed    = "failed"
)

// Run triggers.
const (
	TriggerInstall  = "install"
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// Counts are a run's outcome counters. A run adds up when Seen equals the
// sum of the outcomes.
type Counts struct {
	Seen      int `dynamodbav:"seen" json:"-"`
	Created   int `dynamodbav:"created" json:"created"`
	Updated   int `dynamodbav:"updated" json:"updated"`
	Unchanged int `dynamodbav:"unchanged" json:"unchanged"`
	Invalid   int `dynamodbav:"invalid" json:"invalid"`
	Skipped   int `dynamodbav:"skipped" json:"skipped,omitempty"`
	// OutOfScope counts records the connection's scope left out (members
	// in none of its selected tags); a linked one lost this source.
	OutOfScope int `dynamodbav:"outOfScope" json:"out_of_scope,omitempty"`
	// Messages counts SMS queued by the run (a dry run: that it would
	// queue).
	Messages int `dynamodbav:"messages" json:"messages,omitempty"`
	// PendingConfirmation counts created or updated records whose contact
	// waits for a YES (double opt-in): informational, they are also
	// counted as created or updated, and kept out of the audience.
	PendingConfirmation int `dynamodbav:"pendingConfirmation" json:"pending_confirmation,omitempty"`
	// WrittenBack and WriteBackFailed count the opt-outs the run wrote
	// back to source records that still showed an unsubscribed number
	// subscribed (writeBackOptOuts), and those the platform refused (each
	// with a report row and its reason; tried again by the next sync).
	// WriteBackUnsupported is 1 when such records were seen but the
	// connector cannot write opt-outs back (Mailchimp): once per run.
	// Informational, like Messages.
	WrittenBack          int `dynamodbav:"writtenBack" json:"written_back,omitempty"`
	WriteBackFailed      int `dynamodbav:"writeBackFailed" json:"write_back_failed,omitempty"`
	WriteBackUnsupported int `dynamodbav:"writeBackUnsupported" json:"write_back_unsupported,omitempty"`
	// Confirmations and DoubleOptInRequests split Messages by purpose
	// (confirmation texts, double opt-in requests).
	Confirmations       int `dynamodbav:"confirmations" json:"confirmations,omitempty"`
	DoubleOptInRequests int `dynamodbav:"doubleOptInRequests" json:"double_opt_in_requests,omitempty"`
	// Credits is what a dry run's messages would cost: the parts each
	// purpose's text is billed as with the tenant's templates
	// (sms.Credits). A real run's credits are counted when sent
	// (GET /v1/usage).
	Credits int `dynamodbav:"credits" json:"credits,omitempty"`
	// GroupsLeft counts the memberships a full run removed because the
	// group's complete listing no longer had the source record
	// (source.Plan.CompleteGroups; report rows updated / left_group):
	// informational, not records, so not part of Seen.
	GroupsLeft int `dynamodbav:"groupsLeft" json:"groups_left,omitempty"`
}

// AddsUp reports whether every record seen has an outcome.
func (c Counts) AddsUp() bool {
	return c.Seen == c.Outcomes()
}

// Outcomes is the sum of the outcome counters (what Seen must equal).
func (c Counts) Outcomes() int {
	return c.Created + c.Updated + c.Unchanged + c.Invalid + c.Skipped + c.OutOfScope
}

// Run is one sync run of a connection.
type Run struct {
	TenantID     string    `dynamodbav:"tenantId"`
	ID           string    `dynamodbav:"id"`
	ConnectionID string    `dynamodbav:"connectionId"`
	Trigger      string    `dynamodbav:"trigger"`
	Status       string    `dynamodbav:"status"`
	Incremental  bool      `dynamodbav:"incremental"`
	Since        time.Time `dynamodbav:"since,omitempty"`
	Counts       Counts    `dynamodbav:"counts"`
	// Planned is set once the page plan is known; PagesTotal then counts
	// every page (chained platforms add one per page that has a next).
	Planned    bool      `dynamodbav:"planned"`
	PagesTotal int       `dynamodbav:"pagesTotal"`
	PagesDone  int       `dynamodbav:"pagesDone"`
	DeadPages  int       `dynamodbav:"deadPages"`
	Expected   int       `dynamodbav:"expected"` // records the platform reported, -1 unknown
	Error      string    `dynamodbav:"error,omitempty"`
	StartedAt  time.Time `dynamodbav:"startedAt"`
	FinishedAt time.Time `dynamodbav:"finishedAt,omitempty"`
	ExpiresAt  int64     `dynamodbav:"expiresAt"`
	// DryRun: the run reports what it would do and changes nothing
	// (Target.DryRun); it takes the connection's lock like any run.
	DryRun bool `dynamodbav:"dryRun,omitempty"`
	// CompleteGroups are the groups the plan lists completely (full runs,
	// source.Plan.CompleteGroups, bounded like record groups): the run's
	// end removes them from the connection's contacts no record of the
	// run put in them (leavers.go).
	CompleteGroups []string `dynamodbav:"completeGroups,omitempty"`
}

type runItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	Run
}

// RunInProgressError is returned by StartRun when the connection already
// has a run going.
type RunInProgressError struct{ RunID string }

func (e *RunInProgressError) Error() string {
	return "store: a sync run is already in progress: " + e.RunID
}

// RunSpec describes a run to start.
type RunSpec struct {
	TenantID     string
	ConnectionID string
	Trigger      string
	Incremental  bool
	Since        time.Time
	// LockFor is how long the connection stays locked without progress;
	// every recorded page extends it. A crashed run's lock expires after it.
	LockFor time.Duration
	// DryRun starts a dry run (Run.DryRun).
	DryRun bool
}

type lockItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	RunID       string `dynamodbav:"runId"`
	LockedUntil int64  `dynamodbav:"lockedUntil"`
}

// newRunID returns an id that sorts by start time (newest last), so runs
// list newest first with a descending query.
func newRunID(now time.Time) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "r" + fmt.Sprintf("%013d", now.UnixMilli()) + hex.EncodeToString(b)
}

// StartRun creates a run and takes the connection's lock in one
// transaction. A connection with a live lock gets *RunInProgressError.
func (s *Store) StartRun(ctx context.Context, spec RunSpec) (Run, error) {
	now := s.now()
	run := Run{
		TenantID: spec.TenantID, ID: newRunID(now), ConnectionID: spec.ConnectionID, Trigger: spec.Trigger,
		Status: RunRunning, Incremental: spec.Incremental, Since: spec.Since, Expected: -1,
		StartedAt: now, ExpiresAt: now.Add(resources.RetentionPeriod).Unix(), DryRun: spec.DryRun,
	}
	runAV, err := marshalMap(runItem{
		PK: tenantPK(spec.TenantID), SK: runSK(run.ID),
		GSI1PK: connRunsIndexPK(spec.TenantID, spec.ConnectionID), GSI1SK: run.ID, Run: run,
	})
	if err != nil {
		return Run{}, err
	}
	lockAV, err := marshalMap(lockItem{PK: tenantPK(spec.TenantID), SK: lockSK(spec.ConnectionID), RunID: run.ID, LockedUntil: now.Add(spec.LockFor).Unix()})
	if err != nil {
		return Run{}, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: lockAV,
			ConditionExpression:       aws.String("attribute_not_exists(PK) OR lockedUntil < :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": numAV(now.Unix())},
		}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: runAV, ConditionExpression: aws.String(condAbsent)}},
	})
	if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
		lock, gerr := s.getLock(ctx, spec.TenantID, spec.ConnectionID)
		if gerr != nil {
			return Run{}, gerr
		}
		return Run{}, &RunInProgressError{RunID: lock.RunID}
	}
	if err != nil {
		return Run{}, fmt.Errorf("starting run: %w", err)
	}
	return run, nil
}

func (s *Store) getLock(ctx context.Context, tenant, conn string) (lockItem, error) {
	var l lockItem
	if err := s.getItem(ctx, "run lock", true, tenantPK(tenant), lockSK(conn), &l); err != nil && !errors.Is(err, ErrNotFound) {
		return lockItem{}, err
	}
	return l, nil
}

// RunningRunID returns the id of the connection's live run, or "".
func (s *Store) RunningRunID(ctx context.Context, tenant, conn string) (string, error) {
	l, err := s.getLock(ctx, tenant, conn)
	if err != nil || l.RunID == "" || l.LockedUntil < s.now().Unix() {
		return "", err
	}
	return l.RunID, nil
}

// GetRun reads a run of the tenant; expired runs are not found.
func (s *Store) GetRun(ctx context.Context, tenant, runID string) (Run, error) {
	if !keyable(tenant) || !keyable(runID) {
		return Run{}, ErrNotFound // no such key can exist
	}
	var it runItem
	if err := s.getItem(ctx, "run", true, tenantPK(tenant), runSK(runID), &it); err != nil {
		return Run{}, err
	}
	if it.ExpiresAt <= s.now().Unix() {
		return Run{}, ErrNotFound
	}
	return it.Run, nil
}

// SetPlan records the page plan of a running run: pages fanned out up front
// (or 1 for a chained plan) and the number of records the platform reported
// (-1 unknown).
func (s *Store) SetPlan(ctx context.Context, tenant, runID string, pages, expected int) error {
	upd := expression.Set(expression.Name("planned"), expression.Value(true)).
		Set(expression.Name("expected"), expression.Value(expected)).
		Add(expression.Name("pagesTotal"), expression.Value(pages))
	cond := expression.Name("status").Equal(expression.Value(RunRunning)).And(expression.Name("planned").Equal(expression.Value(false)))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("building plan update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), runSK(runID)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	// A failed condition: already planned (a retried planning message).
	return written(err, nil, "storing the plan")
}

// ReportRow is one line of a run's detailed report. Only changes and
// failures get rows; unchanged records are only counted. A row says why
// (report.go builds it from the record and its decision): the outcome's
// reason, why the record's phone or email was not used, the masked
// identifier of a conflict, and who the record is (its platform id and a
// bounded name). Rows are stored a page at a time (RecordPage), in items
// of at most source.ReportRowsPerItem rows.
type ReportRow struct {
	ExternalID string `dynamodbav:"x" json:"externalId"`
	Outcome    string `dynamodbav:"o" json:"outcome"`
	Reason     string `dynamodbav:"r,omitempty" json:"reason,omitempty"`
	// PhoneReason and EmailReason say why the record's phone or email was
	// not used ("phone_too_short", "email_invalid_syntax"), whatever the
	// outcome: on a created or updated row they are warnings.
	PhoneReason string `dynamodbav:"pr,omitempty" json:"phoneReason,omitempty"`
	EmailReason string `dynamodbav:"er,omitempty" json:"emailReason,omitempty"`
	// Identifier is the masked phone or email of a phone_conflict or
	// email_conflict ("+6141****678", "j***@example.com").
	Identifier string `dynamodbav:"i,omitempty" json:"identifier,omitempty"`
	// Name is the record's first and last name, bounded
	// (source.MaxReportNameRunes).
	Name      string `dynamodbav:"n,omitempty" json:"name,omitempty"`
	ContactID string `dynamodbav:"c,omitempty" json:"contactId,omitempty"`
	// Consent is "pending_confirmation" when the contact waits for a YES.
	Consent string `dynamodbav:"s,omitempty" json:"consent,omitempty"`
	// Group is the hub group a left_group row's record left.
	Group string `dynamodbav:"g,omitempty" json:"group,omitempty"`
}

// PageResult is what applying one page produced.
type PageResult struct {
	TenantID string
	RunID    string
	PageID   string // unique within the run (the cursor's hash, say)
	Counts   Counts
	Rows     []ReportRow
	// HasNext adds one page to the plan (chained platforms).
	HasNext bool
	// DeadReason marks the page as permanently failed (dead-lettered): it
	// counts as done, its records as missing, and the run will fail.
	DeadReason string
}

type pageMarker struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Dead      string `dynamodbav:"dead,omitempty"`
	Next      string `dynamodbav:"next,omitempty"` // NEXT# markers: the page counted
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

type rowsItem struct {
	PK        string      `dynamodbav:"PK"`
	SK        string      `dynamodbav:"SK"`
	Rows      []ReportRow `dynamodbav:"rows"`
	ExpiresAt int64       `dynamodbav:"expiresAt"`
}

// RecordPage counts a page's outcomes exactly once (a page recorded twice
// counts once), stores its report rows and extends the connection lock. It
// returns whether this call counted the page and whether every planned page
// is now done, so the caller can FinishRun.
func (s *Store) RecordPage(ctx context.Context, p PageResult, lockFor time.Duration) (counted, allDone bool, err error) {
	now := s.now()
	exp := now.Add(resources.RetentionPeriod).Unix()
	if err := s.putRows(ctx, p, exp); err != nil {
		return false, false, err
	}
	marker, err := marshalMap(pageMarker{PK: runPK(p.TenantID, p.RunID), SK: "PAGE#" + p.PageID, Dead: p.DeadReason, ExpiresAt: exp})
	if err != nil {
		return false, false, err
	}
	upd := expression.Add(expression.Name("pagesDone"), expression.Value(1))
	c := p.Counts
	for name, n := range map[string]int{"seen": c.Seen, "created": c.Created, "updated": c.Updated, "unchanged": c.Unchanged, "invalid": c.Invalid, "skipped": c.Skipped, "outOfScope": c.OutOfScope, "messages": c.Messages, "pendingConfirmation": c.PendingConfirmation,
		"writtenBack": c.WrittenBack, "writeBackFailed": c.WriteBackFailed,
		"confirmations": c.Confirmations, "doubleOptInRequests": c.DoubleOptInRequests, "credits": c.Credits} {
		if n != 0 {
			upd = upd.Add(expression.Name("counts."+name), expression.Value(n))
		}
	}
	if p.HasNext {
		upd = upd.Add(expression.Name("pagesTotal"), expression.Value(1))
	}
	if p.DeadReason != "" {
		upd = upd.Add(expression.Name("deadPages"), expression.Value(1)).Set(expression.Name("error"), expression.Value(p.DeadReason))
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(expression.Name("status").Equal(expression.Value(RunRunning))).Build()
	if err != nil {
		return false, false, fmt.Errorf("building page update: %w", err)
	}
	run, err := s.GetRun(ctx, p.TenantID, p.RunID)
	if err != nil {
		return false, false, err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: marker, ConditionExpression: aws.String(condAbsent)}},
		{Update: &types.Update{
			TableName: aws.String(s.table), Key: keyOf(tenantPK(p.TenantID), runSK(p.RunID)),
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}},
		{Update: &types.Update{
			TableName: aws.String(s.table), Key: keyOf(tenantPK(p.TenantID), lockSK(run.ConnectionID)),
			UpdateExpression:          aws.String("SET lockedUntil = :u"),
			ConditionExpression:       aws.String(condLockedBy),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": numAV(now.Add(lockFor).Unix()), ":r": &types.AttributeValueMemberS{Value: p.RunID}},
		}},
	}
	err = s.transact(ctx, items)
	reasons := cancelReasons(err)
	switch {
	case err == nil:
		counted = true
	case len(reasons) == 3 && reasons[0] == "ConditionalCheckFailed":
		counted = false // recorded before
	case len(reasons) == 3 && reasons[2] == "ConditionalCheckFailed":
		// The lock moved on (expired and another run started): count the
		// page without touching the lock.
		if err = s.transact(ctx, items[:2]); err != nil && cancelReasons(err) == nil {
			return false, false, fmt.Errorf("recording page: %w", err)
		}
		counted = err == nil
	case len(reasons) == 3 && reasons[1] == "ConditionalCheckFailed":
		counted = false // the run is already finished
	default:
		return false, false, fmt.Errorf("recording page: %w", err)
	}
	run, err = s.GetRun(ctx, p.TenantID, p.RunID)
	if err != nil {
		return counted, false, err
	}
	return counted, run.Status == RunRunning && run.Planned && run.PagesDone >= run.PagesTotal, nil
}

// FinishRun finalises a run whose pages are all done, exactly once: the
// first caller sets completed (or failed when the run does not add up or a
// page died) and releases the lock; later callers get the finished run.
func (s *Store) FinishRun(ctx context.Context, tenant, runID string) (Run, error) {
	run, err := s.GetRun(ctx, tenant, runID)
	if err != nil {
		return Run{}, err
	}
	if run.Status != RunRunning {
		return run, nil
	}
	if !run.Planned || run.PagesDone < run.PagesTotal {
		return run, fmt.Errorf("store: run %s has %d of %d pages done", runID, run.PagesDone, run.PagesTotal)
	}
	status, reason := RunCompleted, ""
	switch {
	case run.DeadPages > 0:
		status, reason = RunFailed, fmt.Sprintf("%d page(s) failed permanently: %s", run.DeadPages, run.Error)
	case !run.Counts.AddsUp():
		status, reason = RunFailed, fmt.Sprintf("run does not add up: seen %d, outcomes %d", run.Counts.Seen, run.Counts.Outcomes())
	case run.Expected >= 0 && run.Counts.Seen < run.Expected:
		status, reason = RunFailed, fmt.Sprintf("platform reported %d records, run saw %d", run.Expected, run.Counts.Seen)
	}
	now := s.now()
	upd := expression.Set(expression.Name("status"), expression.Value(status)).
		Set(expression.Name("finishedAt"), expression.Value(now))
	if reason != "" {
		upd = upd.Set(expression.Name("error"), expression.Value(reason))
	}
	cond := expression.Name("status").Equal(expression.Value(RunRunning))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return Run{}, fmt.Errorf("building finish update: %w", err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), runSK(runID)),
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}},
	})
	if err != nil && cancelReasons(err) == nil {
		return Run{}, fmt.Errorf("finishing run: %w", err)
	}
	// Release the lock if it is still ours (a lapsed lock may belong to a
	// newer run by now).
	_, derr := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), lockSK(run.ConnectionID)),
		ConditionExpression:       aws.String(condLockedBy),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: runID}},
	})
	if derr != nil && !conditionFailed(derr) {
		return Run{}, fmt.Errorf("releasing run lock: %w", derr)
	}
	return s.GetRun(ctx, tenant, runID)
}

// ListRuns lists a tenant's runs newest first, or one connection's when
// conn is not empty.
func (s *Store) ListRuns(ctx context.Context, tenant, conn string, limit int, cursor string) ([]Run, string, error) {
	return s.ListRunsFiltered(ctx, tenant, RunFilter{Connection: conn}, limit, cursor)
}

// RunFilter narrows a listing of runs: to one connection (its own index
// partition) and to one status (a filter on the listing: a page may come
// back short, and its cursor continues).
type RunFilter struct {
	Connection, Status string
}

// ListRunsFiltered lists a tenant's runs, newest first, as f narrows them.
func (s *Store) ListRunsFiltered(ctx context.Context, tenant string, f RunFilter, limit int, cursor string) ([]Run, string, error) {
	conn := f.Connection
	l := tableListing(tenantPK(tenant), "RUN#")
	if conn != "" && !keyable(conn) {
		return nil, "", ErrBadFilter
	}
	if conn != "" {
		l = listing{pk: "GSI1PK", pkValue: connRunsIndexPK(tenant, conn), sk: "GSI1SK", index: true, tablePK: tenantPK(tenant), tableSK: "RUN#"}
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), ScanIndexForward: aws.Bool(false),
		FilterExpression:          aws.String(filterLive),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": numAV(s.now().Unix())},
	}
	if f.Status != "" {
		in.FilterExpression = aws.String("expiresAt > :now AND #st = :st")
		in.ExpressionAttributeNames = map[string]string{"#st": "status"}
		in.ExpressionAttributeValues[":st"] = &types.AttributeValueMemberS{Value: f.Status}
	}
	if conn == "" {
		in.KeyConditionExpression = aws.String(keyPrefix)
		in.ExpressionAttributeValues[":pk"] = &types.AttributeValueMemberS{Value: tenantPK(tenant)}
		in.ExpressionAttributeValues[":p"] = &types.AttributeValueMemberS{Value: "RUN#"}
	} else {
		in.IndexName = aws.String(resources.GSI1)
		in.KeyConditionExpression = aws.String(keyIndex1)
		in.ExpressionAttributeValues[":pk"] = &types.AttributeValueMemberS{Value: connRunsIndexPK(tenant, conn)}
	}
	return listPage(ctx, s, in, l, cursor, limit, func(it runItem) Run { return it.Run })
}

// ListReport lists a run's report rows, optionally only those with outcome.
func (s *Store) ListReport(ctx context.Context, tenant, runID, outcome string, limit int, cursor string) ([]ReportRow, string, error) {
	l := tableListing(runPK(tenant, runID), "ROWS#")
	l.offsetOnly = true
	start, offset, err := decodeCursor(cursor, l)
	if err != nil {
		return nil, "", err
	}
	var rows []ReportRow
	in := s.prefixQuery(runPK(tenant, runID), "ROWS#")
	in.ExclusiveStartKey = start
	// A few row items per request (each holds up to a page's rows): a
	// listing of 100 rows reads what it shows, not 1 MB of report.
	in.Limit = aws.Int32(reportItemsPerQuery)
	now := s.now().Unix()
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("listing report: %w", err)
		}
		var prevKey map[string]types.AttributeValue = in.ExclusiveStartKey
		for _, item := range out.Items {
			var it rowsItem
			if err := unmarshalMap(item, &it); err != nil {
				return nil, "", err
			}
			if it.ExpiresAt <= now {
				prevKey = keyOf(it.PK, it.SK)
				continue
			}
			for i := offset; i < len(it.Rows); i++ {
				if outcome != "" && it.Rows[i].Outcome != outcome {
					continue
				}
				if len(rows) == limit {
					return rows, encodeCursor(prevKey, i), nil
				}
				rows = append(rows, it.Rows[i])
			}
			offset = 0
			prevKey = keyOf(it.PK, it.SK)
		}
		if out.LastEvaluatedKey == nil {
			return rows, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ChainPage counts, once, the page that follows pageID in a chained
// listing (cursor pagination). The bulk-sync handler calls it before it
// enqueues that page — and before it applies its own — so a run never
// looks finished while a page it has enqueued is still to be recorded, and
// fetching the next page overlaps applying this one. A repeated call (a
// retried page) counts nothing; so does a call for a run that is over.
// nextPageID is remembered (ChainedNext) so that a page that dead-letters
// without having enqueued its next one can close it.
func (s *Store) ChainPage(ctx context.Context, tenant, runID, pageID, nextPageID string) error {
	marker, err := marshalMap(pageMarker{PK: runPK(tenant, runID), SK: "NEXT#" + pageID, Next: nextPageID, ExpiresAt: s.now().Add(resources.RetentionPeriod).Unix()})
	if err != nil {
		return err
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name("pagesTotal"), expression.Value(1))).
		WithCondition(expression.Name("status").Equal(expression.Value(RunRunning))).Build()
	if err != nil {
		return fmt.Errorf("building chain update: %w", err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: marker, ConditionExpression: aws.String(condAbsent)}},
		{Update: &types.Update{
			TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), runSK(runID)),
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}},
	})
	if r := cancelReasons(err); len(r) == 2 && (r[0] == "ConditionalCheckFailed" || r[1] == "ConditionalCheckFailed") {
		return nil // counted before, or the run is over
	}
	if err != nil {
		return fmt.Errorf("chaining page: %w", err)
	}
	return nil
}

// ChainedNext returns the page ChainPage counted after pageID ("" if none).
func (s *Store) ChainedNext(ctx context.Context, tenant, runID, pageID string) (string, error) {
	var m pageMarker
	if err := s.getItem(ctx, "chain marker", true, runPK(tenant, runID), "NEXT#"+pageID, &m); err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	return m.Next, nil
}

// PageRecorded reports whether a page of the run was already counted.
func (s *Store) PageRecorded(ctx context.Context, tenant, runID, pageID string) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: keyOf(runPK(tenant, runID), "PAGE#"+pageID),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("PK"),
	})
	if err != nil {
		return false, fmt.Errorf("reading page marker: %w", err)
	}
	return out.Item != nil, nil
}
