package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
)

// A run's page window (pkg/bulksync): a plan with more pages than the
// window enqueues only the first ones and keeps the rest here, one item
// per cursor under the run (PK=T#t#RUN#<r>, SK=FAN#<nnnnnn>, its 1-based
// place in the plan); a page that ends its share of the window reads the
// cursor it enqueues next with FanoutCursor.

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

// FanoutCursor returns the cursor SaveFanout stored at place seq of the
// run's plan; ok is false when there is none.
func (s *Store) FanoutCursor(ctx context.Context, tenant, runID string, seq int) (cur source.Cursor, ok bool, err error) {
	var it fanoutItem
	err = s.getItem(ctx, "plan page", true, runPK(tenant, runID), fanoutSK(seq), &it)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return it.Cursor, true, nil
}
