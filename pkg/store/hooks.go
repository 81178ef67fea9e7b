package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StatusDisconnected: the platform told us the app was uninstalled
// (Shopify app/uninstalled). Its data is kept; nothing calls the platform
// (out of the scheduler's index, "sync now" refused) until it is
// authorised again.
const StatusDisconnected = "disconnected"

// Webhook check outcomes (WebhookState.Status).
const (
	WebhooksOK       = "ok"
	WebhooksRepaired = "repaired"
	WebhooksFailing  = "failing"
	// WebhooksUnavailable: the platform does not offer this account
	// webhooks (Klaviyo's Webhooks API is for Advanced KDP customers and
	// app partners); live changes arrive with the daily sync.
	WebhooksUnavailable = "unavailable"
)

func hooksSK(conn string) string { return "HOOKS#" + conn }

// WebhookState is what pkg/hooks keeps of a connection's platform webhook
// subscriptions: their ids by topic, the last check's outcome and when the
// next check is due. It is its own item (not the connection's), so a
// check never conflicts with a PATCH of the connection.
type WebhookState struct {
	TenantID     string `dynamodbav:"tenantId"`
	ConnectionID string `dynamodbav:"id"`
	// Subscriptions are the platform's subscription ids by topic.
	Subscriptions map[string]string `dynamodbav:"subscriptions,omitempty"`
	Status        string            `dynamodbav:"status,omitempty"` // WebhooksOK, WebhooksRepaired, WebhooksFailing, WebhooksUnavailable
	Reason        string            `dynamodbav:"reason,omitempty"` // why failing or unavailable (safe to show)
	CheckedAt     time.Time         `dynamodbav:"checkedAt"`
	NextCheckAt   time.Time         `dynamodbav:"nextCheckAt"`
}

type hooksItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	// The daily check's index holds the states of connections whose
	// webhooks are kept (sparse: a disabled or disconnected one is out).
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`
	WebhookState
}

func hooksPK(t, conn string) string { return "HOOKS#" + strconv.Itoa(shard(t+"/"+conn, schedShards)) }

// PutWebhookState stores a connection's webhook state; watched puts it in
// the daily check's index at its NextCheckAt.
func (s *Store) PutWebhookState(ctx context.Context, st WebhookState, watched bool) error {
	it := hooksItem{PK: tenantPK(st.TenantID), SK: hooksSK(st.ConnectionID), WebhookState: st}
	if watched {
		it.GSI2PK = hooksPK(st.TenantID, st.ConnectionID)
		it.GSI2SK = st.NextCheckAt.UTC().Format(time.RFC3339) + "#" + st.TenantID + "#" + st.ConnectionID
	}
	av, err := marshalMap(it)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av}); err != nil {
		return fmt.Errorf("storing webhook state: %w", err)
	}
	return nil
}

// GetWebhookState reads a connection's webhook state (ErrNotFound: none
// registered yet).
func (s *Store) GetWebhookState(ctx context.Context, tenant, conn string) (WebhookState, error) {
	if !keyable(tenant) || !keyable(conn) {
		return WebhookState{}, ErrNotFound
	}
	var it hooksItem
	err := s.getItem(ctx, "webhook state", true, tenantPK(tenant), hooksSK(conn), &it)
	return it.WebhookState, err
}

// DeleteWebhookState removes a connection's webhook state (none: no error).
func (s *Store) DeleteWebhookState(ctx context.Context, tenant, conn string) error {
	if !keyable(tenant) || !keyable(conn) {
		return nil
	}
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), hooksSK(conn))}); err != nil {
		return fmt.Errorf("deleting webhook state: %w", err)
	}
	return nil
}

// ListWebhookChecksDue returns up to limit connections whose webhook check
// is due at now, across every tenant (the check's index, sharded), the
// most overdue of each shard first. The shards are read fairly
// (sweepShards): a backlog on one shard takes its share of a tick, not all
// of it.
func (s *Store) ListWebhookChecksDue(ctx context.Context, now time.Time, limit int) ([]DueConnection, error) {
	upper := now.UTC().Format(time.RFC3339) + "#~"
	var out []DueConnection
	_, err := s.sweepShards(ctx, "listing due webhook checks", shardKeys("HOOKS", schedShards), upper, limit, func(item map[string]types.AttributeValue) (bool, error) {
		out = append(out, DueConnection{TenantID: attrS(item, "tenantId"), ConnectionID: attrS(item, "id")})
		return true, nil
	})
	return out, err
}

// MarkDisconnected sets a connection's status to StatusDisconnected and
// takes it out of the scheduler's index (as MarkNeedsReauthorization
// does); its version moves on. It reports whether it changed anything: a
// deleted or already disconnected connection is left alone.
func (s *Store) MarkDisconnected(ctx context.Context, tenant, id string) (bool, error) {
	if !keyable(tenant) || !keyable(id) {
		return false, nil
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), connSK(id)),
		UpdateExpression:         aws.String("SET #s = :s, updatedAt = :now ADD version :one REMOVE GSI2PK, GSI2SK"),
		ConditionExpression:      aws.String("attribute_exists(PK) AND (attribute_not_exists(#s) OR #s <> :s)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: StatusDisconnected}, ":one": numAV(1),
			":now": &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("marking connection disconnected: %w", err)
	}
	return true, nil
}
