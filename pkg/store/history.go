package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
)

// HistoryEntry is one event in a phone number's or contact's history
// (consent changes with their evidence, replies, merges, deletes). It is
// kept for one year.
type HistoryEntry struct {
	At time.Time `dynamodbav:"at" json:"at"`
	// EventID makes the write idempotent: the same event written twice is
	// one item.
	EventID string            `dynamodbav:"eventId" json:"-"`
	Kind    string            `dynamodbav:"kind" json:"kind"`
	Detail  map[string]string `dynamodbav:"detail,omitempty" json:"detail,omitempty"`
}

type historyItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	HistoryEntry
}

func historyAV(tenant, subject string, e HistoryEntry) (map[string]types.AttributeValue, error) {
	return marshalMap(historyItem{
		PK: historyPK(tenant, subject), SK: e.At.UTC().Format(time.RFC3339Nano) + "#" + e.EventID,
		ExpiresAt: e.At.Add(resources.RetentionPeriod).Unix(), HistoryEntry: e,
	})
}

// AppendHistory records an event for subject (an E.164 number or a contact
// id). Writing the same EventID at the same time again changes nothing.
func (s *Store) AppendHistory(ctx context.Context, tenant, subject string, e HistoryEntry) error {
	av, err := historyAV(tenant, subject, e)
	if err != nil {
		return err
	}
	return s.put(ctx, av)
}

// ListHistory lists subject's events newest first; expired ones are skipped.
func (s *Store) ListHistory(ctx context.Context, tenant, subject string, limit int, cursor string) ([]HistoryEntry, string, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPartition),
		FilterExpression: aws.String(filterLive),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: historyPK(tenant, subject)}, ":now": numAV(s.now().Unix()),
		},
		ScanIndexForward: aws.Bool(false),
	}
	return listPage(ctx, s, in, tableListing(historyPK(tenant, subject), ""), cursor, limit, func(it historyItem) HistoryEntry { return it.HistoryEntry })
}

type suppressionItem struct {
	PK     string    `dynamodbav:"PK"`
	SK     string    `dynamodbav:"SK"`
	At     time.Time `dynamodbav:"at"`
	Reason string    `dynamodbav:"reason"`
}

// Suppress records that a number opted out, keyed by the SHA-256 of the
// number so the entry survives a privacy redaction of everything else.
func (s *Store) Suppress(ctx context.Context, tenant, e164 string, at time.Time, reason string) error {
	av, err := marshalMap(suppressionItem{PK: suppressionPK(tenant, e164), SK: skSup, At: at, Reason: reason})
	if err != nil {
		return err
	}
	return s.put(ctx, av)
}

// Suppressed reports whether the number has a suppression entry, and since when.
func (s *Store) Suppressed(ctx context.Context, tenant, e164 string) (bool, time.Time, error) {
	var it suppressionItem
	err := s.getItem(ctx, "suppression", false, suppressionPK(tenant, e164), skSup, &it)
	if errors.Is(err, ErrNotFound) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	return true, it.At, nil
}
