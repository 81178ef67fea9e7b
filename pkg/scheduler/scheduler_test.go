package scheduler_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

func TestScheduler_StartsDueSkipsRunningAndNotDue(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	st := store.New(s.DynamoDB, s.Table, store.WithClock(func() time.Time { return now }))
	starter := syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour}
	conns := []store.Connection{
		{TenantID: "t1", ID: "due", Enabled: true, SyncIntervalHours: 24, NextSyncAt: now.Add(-time.Hour), LastSyncAt: now.Add(-25 * time.Hour), LastFullSyncAt: now.Add(-48 * time.Hour)},
		{TenantID: "t2", ID: "running", Enabled: true, SyncIntervalHours: 24, NextSyncAt: now.Add(-time.Hour)},
		{TenantID: "t1", ID: "later", Enabled: true, SyncIntervalHours: 24, NextSyncAt: now.Add(time.Hour)},
		{TenantID: "t3", ID: "disabled", Enabled: false, SyncIntervalHours: 24, NextSyncAt: now.Add(-time.Hour)},
	}
	for _, c := range conns {
		if err := st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := starter.Start(ctx, "t2", "running", store.TriggerManual, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../events/scheduler/daily.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	h := scheduler.New(scheduler.Deps{Store: st, Starter: starter, Now: func() time.Time { return now }})
	sum, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (scheduler.Summary{Due: 2, Started: 1, Skipped: 1}) {
		t.Fatalf("summary = %+v, want due 2, started 1 (due), skipped 1 (running)", sum)
	}
	runs, _, err := st.ListRuns(ctx, "t1", "due", 10, "")
	if err != nil || len(runs) != 1 || runs[0].Trigger != store.TriggerSchedule || !runs[0].Incremental {
		t.Fatalf("runs of the due connection = %+v %v, want one incremental scheduled run", runs, err)
	}
	if runs, _, _ := st.ListRuns(ctx, "t1", "later", 10, ""); len(runs) != 0 {
		t.Errorf("connection not yet due got a run: %+v", runs)
	}
}
