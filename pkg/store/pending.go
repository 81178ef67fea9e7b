package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
)

// Unanswered double opt-in requests (issue 18 item 7). Each request's
// outbox marker is written with a pending-request item in the same
// transaction; the item sits in a sparse index (GSI2, "DOI#<shard>", like
// the outbox sweeper's) sorted by when the scheduler's tick should look at
// the number again — "<ms>#T#<t>#<conn>#<e164>", so the tenant is in every
// key — and leaves it when the number no longer waits on the request.

const (
	skPending     = "DOI"
	pendingShards = 16 // heat.md: headroom for one large install's requests
	// PendingFirstLook is when a new request is first looked at: no expiry
	// or reminder is shorter than a day.
	PendingFirstLook = 24 * time.Hour
)

func pendingPK(t, conn, e164 string) string { return "T#" + t + "#DOI#" + conn + "#" + e164 }

func pendingIndexSK(t, conn, e164 string, at time.Time) string {
	return fmt.Sprintf("%013d#T#%s#%s#%s", at.UnixMilli(), t, conn, e164)
}

// PendingRequest is a number waiting on a connection's double opt-in
// request.
type PendingRequest struct {
	TenantID     string    `dynamodbav:"tenantId"`
	ConnectionID string    `dynamodbav:"connectionId"`
	Phone        string    `dynamodbav:"phone"`
	RequestAt    time.Time `dynamodbav:"requestAt"`
}

type pendingItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI2PK string `dynamodbav:"GSI2PK"`
	GSI2SK string `dynamodbav:"GSI2SK"`
	PendingRequest
}

// pendingPut is the put of the pending-request item of a due double opt-in
// request (ok false for any other entry).
func (s *Store) pendingPut(e OutboxEntry) (types.TransactWriteItem, bool, error) {
	if e.Kind != OutboxKindSMS || e.Purpose != string(consent.PurposeDoubleOptInRequest) || e.ConnectionID == "" {
		return types.TransactWriteItem{}, false, nil
	}
	av, err := marshalMap(pendingItem{
		PK: pendingPK(e.TenantID, e.ConnectionID, e.Phone), SK: skPending,
		GSI2PK:         doiIndexPK(e.TenantID, e.ConnectionID, e.Phone),
		GSI2SK:         pendingIndexSK(e.TenantID, e.ConnectionID, e.Phone, e.At.Add(PendingFirstLook)),
		PendingRequest: PendingRequest{TenantID: e.TenantID, ConnectionID: e.ConnectionID, Phone: e.Phone, RequestAt: e.At},
	})
	if err != nil {
		return types.TransactWriteItem{}, false, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av}}, true, nil
}

// SweepPending calls each for the pending requests whose look time came at
// or before now, across every tenant (the sparse index, sharded), at most
// limit of them. each returns when to look again, or done: the item then
// leaves the index (it is deleted).
func (s *Store) SweepPending(ctx context.Context, now time.Time, limit int, each func(PendingRequest) (next time.Time, done bool, err error)) (int, error) {
	upper := fmt.Sprintf("%013d#~", now.UnixMilli())
	return s.sweepShards(ctx, "listing pending requests", shardKeys("DOI", pendingShards), upper, limit, func(item map[string]types.AttributeValue) (bool, error) {
		var it pendingItem
		if err := unmarshalMap(item, &it); err != nil {
			return false, err
		}
		next, done, err := each(it.PendingRequest)
		if err != nil {
			return false, err
		}
		key := keyOf(it.PK, it.SK)
		if done {
			_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key})
		} else {
			if !next.After(now) {
				next = now.Add(time.Hour) // never look again in the same tick
			}
			_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(s.table), Key: key,
				UpdateExpression:    aws.String("SET GSI2SK = :sk"),
				ConditionExpression: aws.String(condExists),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":sk": &types.AttributeValueMemberS{Value: pendingIndexSK(it.TenantID, it.ConnectionID, it.Phone, next)},
				},
			})
			if conditionFailed(err) {
				err = nil
			}
		}
		if err != nil {
			return false, fmt.Errorf("moving a pending request on: %w", err)
		}
		return true, nil
	})
}
