package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
)

// A run's page window (pkg/bulksync): a plan with more pages than the
// window enqueues only the first ones and keeps the rest here, under the
// run (PK=T#t#RUN#<r>), in bundles of fanoutBundle consecutive places
// (SK=FAN#<nnnnnn>, the bundle's first place in the plan, 1-based: 1, 11,
// 21, ...), the bundle's cursors as JSON, deflated; a page that ends its
// share of the window reads the cursors it enqueues next with
// FanoutCursors. A page number, an offset or a byte range is a few dozen
// bytes, and a bulk export's ten byte ranges repeat one signed URL, so a
// bundle is one or two write units where a cursor to an item cost one or
// two each: a page past the window costs a tenth of a write, as it costs
// a tenth of a read and of a send (window.go), and a 1,000,000-customer
// export's plan writes 398 items where it wrote 3,980 on the run's key
// (heat.md).
const fanoutBundle = 10

// maxFanoutBytes bounds a bundle's inflated size (an item is at most 400
// KB).
const maxFanoutBytes = 400 << 10

type fanoutItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	First int    `dynamodbav:"f"` // the place of the bundle's first cursor
	Z     []byte `dynamodbav:"z"` // its cursors, JSON, deflated
	// ExpiresAt: the run's retention.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// fanoutSK is the key of the bundle that holds place.
func fanoutSK(place int) string {
	return fmt.Sprintf("FAN#%06d", (place-1)/fanoutBundle*fanoutBundle+1)
}

// SaveFanout stores cursors as the plan's places from, from+1, ...
// (1-based), a bundle to an item and 25 items to a request. Writing them
// again (a retried plan message) writes the same items.
func (s *Store) SaveFanout(ctx context.Context, tenant, runID string, from int, cursors []source.Cursor) error {
	pk := runPK(tenant, runID)
	exp := s.now().Add(resources.RetentionPeriod).Unix()
	var items []any
	for i := 0; i < len(cursors); {
		place := from + i
		n := min(len(cursors)-i, fanoutBundle-(place-1)%fanoutBundle) // to the bundle's end
		raw, err := json.Marshal(cursors[i : i+n])
		if err != nil {
			return err
		}
		z, err := deflateBytes(raw)
		if err != nil {
			return err
		}
		items = append(items, fanoutItem{PK: pk, SK: fanoutSK(place), First: place, Z: z, ExpiresAt: exp})
		i += n
	}
	return s.putItems(ctx, "the plan's pages", items)
}

// FanoutCursors returns the cursors SaveFanout stored at places from to
// to (inclusive) of the run's plan, in order, read by one strongly
// consistent query of the bundles that hold them (a block of ten places
// is one bundle, one read unit when aligned); a place not stored is an
// error.
func (s *Store) FanoutCursors(ctx context.Context, tenant, runID string, from, to int) ([]source.Cursor, error) {
	if from < 1 || to < from {
		return nil, fmt.Errorf("places %d to %d of the plan: no such places", from, to)
	}
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
			raw, err := inflateBytes(it.Z, maxFanoutBytes)
			var bundle []source.Cursor
			if err == nil {
				err = json.Unmarshal(raw, &bundle)
			}
			if err != nil {
				return fmt.Errorf("reading the plan's pages from place %d: %w", it.First, err)
			}
			// The bundle's places within from..to, in order: a place
			// missing before them leaves the count short.
			for i, c := range bundle {
				if p := it.First + i; p >= from && p <= to && p == from+len(curs) {
					curs = append(curs, c)
				}
			}
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
