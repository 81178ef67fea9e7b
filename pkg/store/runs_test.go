package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

func TestRuns_SecondRunOfConnectionIsRefusedUntilLockExpires(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	spec := store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerManual, LockFor: time.Hour}
	first, err := st.StartRun(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.StartRun(ctx, spec)
	var busy *store.RunInProgressError
	if !errors.As(err, &busy) || busy.RunID != first.ID {
		t.Fatalf("second start = %v, want RunInProgressError(%s)", err, first.ID)
	}
	// Another connection is independent.
	if _, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c2", Trigger: store.TriggerManual, LockFor: time.Hour}); err != nil {
		t.Fatalf("other connection: %v", err)
	}
	// The first run crashed: its lock expires.
	clk.advance(61 * time.Minute)
	if _, err := st.StartRun(ctx, spec); err != nil {
		t.Fatalf("start after lock expiry: %v", err)
	}
}

func TestRuns_PageRecordedTwiceCountsOnceAndRunFinishesOnce(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlan(ctx, "t1", run.ID, 3, 30); err != nil {
		t.Fatal(err)
	}
	page := func(i int) store.PageResult {
		return store.PageResult{TenantID: "t1", RunID: run.ID, PageID: fmt.Sprint(i),
			Counts: store.Counts{Seen: 10, Created: 7, Unchanged: 2, Invalid: 1},
			Rows:   []store.ReportRow{{ExternalID: fmt.Sprint(i, "-x"), Outcome: "invalid", Reason: "no_identifier"}, {ExternalID: fmt.Sprint(i, "-y"), Outcome: "created", ContactID: "c"}}}
	}
	// Pages 0 and 1, page 1 twice (an SQS redelivery), concurrently.
	var wg sync.WaitGroup
	results := make(chan bool, 3)
	for _, i := range []int{0, 1, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counted, _, err := st.RecordPage(ctx, page(i), time.Hour)
			if err != nil {
				t.Error(err)
			}
			results <- counted
		}()
	}
	wg.Wait()
	close(results)
	n := 0
	for c := range results {
		if c {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d pages counted, want 2", n)
	}
	counted, done, err := st.RecordPage(ctx, page(2), time.Hour)
	if err != nil || !counted || !done {
		t.Fatalf("last page: counted %v done %v err %v", counted, done, err)
	}
	// Two finishers race: both see the same finished run.
	var finished [2]store.Run
	for i := range finished {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := st.FinishRun(ctx, "t1", run.ID)
			if err != nil {
				t.Error(err)
			}
			finished[i] = r
		}()
	}
	wg.Wait()
	got := finished[0]
	if got.Status != store.RunCompleted || got.Counts.Created != 21 || got.Counts.Seen != 30 || got.Counts.Invalid != 3 {
		t.Fatalf("run = %+v", got)
	}
	if finished[1].Status != store.RunCompleted || !finished[1].FinishedAt.Equal(got.FinishedAt) {
		t.Errorf("second finisher saw %+v", finished[1])
	}
	// The lock is released: a new run can start.
	if _, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerManual, LockFor: time.Hour}); err != nil {
		t.Errorf("start after finish: %v", err)
	}
	rows, next, err := st.ListReport(ctx, "t1", run.ID, "invalid", 2, "")
	if err != nil || len(rows) != 2 || next == "" {
		t.Fatalf("report page 1 = %v %q %v", rows, next, err)
	}
	rows2, next2, err := st.ListReport(ctx, "t1", run.ID, "invalid", 2, next)
	if err != nil || len(rows2) != 1 || next2 != "" {
		t.Fatalf("report page 2 = %v %q %v", rows2, next2, err)
	}
	if _, _, err := st.ListReport(ctx, "t2", run.ID, "", 2, next); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("tenant 2 with tenant 1's cursor: %v, want ErrBadCursor", err)
	}
}

func TestRuns_RunThatDoesNotAddUpFails(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerSchedule, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlan(ctx, "t1", run.ID, 1, -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordPage(ctx, store.PageResult{TenantID: "t1", RunID: run.ID, PageID: "p", Counts: store.Counts{Seen: 5, Created: 4}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := st.FinishRun(ctx, "t1", run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunFailed || got.Error == "" {
		t.Fatalf("run = %+v, want failed with a reason", got)
	}
}

func TestRuns_ListNewestFirstAndExpiredInvisible(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	var ids []string
	for range 3 {
		r, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerSchedule, LockFor: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		clk.advance(2 * time.Minute) // lock lapses; next run may start
	}
	runs, next, err := st.ListRuns(ctx, "t1", "c1", 2, "")
	if err != nil || len(runs) != 2 || next == "" || runs[0].ID != ids[2] || runs[1].ID != ids[1] {
		t.Fatalf("page 1 = %v %q %v", runs, next, err)
	}
	runs, next, err = st.ListRuns(ctx, "t1", "", 5, "")
	if err != nil || len(runs) != 3 || next != "" || runs[0].ID != ids[2] {
		t.Fatalf("tenant list = %v %q %v", runs, next, err)
	}
	// A year and a day later every run is expired: invisible to reads.
	clk.advance(366 * 24 * time.Hour)
	runs, _, err = st.ListRuns(ctx, "t1", "", 5, "")
	if err != nil || len(runs) != 0 {
		t.Fatalf("expired runs listed: %v %v", runs, err)
	}
	if _, err := st.GetRun(ctx, "t1", ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired run read: %v", err)
	}
	if _, err := st.GetRun(ctx, "t2", ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant's run read: %v", err)
	}
}

// A chained listing counts each next page before it is enqueued, so the
// last page recorded ahead of its predecessor (fetch overlapping apply)
// does not finish the run, and a retried page's chaining counts once.
func TestRuns_ChainedPageRecordedEarlyDoesNotFinishRun(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlan(ctx, "t1", run.ID, 1, -1); err != nil {
		t.Fatal(err)
	}
	for range 2 { // page "a" fetched, then retried: its next page counts once
		if err := st.ChainPage(ctx, "t1", run.ID, "a", "b"); err != nil {
			t.Fatal(err)
		}
	}
	page := func(id string) store.PageResult {
		return store.PageResult{TenantID: "t1", RunID: run.ID, PageID: id, Counts: store.Counts{Seen: 5, Created: 5}}
	}
	// "b" (the last page) is recorded before "a".
	if _, done, err := st.RecordPage(ctx, page("b"), time.Hour); err != nil || done {
		t.Fatalf("last page first: done=%v err=%v, want not done", done, err)
	}
	if _, done, err := st.RecordPage(ctx, page("a"), time.Hour); err != nil || !done {
		t.Fatalf("first page last: done=%v err=%v, want done", done, err)
	}
	got, err := st.FinishRun(ctx, "t1", run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunCompleted || got.PagesTotal != 2 || got.Counts.Created != 10 {
		t.Fatalf("run = %s, %d pages, %+v; want completed, 2 pages, 10 created", got.Status, got.PagesTotal, got.Counts)
	}
	// Chaining after the run is over is a no-op, not an error.
	if next, err := st.ChainedNext(ctx, "t1", run.ID, "a"); err != nil || next != "b" {
		t.Fatalf("the page chained after a = %q, %v; want b", next, err)
	}
	if err := st.ChainPage(ctx, "t1", run.ID, "b", "c"); err != nil {
		t.Fatalf("chaining on a finished run: %v", err)
	}
}
