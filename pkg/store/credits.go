package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// OutboxHeld is the status of an SMS the tenant's monthly credit cap held
// instead of sending: it waits, out of the sweeper's index, in the tenant's
// held partition until the cap is changed (ReleaseHeld).
const OutboxHeld = "held_by_cap"

// Usage counters: a sent message is counted by month, connection
// ("c#<connectionId>#m" / "#c", top-level numbers) and purpose
// ("p#<purpose>#m" / "#c") on one of 16 usage shards (usage_shards.go),
// in the same transaction that marks it sent. The month's central item
// (PK=T#t, SK=USAGE#<yyyy-mm>) keeps the credit cap's committed credits
// (the shards take them in blocks: blocks.go), and the counters written
// there before the shards; GET /v1/usage sums the
// central item and the 16 shards (one BatchGetItem).
const (
	usagePrefix = "USAGE#"
	usageConn   = "c#"
	usagePurp   = "p#"
)

func usageSK(month string) string { return usagePrefix + month }
func heldPK(t string) string      { return "T#" + t + "#HELD" }

// UsageMonth is the month a message sent at t is counted in (UTC).
func UsageMonth(t time.Time) string { return t.UTC().Format("2006-01") }

// UsageCount is messages and credits of one connection or purpose.
type UsageCount struct {
	Key      string // connection id ("" for hub-level replies) or purpose
	Messages int
	Credits  int
}

// MonthUsage is a tenant's sent messages and credits in one month.
type MonthUsage struct {
	Month        string
	Messages     int
	Credits      int
	ByConnection []UsageCount // sorted by key
	ByPurpose    []UsageCount // sorted by key
}

// commitUpdate adds n (negative: gives back) to month's committed credits.
func (s *Store) commitUpdate(tenant, month string, n int) *types.Update {
	return &types.Update{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), usageSK(month)),
		UpdateExpression:          aws.String("ADD committed :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": numAV(int64(n))},
	}
}

// GetMonthUsage reads a tenant's usage in month ("2006-01"): the sum of
// its 16 usage shards and the month's central item (one consistent
// BatchGetItem); a month with no message is all zeros.
func (s *Store) GetMonthUsage(ctx context.Context, tenant, month string) (MonthUsage, error) {
	u := MonthUsage{Month: month, ByConnection: []UsageCount{}, ByPurpose: []UsageCount{}}
	if !keyable(tenant) {
		return u, nil
	}
	keys := []map[string]types.AttributeValue{usageCentralKey(tenant, month)}
	for k := range usageShards {
		keys = append(keys, keyOf(usageShardPK(tenant, k), month))
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return u, fmt.Errorf("reading usage: %w", err)
	}
	conns, purps := map[string]*UsageCount{}, map[string]*UsageCount{}
	for _, item := range items {
		for name, av := range item {
			n, ok := av.(*types.AttributeValueMemberN)
			if !ok {
				continue
			}
			v, err := strconv.Atoi(n.Value)
			if err != nil {
				return u, fmt.Errorf("reading usage: %s: %w", name, err)
			}
			switch {
			case name == "messages":
				u.Messages += v
			case name == "credits":
				u.Credits += v
			case strings.HasPrefix(name, usageConn):
				addCount(conns, strings.TrimPrefix(name, usageConn), v)
			case strings.HasPrefix(name, usagePurp):
				addCount(purps, strings.TrimPrefix(name, usagePurp), v)
			}
		}
	}
	u.ByConnection, u.ByPurpose = sortedCounts(conns), sortedCounts(purps)
	return u, nil
}

// addCount adds v to the count named by rest ("<key>#m" or "<key>#c").
func addCount(m map[string]*UsageCount, rest string, v int) {
	i := strings.LastIndexByte(rest, '#')
	if i < 0 {
		return
	}
	key, field := rest[:i], rest[i+1:]
	c := m[key]
	if c == nil {
		c = &UsageCount{Key: key}
		m[key] = c
	}
	switch field {
	case "m":
		c.Messages += v
	case "c":
		c.Credits += v
	}
}

