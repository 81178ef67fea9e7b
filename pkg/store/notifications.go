package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Notifications to the hub (pkg/notify): a tenant's endpoint (its URL and
// sealed signing secret) on the tenant's partition, and one log item per
// event, kept like runs (resources.RetentionPeriod), whose delivery the
// outbox carries (an outbox marker of kind OutboxKindNotify with the
// event's id as reference).

// OutboxKindNotify is the outbox kind of a notification delivery.
const OutboxKindNotify = "notify"

// Notification delivery statuses.
const (
	NotificationPending   = "pending"
	NotificationDelivered = "delivered"
	NotificationFailed    = "failed"
)

const skNotifyEndpoint = "NOTIFY"

func notificationsPK(t string) string { return "T#" + t + "#NTF" }

// NotifyEndpoint is where a tenant's notifications go.
type NotifyEndpoint struct {
	URL string `dynamodbav:"url"`
	// Secret is the sealed signing secret ("whsec_..." sealed with the
	// tenant id as additional data).
	Secret    []byte    `dynamodbav:"secret"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
}

type notifyEndpointItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	NotifyEndpoint
}

// PutNotifyEndpoint sets (or replaces: a new secret) a tenant's endpoint.
func (s *Store) PutNotifyEndpoint(ctx context.Context, tenant string, e NotifyEndpoint) error {
	av, err := marshalMap(notifyEndpointItem{PK: tenantPK(tenant), SK: skNotifyEndpoint, NotifyEndpoint: e})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av})
	return err
}

// GetNotifyEndpoint reads a tenant's endpoint (ErrNotFound: none).
func (s *Store) GetNotifyEndpoint(ctx context.Context, tenant string) (NotifyEndpoint, error) {
	var it notifyEndpointItem
	if err := s.getItem(ctx, "notification endpoint", true, tenantPK(tenant), skNotifyEndpoint, &it); err != nil {
		return NotifyEndpoint{}, err
	}
	return it.NotifyEndpoint, nil
}

// DeleteNotifyEndpoint removes a tenant's endpoint (ErrNotFound: none);
// deliveries still due are then skipped.
func (s *Store) DeleteNotifyEndpoint(ctx context.Context, tenant string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), skNotifyEndpoint),
		ConditionExpression: aws.String(condExists)})
	return written(err, ErrNotFound, "deleting notification endpoint")
}

// Notification is one event for the hub and its delivery so far.
type Notification struct {
	TenantID string `dynamodbav:"tenantId"`
	// ID is the event's webhook-id; ids sort by time.
	ID   string `dynamodbav:"id"`
	Type string `dynamodbav:"type"`
	// Body is the exact JSON sent on every attempt.
	Body           []byte    `dynamodbav:"body"`
	CreatedAt      time.Time `dynamodbav:"createdAt"`
	Status         string    `dynamodbav:"status"`
	Attempts       int       `dynamodbav:"attempts"`
	LastStatusCode int       `dynamodbav:"lastStatusCode,omitempty"`
	LastError      string    `dynamodbav:"lastError,omitempty"`
	LastAttemptAt  time.Time `dynamodbav:"lastAttemptAt,omitempty"`
	NextAttemptAt  time.Time `dynamodbav:"nextAttemptAt,omitempty"`
	ExpiresAt      int64     `dynamodbav:"expiresAt"`
}

type notificationItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	Notification
}

// NotifyEntry is the outbox entry of notification n: its marker, and the
// notification's log item with it (written by UpdateLedger and
// PutNotification).
func NotifyEntry(n Notification) OutboxEntry {
	return OutboxEntry{TenantID: n.TenantID, Ref: n.ID, Kind: OutboxKindNotify, At: n.CreatedAt, Notification: &n}
}

// notificationPut is the conditional put of e's notification log item (ok
// false: e is no notification).
func (s *Store) notificationPut(e OutboxEntry) (types.TransactWriteItem, bool, error) {
	if e.Kind != OutboxKindNotify || e.Notification == nil {
		return types.TransactWriteItem{}, false, nil
	}
	n := *e.Notification
	n.TenantID, n.ID, n.Status = e.TenantID, e.Ref, NotificationPending
	n.ExpiresAt = n.CreatedAt.Add(resources.RetentionPeriod).Unix()
	av, err := marshalMap(notificationItem{PK: notificationsPK(e.TenantID), SK: e.Ref, Notification: n})
	if err != nil {
		return types.TransactWriteItem{}, false, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String(condAbsent)}}, true, nil
}

// PutNotification writes a notification's log item and its outbox marker
// in one transaction; created is false when the same event (same id) was
// stored before, and nothing is written.
func (s *Store) PutNotification(ctx context.Context, n Notification) (created bool, err error) {
	e := NotifyEntry(n)
	logPut, _, err := s.notificationPut(e)
	if err != nil {
		return false, err
	}
	marker, err := s.outboxPut(e, s.now())
	if err != nil {
		return false, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{logPut, marker})
	if reasons := cancelReasons(err); len(reasons) > 1 && (reasons[0] == "ConditionalCheckFailed" || reasons[1] == "ConditionalCheckFailed") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("writing notification: %w", err)
	}
	return true, nil
}

// GetNotification reads one notification (ErrNotFound: none, or expired).
func (s *Store) GetNotification(ctx context.Context, tenant, id string) (Notification, error) {
	if !keyable(tenant) || !keyable(id) {
		return Notification{}, ErrNotFound
	}
	var it notificationItem
	if err := s.getItem(ctx, "notification", true, notificationsPK(tenant), id, &it); err != nil {
		return Notification{}, err
	}
	if it.ExpiresAt <= s.now().Unix() {
		return Notification{}, ErrNotFound
	}
	return it.Notification, nil
}

// NotificationAttempt is one delivery attempt's outcome.
type NotificationAttempt struct {
	At         time.Time
	StatusCode int    // 0: no answer
	Error      string // "" when delivered
	// Status is the notification's status after the attempt; NextAttemptAt
	// is when a pending one is tried again.
	Status        string
	NextAttemptAt time.Time
}

// RecordNotificationAttempt counts an attempt and records its outcome; it
// returns the notification as it now is.
func (s *Store) RecordNotificationAttempt(ctx context.Context, tenant, id string, a NotificationAttempt) (Notification, error) {
	next, err := marshalTime(a.NextAttemptAt)
	if err != nil {
		return Notification{}, err
	}
	at, err := marshalTime(a.At)
	if err != nil {
		return Notification{}, err
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(notificationsPK(tenant), id),
		UpdateExpression:         aws.String("SET #s = :s, lastStatusCode = :c, lastError = :e, lastAttemptAt = :at, nextAttemptAt = :next ADD attempts :one"),
		ConditionExpression:      aws.String(condExists),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: a.Status}, ":c": numAV(int64(a.StatusCode)),
			":e": &types.AttributeValueMemberS{Value: a.Error}, ":at": at, ":next": next, ":one": numAV(1),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err = written(err, ErrNotFound, "recording notification attempt"); err != nil {
		return Notification{}, err
	}
	var it notificationItem
	if err := unmarshalMap(out.Attributes, &it); err != nil {
		return Notification{}, err
	}
	return it.Notification, nil
}

// FailNotification marks a notification failed without an attempt (no
// endpoint any more, the sweeper gave up), with the reason.
func (s *Store) FailNotification(ctx context.Context, tenant, id, reason string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(notificationsPK(tenant), id),
		UpdateExpression:         aws.String("SET #s = :s, lastError = :e REMOVE nextAttemptAt"),
		ConditionExpression:      aws.String(condExists),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: NotificationFailed}, ":e": &types.AttributeValueMemberS{Value: reason},
		},
	})
	return written(err, ErrNotFound, "failing notification")
}

func marshalTime(t time.Time) (types.AttributeValue, error) {
	if t.IsZero() {
		return &types.AttributeValueMemberNULL{Value: true}, nil
	}
	av, err := marshalMap(struct {
		T time.Time `dynamodbav:"t"`
	}{t})
	if err != nil {
		return nil, err
	}
	return av["t"], nil
}

// ListNotifications lists a tenant's notifications newest first.
func (s *Store) ListNotifications(ctx context.Context, tenant string, limit int, cursor string) ([]Notification, string, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression: aws.String(keyPartition),
		FilterExpression:       aws.String(filterLive),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: notificationsPK(tenant)}, ":now": numAV(s.now().Unix()),
		},
	}
	return listPage(ctx, s, in, tableListing(notificationsPK(tenant), "msg_"), cursor, limit, func(it notificationItem) Notification { return it.Notification })
}
