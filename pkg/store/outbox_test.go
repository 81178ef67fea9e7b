package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestOutbox_SweepSeesLostEnqueuesLapsedLeasesAndGivesUp: the sweeper's
// index holds a marker until it is finished: pending after the grace
// period, a lease whose holder died after it lapsed (the next holder is
// told so, to reconcile before sending), nothing once sent; a marker swept
// OutboxMaxSweeps times is failed with the reason.
func TestOutbox_SweepSeesLostEnqueuesLapsedLeasesAndGivesUp(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	sweep := func() []store.OutboxEntry {
		t.Helper()
		var got []store.OutboxEntry
		if _, err := st.SweepOutbox(ctx, clk.now(), 10*time.Minute, 100, func(e store.OutboxEntry) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	e := store.SMSEntry(tenant.ID, consent.Message{Phone: "+61412000111", Purpose: consent.PurposeHelp, At: clk.now()})
	if err := st.PutOutbox(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got := sweep(); len(got) != 0 {
		t.Fatalf("inside the grace period: %+v", got)
	}
	clk.advance(store.OutboxGrace + time.Second)
	if got := sweep(); len(got) != 1 || got[0].Ref != e.Ref || got[0].Phone != e.Phone || got[0].Kind != store.OutboxKindSMS || got[0].Sweeps != 1 {
		t.Fatalf("after the grace period: %+v", got)
	}
	if got := sweep(); len(got) != 0 {
		t.Fatalf("swept again at once: %+v", got)
	}

	// A consumer leases it and dies.
	l, err := st.LeaseOutbox(ctx, tenant.ID, e.Ref, time.Minute)
	if err != nil || !l.OK || l.State != store.OutboxPending {
		t.Fatalf("lease = %+v %v", l, err)
	}
	clk.advance(time.Minute + store.OutboxGrace + time.Second)
	if got := sweep(); len(got) != 1 {
		t.Fatalf("after the lapsed lease: %+v", got)
	}
	l, err = st.LeaseOutbox(ctx, tenant.ID, e.Ref, time.Minute)
	if err != nil || !l.OK || l.State != store.OutboxSending || l.PrevAttempt.IsZero() {
		t.Fatalf("lease after a dead holder = %+v %v, want OK from sending with the previous attempt's time", l, err)
	}
	if err := st.FinishOutbox(ctx, tenant.ID, e.Ref, store.OutboxResult{Status: store.OutboxSent, Detail: "SM1", Credits: 1}); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Hour)
	if got := sweep(); len(got) != 0 {
		t.Fatalf("a sent marker was swept: %+v", got)
	}
	if used, _ := st.CreditsUsed(ctx, tenant.ID); used != 1 {
		t.Fatalf("credits = %d, want 1", used)
	}

	// A marker nobody ever delivers is given up after OutboxMaxSweeps.
	lost := store.SMSEntry(tenant.ID, consent.Message{Phone: "+61412000222", Purpose: consent.PurposeHelp, At: clk.now()})
	if err := st.PutOutbox(ctx, lost); err != nil {
		t.Fatal(err)
	}
	for i := range store.OutboxMaxSweeps {
		clk.advance(store.OutboxGrace + 10*time.Minute)
		if got := sweep(); len(got) != 1 {
			t.Fatalf("sweep %d: %+v", i+1, got)
		}
	}
	clk.advance(time.Hour)
	if got := sweep(); len(got) != 0 {
		t.Fatalf("swept after %d sweeps: %+v", store.OutboxMaxSweeps, got)
	}
	if _, status, err := st.GetOutbox(ctx, tenant.ID, lost.Ref); err != nil || status != store.OutboxFailed {
		t.Fatalf("given-up marker = %q %v, want failed", status, err)
	}
}
