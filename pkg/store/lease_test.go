package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/store"
)

// counted counts the item reads and writes made through it.
type counted struct {
	store.DynamoDBAPI
	n atomic.Int32
}

func (c *counted) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.DynamoDBAPI.GetItem(ctx, in, opts...)
}

func (c *counted) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.DynamoDBAPI.UpdateItem(ctx, in, opts...)
}

// A second holder refused a lease learns the marker's state from the
// refusal itself: one request, no read after it.
func TestLeaseOutbox_RefusedLeaseCostsOneRequest(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	db := &counted{DynamoDBAPI: s.DynamoDB}
	st := store.New(db, s.Table)
	ctx := context.Background()
	e := store.SMSEntry("t1", consent.Message{Phone: "+61412000071", Purpose: consent.PurposeHelp, At: time.Now()})
	if err := st.PutOutbox(ctx, e); err != nil {
		t.Fatal(err)
	}
	if l, err := st.LeaseOutbox(ctx, "t1", e.Ref, time.Minute); err != nil || !l.OK {
		t.Fatalf("first lease: %+v %v", l, err)
	}
	db.n.Store(0)
	l, err := st.LeaseOutbox(ctx, "t1", e.Ref, time.Minute)
	if err != nil || l.OK || l.State != store.OutboxSending {
		t.Fatalf("second lease = %+v %v; want refused, the marker sending", l, err)
	}
	if requests := db.n.Load(); requests != 1 {
		t.Errorf("a refused lease made %d requests, want 1", requests)
	}
}
