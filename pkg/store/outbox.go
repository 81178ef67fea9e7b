package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
)

// Outbox marker statuses. A marker is written with the decision that made a
// message due (pending); the outbox consumer leases it (sending) before it
// calls the provider and records the end (sent, failed or skipped), so a
// message is sent at most once even across redeliveries, crashes and
// concurrent consumers. A send whose outcome the provider left open (a
// time-out after the request was written) is unknown: it is never sent
// again blindly, only reconciled through the provider's message lookup. A
// lease whose holder crashed lapses; the next holder reconciles the same
// way before it sends.
const (
	OutboxPending = "pending"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxSkipped = "skipped"
	OutboxUnknown = "unknown"
)

// Outbox message kinds (OutboxEntry.Kind).
const (
	OutboxKindSMS       = "sms"
	OutboxKindWriteBack = "writeback"
	// OutboxKindNotify (notifications.go): a notification to the hub.
)

// OutboxGrace is how long a marker may wait for its queue message before
// the sweeper (Store.DueOutbox) considers the message lost and enqueues it
// again; a lease that lapsed is looked at the same time after it lapsed.
const OutboxGrace = 5 * time.Minute

// OutboxMaxSweeps bounds how often the sweeper re-enqueues one marker before
// it gives up on it (failed, with the reason).
const OutboxMaxSweeps = 24

// outboxShards spreads the sweeper's index (heat.md: one large install's
// due texts alone would take most of one of 8).
const outboxShards = 64

// OutboxEntry is a due message as its marker keeps it: enough to enqueue it
// again when the first enqueue was lost.
type OutboxEntry struct {
	TenantID string
	Ref      string
	Kind     string // OutboxKindSMS or OutboxKindWriteBack
	Phone    string
	// ConnectionID is the connection the message is for ("" for hub-level
	// SMS); for a write-back, the connection to write to.
	ConnectionID string
	Purpose      string // SMS purpose (consent.Purpose)
	ExternalID   string // write-back: the source record
	At           time.Time
	// Sweeps counts the sweeper's re-enqueues.
	Sweeps int
	// Notification is, for a new OutboxKindNotify entry, the log item
	// written with the marker (NotifyEntry); nil when read back.
	Notification *Notification
}

// SMSEntry returns the entry of a due SMS.
func SMSEntry(tenant string, m consent.Message) OutboxEntry {
	return OutboxEntry{TenantID: tenant, Ref: OutboxRef(m), Kind: OutboxKindSMS, Phone: m.Phone, ConnectionID: m.ConnectionID, Purpose: string(m.Purpose), At: m.At}
}

// SMS returns the due SMS of an OutboxKindSMS entry.
func (e OutboxEntry) SMS() consent.Message {
	return consent.Message{Phone: e.Phone, ConnectionID: e.ConnectionID, Purpose: consent.Purpose(e.Purpose), At: e.At}
}

