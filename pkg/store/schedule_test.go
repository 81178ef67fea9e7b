package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/schedule"
	"github.com/contactsync/contactsync/pkg/store"
)

func due(t *testing.T, st *store.Store, at time.Time) []string {
	t.Helper()
	var ids []string
	if err := st.ListDueConnections(context.Background(), at, func(d store.DueConnection) error {
		ids = append(ids, d.ConnectionID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestMarkSynced_NextDueAnchoredToTheSlot: a daily run that started two
// seconds after its slot's tick is due again at the tick a day later (the
// next due time was start + 24 h: not due at that tick, so daily syncs ran
// every 48 hours).
func TestMarkSynced_NextDueAnchoredToTheSlot(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	const tenant, id = "t_sched", "t_sched.c_daily"
	slot := schedule.Next(tenant, id, 24*time.Hour, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err := st.CreateConnection(ctx, store.Connection{TenantID: tenant, ID: id, Enabled: true, SyncIntervalHours: 24, NextSyncAt: slot}); err != nil {
		t.Fatal(err)
	}
	tick := slot // a tick at the slot itself: the worst case
	if err := st.MarkSynced(ctx, tenant, id, tick.Add(2*time.Second), false); err != nil {
		t.Fatal(err)
	}
	c, err := st.GetConnection(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NextSyncAt.Equal(slot.Add(24 * time.Hour)) {
		t.Errorf("next sync %v, want the next slot %v", c.NextSyncAt, slot.Add(24*time.Hour))
	}
	if got := due(t, st, tick.Add(24*time.Hour)); !slices.Contains(got, id) {
		t.Errorf("not due at the tick a day later: %v", got)
	}
	if got := due(t, st, tick.Add(24*time.Hour-schedule.Tick)); slices.Contains(got, id) {
		t.Errorf("due a tick early: %v", got)
	}
	// A run that started long after its slot (and took hours) keeps the
	// same schedule.
	if err := st.MarkSynced(ctx, tenant, id, slot.Add(24*time.Hour+9*time.Minute), true); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.GetConnection(ctx, tenant, id); !c.NextSyncAt.Equal(slot.Add(48 * time.Hour)) {
		t.Errorf("next sync %v, want %v", c.NextSyncAt, slot.Add(48*time.Hour))
	}
}

// TestScheduleNext_MovesOnlyAnEnabledConnection.
func TestScheduleNext_MovesOnlyAnEnabledConnection(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	for _, c := range []store.Connection{
		{TenantID: "t_s", ID: "t_s.c_on", Enabled: true, SyncIntervalHours: 6, NextSyncAt: now.Add(-time.Minute), Label: "keep"},
		{TenantID: "t_s", ID: "t_s.c_off", Enabled: false, SyncIntervalHours: 6, NextSyncAt: now.Add(-time.Minute)},
	} {
		if err := st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	next := now.Add(6 * time.Hour)
	for _, id := range []string{"t_s.c_on", "t_s.c_off", "t_s.c_gone"} {
		if err := st.ScheduleNext(ctx, "t_s", id, next); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if got := due(t, st, now); len(got) != 0 {
		t.Errorf("due now: %v, want none", got)
	}
	if got := due(t, st, next); !slices.Equal(got, []string{"t_s.c_on"}) {
		t.Errorf("due at the next slot: %v, want the enabled one only", got)
	}
	on, _ := st.GetConnection(ctx, "t_s", "t_s.c_on")
	if !on.NextSyncAt.Equal(next) || on.Label != "keep" || on.Version != 1 {
		t.Errorf("enabled connection after ScheduleNext: %+v", on)
	}
	off, _ := st.GetConnection(ctx, "t_s", "t_s.c_off")
	if !off.NextSyncAt.Equal(now.Add(-time.Minute)) {
		t.Errorf("disabled connection moved: %v", off.NextSyncAt)
	}
	if _, err := st.GetConnection(ctx, "t_s", "t_s.c_gone"); err == nil {
		t.Error("ScheduleNext created a connection")
	}
}