func sortedCounts(m map[string]*UsageCount) []UsageCount {
	out := make([]UsageCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// SetCreditCap sets the tenant's monthly credit cap (nil: no cap). Setting
// one rebases the month's committed credits on what was really sent
// (rebaseUsage: the credits of texts sent without a cap, on the usage
// shards, join it, and the shards' blocks of credits go back to it);
// removing it lets texts sent without a cap leave the central item alone
// again and gives the blocks back too.
func (s *Store) SetCreditCap(ctx context.Context, tenant string, monthly *int) error {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), skTenant),
		UpdateExpression:    aws.String("REMOVE monthlyCreditCap"),
		ConditionExpression: aws.String(condExists),
	}
	if monthly != nil {
		in.UpdateExpression = aws.String("SET monthlyCreditCap = :c")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":c": numAV(int64(*monthly))}
	}
	if _, err := s.db.UpdateItem(ctx, in); err != nil {
		return written(err, ErrNotFound, "storing credit cap")
	}
	month := UsageMonth(s.now())
	if monthly != nil {
		return s.rebaseUsage(ctx, tenant, month)
	}
	if err := s.uncapShards(ctx, tenant); err != nil {
		return err
	}
	// A cap stored meanwhile by a concurrent call may have folded before
	// the flags went: fold again under it.
	var it tenantItem
	if err := s.getItem(ctx, "tenant", true, tenantPK(tenant), skTenant, &it); err != nil {
		return err
	}
	if it.MonthlyCreditCap != nil {
		return s.rebaseUsage(ctx, tenant, month)
	}
	// The month's blocks go back to its committed credits (blocks.go).
	return s.releaseBlocks(ctx, tenant, month)
}

// heldItem is an SMS held by the credit cap, in the tenant's held partition
// (PK=T#t#HELD, SK=<ref>): the entry to enqueue again when it is released.
type heldItem struct {
	PK           string    `dynamodbav:"PK"`
	SK           string    `dynamodbav:"SK"`
	TenantID     string    `dynamodbav:"tenantId"`
	Ref          string    `dynamodbav:"ref"`
	Phone        string    `dynamodbav:"phone"`
	ConnectionID string    `dynamodbav:"connectionId,omitempty"`
	Purpose      string    `dynamodbav:"purpose,omitempty"`
	At           time.Time `dynamodbav:"at"`
	Credits      int       `dynamodbav:"credits"`
	HeldAt       int64     `dynamodbav:"heldAt"`
	ExpiresAt    int64     `dynamodbav:"expiresAt"`
}

// finishHeld marks a leased SMS held by the cap and files it in the
// tenant's held partition, in one transaction.
func (s *Store) finishHeld(ctx context.Context, tenant, ref string, r OutboxResult) error {
	now := s.now()
	e, _, err := s.GetOutbox(ctx, tenant, ref)
	if err != nil {
		return fmt.Errorf("holding outbox message %s: %w", ref, err)
	}
	av, err := marshalMap(heldItem{PK: heldPK(tenant), SK: ref, TenantID: tenant, Ref: ref, Phone: e.Phone, ConnectionID: e.ConnectionID,
		Purpose: e.Purpose, At: e.At, Credits: r.Credits, HeldAt: now.Unix(), ExpiresAt: now.Add(365 * 24 * time.Hour).Unix()})
	if err != nil {
		return err
	}
	marker := &types.Update{
		TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut),
		// Held messages wait for a cap change, not the sweeper; the marker
		// lives as long as the held item.
		UpdateExpression:         aws.String("SET #s = :held, detail = :d, finishedAt = :t, expiresAt = :exp REMOVE leaseUntil, GSI2PK, GSI2SK"),
		ConditionExpression:      aws.String(condSending),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":held": &types.AttributeValueMemberS{Value: OutboxHeld}, ":d": &types.AttributeValueMemberS{Value: r.Detail},
			":t": numAV(now.Unix()), ":exp": numAV(now.Add(365 * 24 * time.Hour).Unix()),
			":sending": &types.AttributeValueMemberS{Value: OutboxSending},
		},
	}
	err = s.transact(ctx, []types.TransactWriteItem{{Update: marker}, {Put: &types.Put{TableName: aws.String(s.table), Item: av}}})
	if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
		return fmt.Errorf("holding outbox message %s: %w", ref, errNotLeased)
	}
	if err != nil {
		return fmt.Errorf("holding outbox message: %w", err)
	}
	return nil
}

