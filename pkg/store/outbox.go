package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Outbox marker statuses. A marker is written with the decision that made a
// message due (pending); the outbox consumer leases it (sending) before it
// calls the provider and records the end (sent, failed or skipped), so a
// message is sent at most once even across redeliveries, crashes and
// concurrent consumers. A lease whose holder crashed lapses; only then can
// the message be sent again, and only when the provider never answered.
const (
	OutboxPending = "pending"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxSkipped = "skipped"
)

// LeaseOutbox leases the message with reference ref for sending. ok is
// false when it is already done or leased by a live consumer (state says
// which). A marker that does not exist yet (messages made due outside a
// merge decision, e.g. HELP replies) is created leased.
func (s *Store) LeaseOutbox(ctx context.Context, tenant, ref string, lease time.Duration) (ok bool, state string, err error) {
	now := s.now()
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut),
		UpdateExpression:         aws.String("SET #s = :sending, leaseUntil = :until, expiresAt = if_not_exists(expiresAt, :exp)"),
		ConditionExpression:      aws.String("attribute_not_exists(PK) OR #s = :pending OR (#s = :sending AND leaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sending": &types.AttributeValueMemberS{Value: OutboxSending}, ":pending": &types.AttributeValueMemberS{Value: OutboxPending},
			":until": numAV(now.Add(lease).UnixMilli()), ":now": numAV(now.UnixMilli()), ":exp": numAV(now.Add(30 * 24 * time.Hour).Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, OutboxSending, nil
	}
	if !conditionFailed(err) {
		return false, "", fmt.Errorf("leasing outbox message: %w", err)
	}
	got, gerr := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut), ConsistentRead: aws.Bool(true)})
	if gerr != nil {
		return false, "", fmt.Errorf("reading outbox message: %w", gerr)
	}
	var it struct {
		Status string `dynamodbav:"status"`
	}
	if err := unmarshalMap(got.Item, &it); err != nil {
		return false, "", err
	}
	return false, it.Status, nil
}

// FinishOutbox records the end of a leased message: status OutboxSent (with
// the provider's message id), OutboxFailed (with the reason) or
// OutboxSkipped, or OutboxPending to give the lease back for a retry.
func (s *Store) FinishOutbox(ctx context.Context, tenant, ref, status, detail string) error {
	return s.withRetry(ctx, "finish outbox message", func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut),
			UpdateExpression:         aws.String("SET #s = :s, detail = :d, finishedAt = :t REMOVE leaseUntil"),
			ConditionExpression:      aws.String("#s = :sending"),
			ExpressionAttributeNames: map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":s": &types.AttributeValueMemberS{Value: status}, ":d": &types.AttributeValueMemberS{Value: detail},
				":t": numAV(s.now().Unix()), ":sending": &types.AttributeValueMemberS{Value: OutboxSending},
			},
		})
		if conditionFailed(err) {
			return fmt.Errorf("finishing outbox message %s: not leased", ref)
		}
		return err
	})
}

// AddCredits adds n used credits (sent SMS) to the tenant's usage.
func (s *Store) AddCredits(ctx context.Context, tenant string, n int) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), skTenant),
		UpdateExpression:          aws.String("ADD creditsUsed :n"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": numAV(int64(n))},
	})
	if err != nil {
		return fmt.Errorf("counting credits: %w", err)
	}
	return nil
}