type outboxItem struct {
	PK           string    `dynamodbav:"PK"`
	SK           string    `dynamodbav:"SK"`
	Status       string    `dynamodbav:"status"`
	TenantID     string    `dynamodbav:"tenantId,omitempty"`
	Ref          string    `dynamodbav:"ref,omitempty"`
	Kind         string    `dynamodbav:"kind,omitempty"` // "" = sms (markers written before kinds existed)
	Phone        string    `dynamodbav:"phone"`
	ConnectionID string    `dynamodbav:"connectionId,omitempty"`
	Purpose      string    `dynamodbav:"purpose,omitempty"`
	ExternalID   string    `dynamodbav:"externalId,omitempty"`
	At           time.Time `dynamodbav:"at"`
	Sweeps       int       `dynamodbav:"sweeps,omitempty"`
	ExpiresAt    int64     `dynamodbav:"expiresAt"`
	// GSI2PK/GSI2SK put an unfinished marker in the sweeper's index
	// (sparse: a finished marker leaves it).
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`
}

// outboxIndexPK is the sweeper's index partition of a marker: sharded, and
// like the scheduler's SCHED# partitions the only cross-tenant kind.
func outboxIndexPK(t, ref string) string {
	return shardKey("OUTBOX", t+"/"+ref, outboxShards)
}

// outboxIndexSK sorts a marker by when the sweeper should look at it; the
// tenant and reference follow.
func outboxIndexSK(t, ref string, at time.Time) string {
	return fmt.Sprintf("%013d#T#%s#%s", at.UnixMilli(), t, ref)
}

// outboxPut is the conditional put of a new pending marker.
func (s *Store) outboxPut(e OutboxEntry, now time.Time) (types.TransactWriteItem, error) {
	kind := e.Kind
	if kind == OutboxKindSMS {
		kind = "" // the historical encoding of an SMS marker
	}
	av, err := marshalMap(outboxItem{
		PK: outboxPK(e.TenantID, e.Ref), SK: skOut, Status: OutboxPending, TenantID: e.TenantID, Ref: e.Ref, Kind: kind,
		Phone: e.Phone, ConnectionID: e.ConnectionID, Purpose: e.Purpose, ExternalID: e.ExternalID, At: e.At,
		ExpiresAt: now.Add(30 * 24 * time.Hour).Unix(),
		GSI2PK:    outboxIndexPK(e.TenantID, e.Ref), GSI2SK: outboxIndexSK(e.TenantID, e.Ref, now.Add(OutboxGrace)),
	})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String(condAbsent)}}, nil
}

// PutOutbox writes pending markers for messages that no other write makes
// due (a HELP reply); a marker that already exists is left as it is.
func (s *Store) PutOutbox(ctx context.Context, entries ...OutboxEntry) error {
	for _, e := range entries {
		it, err := s.outboxPut(e, s.now())
		if err != nil {
			return err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: it.Put.TableName, Item: it.Put.Item, ConditionExpression: it.Put.ConditionExpression})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("writing outbox marker: %w", err)
		}
	}
	return nil
}

// OutboxLease is the result of LeaseOutbox.
type OutboxLease struct {
	// OK: the caller holds the lease and may send.
	OK bool
	// State is, when OK, the state the marker was in before: pending (or ""
	// for a marker the lease created), unknown (a send whose outcome is
	// open), or sending (a lease whose holder died): in the last two the
	// message may have reached the provider already. When not OK it is the
	// marker's current state.
	State string
	// PrevAttempt is when the previous send attempt started (zero: none).
	PrevAttempt time.Time
	// Reserved and ReservedMonth are the credits an earlier attempt
	// reserved under the credit cap (ReserveCredits) and still holds: the
	// attempt's send may have reached the provider, or it was given back
	// for a retry. The holder reuses them rather than reserving again.
	Reserved      int
	ReservedMonth string
	// Detail is, when not OK, the finished marker's recorded detail (the
	// reason of a failed or skipped message).
	Detail string
}

// LeaseOutbox leases the message with reference ref for sending. It is not
// OK when the message is finished or leased by a live consumer. A marker
// that does not exist yet is created leased (messages made due before
// markers were written for every path).
func (s *Store) LeaseOutbox(ctx context.Context, tenant, ref string, lease time.Duration) (OutboxLease, error) {
	now := s.now()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut),
		// The index key moves to the lease's end: if the holder dies, the
		// sweeper brings the message back after the lease lapsed. (A marker
		// the lease creates has no GSI2PK and stays out of the index.)
		UpdateExpression:         aws.String("SET #s = :sending, leaseUntil = :until, attemptAt = :now, expiresAt = if_not_exists(expiresAt, :exp), GSI2SK = :sk"),
		ConditionExpression:      aws.String("attribute_not_exists(PK) OR #s = :pending OR #s = :unknown OR (#s = :sending AND leaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sending": &types.AttributeValueMemberS{Value: OutboxSending}, ":pending": &types.AttributeValueMemberS{Value: OutboxPending},
			":unknown": &types.AttributeValueMemberS{Value: OutboxUnknown},
			":until":   numAV(now.Add(lease).UnixMilli()), ":now": numAV(now.UnixMilli()), ":exp": numAV(now.Add(30 * 24 * time.Hour).Unix()),
			":sk": &types.AttributeValueMemberS{Value: outboxIndexSK(tenant, ref, now.Add(lease+OutboxGrace))},
		},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var old struct {
		Status    string `dynamodbav:"status"`
		AttemptAt int64  `dynamodbav:"attemptAt"`
		Reserved  int    `dynamodbav:"reserved"`
		ResMonth  string `dynamodbav:"reservedMonth"`
		Detail    string `dynamodbav:"detail"`
	}
	if err == nil {
		if err := unmarshalMap(out.Attributes, &old); err != nil {
			return OutboxLease{}, err
		}
		l := OutboxLease{OK: true, State: old.Status, Reserved: old.Reserved, ReservedMonth: old.ResMonth}
		if old.AttemptAt > 0 {
			l.PrevAttempt = time.UnixMilli(old.AttemptAt)
		}
		return l, nil
	}
	if !conditionFailed(err) {
		return OutboxLease{}, fmt.Errorf("leasing outbox message: %w", err)
	}
	// Not leased: the marker as it is comes with the refusal (an emulator
	// that leaves it out is read).
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		if err := unmarshalMap(ccf.Item, &old); err != nil {
			return OutboxLease{}, err
		}
	} else if err := s.getItem(ctx, "outbox message", true, outboxPK(tenant, ref), skOut, &old); err != nil && !errors.Is(err, ErrNotFound) {
		return OutboxLease{}, err
	}
	return OutboxLease{State: old.Status, Detail: old.Detail}, nil
}

// OutboxResult is how a leased message ended.
type OutboxResult struct {
	// Status: OutboxSent (Detail: the provider's message id), OutboxFailed
	// or OutboxSkipped (Detail: the reason), OutboxUnknown (the provider may
	// have it), or OutboxPending to give the lease back for a retry.
	Status string
	Detail string
	// Credits are added to the tenant's usage in the same write that marks
	// the message sent: its total (CreditsUsed) and the month's
	// counters (GetMonthUsage) of ConnectionID and Purpose, on the usage
	// shard of its reference. For OutboxHeld, the credits the message
	// would have cost.
	Credits int
	// Capped: the message was checked against a monthly credit cap (the
	// tenant had one when it was sent), so its credits count in the
	// month's committed credits (only what differs from Reserved is
	// written there). Without it, and without a reservation, the send
	// writes no item of the tenant's key — unless a cap was set meanwhile
	// (SetCreditCap), which the store finds and then counts it capped.
	Capped bool
	// ConnectionID and Purpose are the sent message's ("" connection: a
	// hub-level reply), for the usage counters.
	ConnectionID, Purpose string
	// Reserved and ReservedMonth are the credits the message holds under
	// the credit cap (OutboxLease, ReserveCredits): a sent message turns
	// them into its credits, a failed or skipped one gives them back, a
	// pending or unknown one keeps them for the next attempt.
	Reserved      int
	ReservedMonth string
	// Revisit keeps the marker in the sweeper's index, looked at again
	// after OutboxGrace (implied for OutboxPending). An unknown outcome is
	// revisited when the provider can look it up, and final otherwise.
	Revisit bool
	// RevisitAt, when set, is when the sweeper looks at a revisited or
	// pending marker again instead (a notification's next attempt).
	RevisitAt time.Time
}

// FinishOutbox records the end of a leased message.
func (s *Store) FinishOutbox(ctx context.Context, tenant, ref string, r OutboxResult) error {
	if r.Status == OutboxHeld {
		return s.finishHeld(ctx, tenant, ref, r)
	}
	now := s.now()
	vals := map[string]types.AttributeValue{
		":s": &types.AttributeValueMemberS{Value: r.Status}, ":d": &types.AttributeValueMemberS{Value: r.Detail},
		":t": numAV(now.Unix()), ":sending": &types.AttributeValueMemberS{Value: OutboxSending},
	}
	upd := "SET #s = :s, detail = :d, finishedAt = :t REMOVE leaseUntil"
	if r.Revisit || r.Status == OutboxPending {
		upd = "SET #s = :s, detail = :d, finishedAt = :t, GSI2SK = :sk REMOVE leaseUntil"
		revisit := now.Add(OutboxGrace)
		if !r.RevisitAt.IsZero() {
			revisit = r.RevisitAt
		}
		vals[":sk"] = &types.AttributeValueMemberS{Value: outboxIndexSK(tenant, ref, revisit)}
	} else {
		upd += ", GSI2PK, GSI2SK"
	}
	marker := &types.Update{
		TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut),
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String(condSending),
		ExpressionAttributeNames: map[string]string{"#s": "status"}, ExpressionAttributeValues: vals,
	}
	k := usageShard(ref)
	if r.Credits == 0 && r.Reserved > 0 && (r.Status == OutboxFailed || r.Status == OutboxSkipped) {
		// Not sent: the reservation goes back to its shard's block of the
		// month it was taken in (blocks.go).
		err := s.transactGiveBack(ctx, []types.TransactWriteItem{{Update: marker},
			{Update: s.shardGiveBack(tenant, k, r.ReservedMonth, r.Reserved)}}, giveBack{at: 1, tenant: tenant, k: k, month: r.ReservedMonth})
		if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
			return fmt.Errorf("finishing outbox message %s: %w", ref, errNotLeased)
		}
		return err
	}
	if r.Credits == 0 {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: marker.TableName, Key: marker.Key, UpdateExpression: marker.UpdateExpression, ConditionExpression: marker.ConditionExpression,
			ExpressionAttributeNames: marker.ExpressionAttributeNames, ExpressionAttributeValues: marker.ExpressionAttributeValues,
		})
		if conditionFailed(err) {
			return fmt.Errorf("finishing outbox message %s: %w", ref, errNotLeased)
		}
		return err
	}
	capped := r.Capped || r.Reserved > 0
	items, back := s.sentItems(tenant, k, UsageMonth(now), marker, r, capped)
	err := s.transactGiveBack(ctx, items, back)
	if reasons := cancelReasons(err); !capped && len(reasons) > 1 && reasons[1] == "ConditionalCheckFailed" && reasons[0] != "ConditionalCheckFailed" {
		// A cap was set since the message was checked (its shard is
		// flagged): it counts in the month's committed credits.
		items, back = s.sentItems(tenant, k, UsageMonth(now), marker, r, true)
		err = s.transactGiveBack(ctx, items, back)
	}
	if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
		return fmt.Errorf("finishing outbox message %s: %w", ref, errNotLeased)
	}
	if err != nil {
		return fmt.Errorf("finishing outbox message: %w", err)
	}
	return nil
}

// sentItems is the transaction of a sent message on shard k in month: its
// marker, its shard's running total (item 1; conditioned on no cap when
// uncapped), its shard's month counters (settling its reservation there),
// and — capped — what its credits pass its reservation by on the month's
// committed credits, or what they fall short of it back to the shard's
// block (blocks.go); and where in it credits go back to a block (at −1:
// nowhere).
func (s *Store) sentItems(tenant string, k int, month string, marker *types.Update, r OutboxResult, capped bool) ([]types.TransactWriteItem, giveBack) {
	items := []types.TransactWriteItem{{Update: marker}, {Update: s.totalUpdate(tenant, k, r.Credits, !capped)}}
	back := giveBack{at: -1}
	free := 0
	if !capped {
		free = r.Credits
	}
	switch {
	case r.Reserved > 0 && r.ReservedMonth != month:
		// Reserved in another month (a send across the month's end): the
		// credits count now, the reservation goes back to the block of the
		// month it was taken in.
		items = append(items, types.TransactWriteItem{Update: s.shardUsageUpdate(tenant, k, month, r.ConnectionID, r.Purpose, r.Credits, 0, 0)},
			types.TransactWriteItem{Update: s.commitUpdate(tenant, month, r.Credits)},
			types.TransactWriteItem{Update: s.shardGiveBack(tenant, k, r.ReservedMonth, r.Reserved)})
		back = giveBack{at: len(items) - 1, tenant: tenant, k: k, month: r.ReservedMonth}
	default:
		items = append(items, types.TransactWriteItem{Update: s.shardUsageUpdate(tenant, k, month, r.ConnectionID, r.Purpose, r.Credits, r.Reserved, free)})
		if capped && r.Reserved > r.Credits {
			items = append(items, types.TransactWriteItem{Update: s.blockBack(tenant, k, month, r.Reserved-r.Credits)})
			back = giveBack{at: len(items) - 1, tenant: tenant, k: k, month: month}
		}
		if capped && r.Credits > r.Reserved {
			items = append(items, types.TransactWriteItem{Update: s.commitUpdate(tenant, month, r.Credits-r.Reserved)})
		}
	}
	return items, back
}

var errNotLeased = errors.New("not leased")

// GetOutbox reads a marker: its entry and status (ErrNotFound if none).
func (s *Store) GetOutbox(ctx context.Context, tenant, ref string) (OutboxEntry, string, error) {
	var it outboxItem
	if err := s.getItem(ctx, "outbox message", true, outboxPK(tenant, ref), skOut, &it); err != nil {
		return OutboxEntry{}, "", err
	}
	return it.entry(tenant, ref), it.Status, nil
}

func (it outboxItem) entry(tenant, ref string) OutboxEntry {
	kind := it.Kind
	if kind == "" {
		kind = OutboxKindSMS
	}
	return OutboxEntry{TenantID: tenant, Ref: ref, Kind: kind, Phone: it.Phone, ConnectionID: it.ConnectionID, Purpose: it.Purpose,
		ExternalID: it.ExternalID, At: it.At, Sweeps: it.Sweeps}
}

// SweepOutbox finds markers the sweeper should look at — pending or unknown
// ones, and leases that lapsed, whose time came at or before now — across
// every tenant (the outbox index, sharded), at most limit of them. Each is
// moved on to now+every in the index before each sees it (so a concurrent
// sweep or the next tick does not take it again at once); a marker that has
// been swept OutboxMaxSweeps times is failed instead, with the reason.
func (s *Store) SweepOutbox(ctx context.Context, now time.Time, every time.Duration, limit int, each func(OutboxEntry) error) (int, error) {
	upper := fmt.Sprintf("%013d#~", now.UnixMilli())
	return s.sweepShards(ctx, "listing due outbox messages", shardKeys("OUTBOX", outboxShards), upper, limit, func(item map[string]types.AttributeValue) (bool, error) {
		var it outboxItem
		if err := unmarshalMap(item, &it); err != nil {
			return false, err
		}
		if it.TenantID == "" || it.Ref == "" || (it.Phone == "" && it.Kind != OutboxKindNotify) {
			return false, nil // not a marker the sweeper can rebuild
		}
		took, err := s.takeSwept(ctx, it, now, every)
		if err != nil || !took {
			return false, err
		}
		e := it.entry(it.TenantID, it.Ref)
		e.Sweeps++
		return true, each(e)
	})
}

// takeSwept moves a swept marker on in the index, or fails it after
// OutboxMaxSweeps; took is false when it changed meanwhile (leased,
// finished or swept by another tick) or was given up.
func (s *Store) takeSwept(ctx context.Context, it outboxItem, now time.Time, every time.Duration) (took bool, err error) {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(it.PK, it.SK),
		ConditionExpression:      aws.String("GSI2SK = :old"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":old": &types.AttributeValueMemberS{Value: it.GSI2SK},
		},
	}
	giveUp := it.Sweeps >= OutboxMaxSweeps && it.Status != OutboxSending
	if giveUp {
		in.UpdateExpression = aws.String("SET #s = :failed, detail = :d, finishedAt = :t REMOVE GSI2PK, GSI2SK")
		in.ExpressionAttributeValues[":failed"] = &types.AttributeValueMemberS{Value: OutboxFailed}
		in.ExpressionAttributeValues[":d"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("not delivered after %d sweeps (last state %s)", it.Sweeps, it.Status)}
		in.ExpressionAttributeValues[":t"] = numAV(now.Unix())
	} else {
		in.UpdateExpression = aws.String("SET GSI2SK = :sk ADD sweeps :one")
		in.ExpressionAttributeNames = nil
		in.ExpressionAttributeValues[":sk"] = &types.AttributeValueMemberS{Value: outboxIndexSK(it.TenantID, it.Ref, now.Add(every))}
		in.ExpressionAttributeValues[":one"] = numAV(1)
	}
	_, err = s.db.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sweeping outbox message: %w", err)
	}
	if giveUp && it.Kind == OutboxKindNotify {
		// The delivery log says so too.
		if err := s.FailNotification(ctx, it.TenantID, it.Ref, "not delivered: given up by the outbox sweeper"); err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
	}
	return !giveUp, nil
}
