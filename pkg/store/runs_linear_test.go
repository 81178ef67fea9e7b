package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/store"
)

// A run's bookkeeping per page does not grow with the pages before it: the
// last page of a long run costs the same requests and units as its second
// one, and the run item, updated by every page, stays the same size (its
// counters only gain digits). Cost per contact then stays flat as a sync
// grows (the bench's -linear mode measures it end to end).
func TestRuns_PageBookkeepingDoesNotGrowWithThePages(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, stack, _ := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	const pages = 120
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlan(ctx, "t1", run.ID, pages, pages*100); err != nil {
		t.Fatal(err)
	}
	runItemSize := func() int {
		t.Helper()
		out, err := stack.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stack.Table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "T#t1"}, "SK": &types.AttributeValueMemberS{Value: "RUN#" + run.ID}}})
		if err != nil || out.Item == nil {
			t.Fatalf("reading the run item: %v", err)
		}
		n := 0
		for k, v := range out.Item {
			n += len(k) + len(fmt.Sprint(v))
		}
		return n
	}
	type cost struct {
		requests int
		rcu, wcu float64
	}
	record := func(i int) cost {
		t.Helper()
		_, _, r0 := usage.Totals()
		rcu0, wcu0 := usage.Estimated()
		var rows []store.ReportRow
		for j := range 3 {
			rows = append(rows, store.ReportRow{ExternalID: fmt.Sprintf("%d-%d", i, j), Outcome: "created", ContactID: fmt.Sprintf("c%d-%d", i, j)})
		}
		counted, done, err := st.RecordPage(ctx, store.PageResult{TenantID: "t1", RunID: run.ID, PageID: fmt.Sprint("p", i),
			Counts: store.Counts{Seen: 100, Created: 3, Unchanged: 97}, Rows: rows}, time.Hour)
		if err != nil || !counted || done != (i == pages-1) {
			t.Fatalf("page %d: counted %v, done %v, %v", i, counted, done, err)
		}
		_, _, r1 := usage.Totals()
		rcu1, wcu1 := usage.Estimated()
		return cost{requests: r1 - r0, rcu: rcu1 - rcu0, wcu: wcu1 - wcu0}
	}
	record(0)
	second := record(1)
	sizeEarly := runItemSize()
	var last cost
	for i := 2; i < pages; i++ {
		last = record(i)
	}
	if last != second {
		t.Errorf("page %d cost %+v, page 2 cost %+v: a page's bookkeeping grows with the run", pages, last, second)
	}
	// The counters went from 2 pages and 200 records to 120 and 12,000:
	// a few digits, nothing per page.
	if grown := runItemSize() - sizeEarly; grown > 16 {
		t.Errorf("the run item grew by %d bytes over %d pages: something is kept per page", grown, pages-2)
	}
	if fin, err := st.FinishRun(ctx, "t1", run.ID); err != nil || fin.Status != store.RunCompleted || fin.Counts.Seen != pages*100 {
		t.Fatalf("finish: %+v, %v", fin, err)
	}
}
