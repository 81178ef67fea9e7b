package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
)

// A run's page window (pkg/bulksync): a plan with more pages than the
// window enqueues only the first ones and keeps the rest here, one item
// per cursor under the run (PK=T#t#RUN#<r>, SK=FAN#<nnnnnn>, its 1-based
// place in the plan); a page that ends its share of the window reads the
// cursors it enqueues next with FanoutCursors.

type fanoutItem struct {
	PK        string        `dynamodbav:"PK"`
	SK        string        `dynamodbav:"SK"`
	Cursor    source.Cursor `dynamodbav:"c"`
	ExpiresAt int64         `dynamodbav:"expiresAt"`
}

func fanoutSK(seq int) string { return fmt.Sprintf("FAN#%06d", seq) }

// SaveFanout stores cursors as the plan's pages from, from+1, ... (1-based
// places in the plan), 25 to a request. Writing them again (a retried plan
// message) writes the same items.
func (s *Store) SaveFanout(ctx context.Context, tenant, runID string, from int, cursors []source.Cursor) error {
	pk := runPK(tenant, runID)
	exp := s.now().Add(resources.RetentionPeriod).Unix()
	items := make([]any, 0, len(cursors))
	for i, c := range cursors {
		items = append(items, fanoutItem{PK: pk, SK: fanoutSK(from + i), Cursor: c, ExpiresAt: exp})
	}
	return s.putItems(ctx, "the plan's pages", items)
}

// FanoutCursors returns the cursors SaveFanout stored at places from to
// to (inclusive) of the run's plan, in order, read by one strongly
// consistent query (a block of ten cursors is one read unit); a place not
// stored is an error.
func (s *Store) FanoutCursors(ctx context.Context, tenant, runID string, from, to int) ([]source.Cursor, error) {
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: runPK(tenant, runID)},
			":from": &types.AttributeValueMemberS{Value: fanoutSK(from)},
			":to":   &types.AttributeValueMemberS{Value: fanoutSK(to)},
		},
	}
	curs := make([]source.Cursor, 0, max(to-from+1, 0))
	err := s.queryAll(ctx, "reading the plan's pages", in, func(out *dynamodb.QueryOutput) error {
		for _, item := range out.Items {
			var it fanoutItem
			if err := unmarshalMap(item, &it); err != nil {
				return err
			}
			curs = append(curs, it.Cursor)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(curs) != to-from+1 {
		return nil, fmt.Errorf("places %d to %d of the plan: %d stored", from, to, len(curs))
	}
	return curs, nil
}