// HeldCount counts the tenant's SMS held by the credit cap (a count query
// of the tenant's held partition).
func (s *Store) HeldCount(ctx context.Context, tenant string) (int, error) {
	if !keyable(tenant) {
		return 0, nil
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPartition), Select: types.SelectCount, ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: heldPK(tenant)}},
	}
	n := 0
	err := s.queryAll(ctx, "counting held messages", in, func(out *dynamodb.QueryOutput) error { n += int(out.Count); return nil })
	return n, err
}

// ReleaseHeld makes every SMS the credit cap held pending again — back in
// the sweeper's index, so it is enqueued again even if the caller's enqueue
// is lost — and calls each with its entry (for the caller to enqueue). The
// consumer checks the cap again: a message still over it is held again.
func (s *Store) ReleaseHeld(ctx context.Context, tenant string, each func(OutboxEntry) error) (int, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPartition), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: heldPK(tenant)}},
	}
	n := 0
	err := s.queryAll(ctx, "listing held messages", in, func(out *dynamodb.QueryOutput) error {
		for _, item := range out.Items {
			var it heldItem
			if err := unmarshalMap(item, &it); err != nil {
				return err
			}
			released, err := s.releaseOne(ctx, it)
			if err != nil {
				return err
			}
			if !released {
				continue
			}
			n++
			e := OutboxEntry{TenantID: tenant, Ref: it.Ref, Kind: OutboxKindSMS, Phone: it.Phone, ConnectionID: it.ConnectionID, Purpose: it.Purpose, At: it.At}
			if err := each(e); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// releaseOne moves one held marker back to pending and removes its held
// item; a marker that is no longer held only loses its held item.
func (s *Store) releaseOne(ctx context.Context, it heldItem) (bool, error) {
	now := s.now()
	marker := &types.Update{
		TableName: aws.String(s.table), Key: keyOf(outboxPK(it.TenantID, it.Ref), skOut),
		UpdateExpression:         aws.String("SET #s = :pending, detail = :d, expiresAt = :exp, GSI2PK = :pk, GSI2SK = :sk"),
		ConditionExpression:      aws.String("#s = :held"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": &types.AttributeValueMemberS{Value: OutboxPending}, ":held": &types.AttributeValueMemberS{Value: OutboxHeld},
			":d":   &types.AttributeValueMemberS{Value: "released by a credit cap change"},
			":exp": numAV(now.Add(30 * 24 * time.Hour).Unix()),
			":pk":  &types.AttributeValueMemberS{Value: outboxIndexPK(it.TenantID, it.Ref)},
			":sk":  &types.AttributeValueMemberS{Value: outboxIndexSK(it.TenantID, it.Ref, now.Add(OutboxGrace))},
		},
	}
	del := &types.Delete{TableName: aws.String(s.table), Key: keyOf(it.PK, it.SK)}
	err := s.transact(ctx, []types.TransactWriteItem{{Update: marker}, {Delete: del}})
	if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
		_, derr := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: del.TableName, Key: del.Key})
		if derr != nil {
			return false, fmt.Errorf("dropping a stale held message: %w", derr)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("releasing held message: %w", err)
	}
	return true, nil
}
