package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Idempotency records follow Powertools for AWS Lambda's idempotency utility:
// a key is claimed IN_PROGRESS before the work and marked COMPLETED after it.
// A second delivery while the first runs is told to retry later; one after
// completion is acknowledged without effect; a claim whose holder crashed
// lapses after its in-progress window; failed work releases the claim.

// Claim is the result of claiming an idempotency key.
type Claim int

// Claim results.
const (
	// ClaimAcquired: the caller owns the key and must do the work, then
	// Complete or Release it.
	ClaimAcquired Claim = iota + 1
	// ClaimInProgress: another invocation is doing the work now.
	ClaimInProgress
	// ClaimCompleted: the work was done; Result holds what it recorded.
	ClaimCompleted
)

const (
	idemInProgress = "IN_PROGRESS"
	idemCompleted  = "COMPLETED"
)

// IdempotencyScope names what a key deduplicates.
type IdempotencyScope string

// Scopes of idempotency keys.
const (
	ScopeWebhook IdempotencyScope = "webhook" // platform delivery ids
	ScopeInbound IdempotencyScope = "inbound" // provider message ids
	ScopePage    IdempotencyScope = "page"    // bulk-sync page ids
	ScopeOutbox  IdempotencyScope = "outbox"  // outbound message references
)

type idemItem struct {
	PK              string `dynamodbav:"PK"`
	SK              string `dynamodbav:"SK"`
	Status          string `dynamodbav:"status"`
	InProgressUntil int64  `dynamodbav:"inProgressUntil"` // epoch ms
	ExpiresAt       int64  `dynamodbav:"expiresAt"`       // epoch s (TTL)
	Result          string `dynamodbav:"result,omitempty"`
}

// ClaimIdempotency claims (tenant, scope, key) for inProgressFor (set it to
// the function's timeout). It returns the claim state and, for a completed
// key, the result recorded by CompleteIdempotency.
func (s *Store) ClaimIdempotency(ctx context.Context, tenant string, scope IdempotencyScope, key string, inProgressFor, keepFor time.Duration) (Claim, string, error) {
	now := s.now()
	item := idemItem{
		PK: idemPK(tenant, string(scope), key), SK: skIdem, Status: idemInProgress,
		InProgressUntil: now.Add(inProgressFor).UnixMilli(), ExpiresAt: now.Add(keepFor).Unix(),
	}
	av, err := marshalMap(item)
	if err != nil {
		return 0, "", err
	}
	cond := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name("expiresAt").LessThan(expression.Value(now.Unix()))).
		Or(expression.Name("status").Equal(expression.Value(idemInProgress)).
			And(expression.Name("inProgressUntil").LessThan(expression.Value(now.UnixMilli()))))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return 0, "", fmt.Errorf("building idempotency condition: %w", err)
	}
	var old map[string]types.AttributeValue
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: av,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              s.capacityMode(),
	})
	if out != nil {
		s.trackOne(true, out.ConsumedCapacity)
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		old = ccf.Item
	}
	if err == nil {
		return ClaimAcquired, "", nil
	}
	if !conditionFailed(err) {
		return 0, "", fmt.Errorf("claiming idempotency key: %w", err)
	}
	var existing idemItem
	if old == nil {
		// Emulators may not return the old item: read it.
		if existing, err = s.getIdem(ctx, item.PK); err != nil {
			return 0, "", err
		}
	} else if err := unmarshalMap(old, &existing); err != nil {
		return 0, "", err
	}
	if existing.Status == idemCompleted {
		return ClaimCompleted, existing.Result, nil
	}
	return ClaimInProgress, "", nil
}

func (s *Store) getIdem(ctx context.Context, pk string) (idemItem, error) {
	var it idemItem
	if err := s.getItem(ctx, "idempotency key", true, pk, skIdem, &it); err != nil && !errors.Is(err, ErrNotFound) {
		return idemItem{}, err
	}
	return it, nil
}

// CompleteIdempotency marks a claimed key done, keeping result (a short
// value the caller wants back on a duplicate) for keepFor.
func (s *Store) CompleteIdempotency(ctx context.Context, tenant string, scope IdempotencyScope, key, result string, keepFor time.Duration) error {
	item := idemItem{
		PK: idemPK(tenant, string(scope), key), SK: skIdem, Status: idemCompleted,
		ExpiresAt: s.now().Add(keepFor).Unix(), Result: result,
	}
	av, err := marshalMap(item)
	if err != nil {
		return err
	}
	return s.put(ctx, av)
}

// ReleaseIdempotency deletes a claim after failed work so a retry can run.
func (s *Store) ReleaseIdempotency(ctx context.Context, tenant string, scope IdempotencyScope, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(idemPK(tenant, string(scope), key), skIdem),
		ConditionExpression:       aws.String("#s = :p"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: idemInProgress}},
	})
	// A failed condition: already completed or gone, nothing to release.
	return written(err, nil, "releasing idempotency key")
}
