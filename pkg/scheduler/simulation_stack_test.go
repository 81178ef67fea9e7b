package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/schedule"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// TestSimulation_OnTheStack: three days of 15-minute ticks through the real
// scheduler, store (DynamoDB Local, the store's clock at simulated time),
// run lock and pages queue; each run ends hours later the way bulk sync
// ends one (plan, page, FinishRun, MarkSynced with the run's start). A
// daily and a 6-hourly connection run exactly on their slots: 3 and 12
// runs, each within a tick of its slot.
func TestSimulation_OnTheStack(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 7, 13, 0, time.UTC)
	now := t0
	st := store.New(s.DynamoDB, s.Table, store.WithClock(func() time.Time { return now }))
	starter := syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: 6 * time.Hour}
	h := scheduler.New(scheduler.Deps{Store: st, Starter: starter, Now: func() time.Time { return now }})
	conns := []store.Connection{
		{TenantID: "t_sim", ID: "t_sim.c_daily", Enabled: true, SyncIntervalHours: 24},
		{TenantID: "t_sim", ID: "t_sim.c_6h", Enabled: true, SyncIntervalHours: 6},
	}
	install := t0.Add(-schedule.Tick)
	for _, c := range conns {
		c.LastSyncAt, c.LastFullSyncAt = install, install
		c.NextSyncAt = schedule.AfterStart(c.TenantID, c.ID, c.SyncIntervalHours, install)
		if err := st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	type open struct {
		run store.Run
		end time.Time
	}
	running := map[string]open{}
	finish := func() {
		for id, o := range running {
			if o.end.After(now) {
				continue
			}
			if err := st.SetPlan(ctx, o.run.TenantID, o.run.ID, 1, -1); err != nil {
				t.Fatal(err)
			}
			if _, done, err := st.RecordPage(ctx, store.PageResult{TenantID: o.run.TenantID, RunID: o.run.ID, PageID: "p1"}, time.Hour); err != nil || !done {
				t.Fatalf("page: done %v, %v", done, err)
			}
			run, err := st.FinishRun(ctx, o.run.TenantID, o.run.ID)
			if err != nil || run.Status != store.RunCompleted {
				t.Fatalf("finish: %+v %v", run, err)
			}
			if err := st.MarkSynced(ctx, run.TenantID, run.ConnectionID, run.StartedAt, !run.Incremental); err != nil {
				t.Fatal(err)
			}
			delete(running, id)
		}
	}
	starts := map[string][]time.Time{}
	for k := range 3*96 + 1 {
		now = t0.Add(time.Duration(k) * schedule.Tick)
		finish()
		now = now.Add(time.Duration(k%4) * 10 * time.Second) // the tick arrives a little late
		if _, err := h.Handle(ctx, events.EventBridgeEvent{}); err != nil {
			t.Fatal(err)
		}
		for _, c := range conns {
			if _, ok := running[c.ID]; ok {
				continue
			}
			id, err := st.RunningRunID(ctx, c.TenantID, c.ID)
			if err != nil || id == "" {
				continue
			}
			run, err := st.GetRun(ctx, c.TenantID, id)
			if err != nil {
				t.Fatal(err)
			}
			starts[c.ID] = append(starts[c.ID], run.StartedAt)
			// The daily run takes 5 hours; the 6-hourly one 2.
			takes := map[int]time.Duration{24: 5 * time.Hour, 6: 2 * time.Hour}[c.SyncIntervalHours]
			running[c.ID] = open{run: run, end: run.StartedAt.Add(takes)}
		}
	}
	for _, c := range conns {
		interval := schedule.Interval(c.SyncIntervalHours)
		first := schedule.Next(c.TenantID, c.ID, interval, t0)
		want := int(3 * 24 * time.Hour / interval)
		if len(starts[c.ID]) != want {
			t.Errorf("%s: %d runs in 3 days, want %d: %v", c.ID, len(starts[c.ID]), want, starts[c.ID])
			continue
		}
		for i, at := range starts[c.ID] {
			if d := at.Sub(first.Add(time.Duration(i) * interval)); d < 0 || d > schedule.Tick+time.Minute {
				t.Errorf("%s: run %d started %v after its slot", c.ID, i, d)
			}
		}
	}
}
