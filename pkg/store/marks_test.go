package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// A page that crashed after writing a new contact but before its links is
// delivered again after another source wrote the same contact (another
// run's record, or a webhook): the redelivered page still counts the
// record created, as its run did. With one mark per contact (the last
// writer's) it counted it unchanged: a fault-free install of two stores
// sharing people reported 19 of 840 new contacts as unchanged under load.
func TestApply_CrashedPageCountsItsCreationAfterAnotherSourceWroteTheContact(t *testing.T) {
	t.Parallel()
	for _, otherRun := range []string{"run-2", ""} {
		st, _, clk := newStore(t)
		ctx := context.Background()
		c1, c2 := conn("c1", "Shopify", consent.Inferred), conn("c2", "WooCommerce", consent.Inferred)
		rec := record(c1, 21, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
		target := store.Target{TenantID: "t1", Conn: c1, RunID: "run-1"}
		applyCrashing(t, st, target, []source.Record{rec}, clk.now())
		other := record(c2, 21, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
		out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c2, RunID: otherRun}, []source.Record{other}, clk.now())
		if err != nil || out[0].Decision.Outcome != merge.Updated {
			t.Fatalf("the other source's record (run %q): %v %v, want updated", otherRun, out, err)
		}
		out, err = st.ApplyRecords(ctx, target, []source.Record{rec}, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].Decision.Outcome; got != merge.Created {
			t.Errorf("other writer in run %q: the redelivered page counted its record %s, want created", otherRun, got)
		}
		if all := checkClaims(t, st, "t1"); len(all) != 1 || len(all[0].Sources) != 2 {
			t.Errorf("contacts %+v, want one with both sources", all)
		}
	}
}

// Two records of one page land on one contact (the second joins the
// first by its number) and the page crashes after the second's contact
// write: the redelivered page counts one created and one updated, as the
// first delivery did (the first's link was written before the second
// applied, or its mark is kept beside the second's).
func TestApply_CrashedPageCountsEachOfItsRecordsOnOneContact(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	a, b := record(c, 41, t0, "Ann", source.ConsentSignal{}), record(c, 41, t0, "Ann", source.ConsentSignal{})
	a.ExternalID, b.ExternalID = "a", "b"
	b.Emails = []string{"other41@example.com"}
	target := store.Target{TenantID: "t1", Conn: c, RunID: "run-1"}
	var writes atomic.Int32
	store.SetAfterWrite(st, func() error {
		if writes.Add(1) == 2 {
			return errors.New("killed")
		}
		return nil
	})
	if _, err := st.ApplyRecords(ctx, target, []source.Record{a, b}, clk.now()); err == nil {
		t.Fatal("the crash hook did not fire")
	}
	store.SetAfterWrite(st, nil)
	if n := writes.Load(); n != 2 {
		t.Fatalf("%d decisions written before the crash, want 2", n)
	}
	out, err := st.ApplyRecords(ctx, target, []source.Record{a, b}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[merge.Outcome]int{}
	for _, x := range out {
		got[x.Decision.Outcome]++
	}
	if got[merge.Created] != 1 || got[merge.Updated] != 1 {
		t.Errorf("the redelivered page counted %v, want one created and one updated", got)
	}
}

// A webhook delivery that crashed after its decision's transaction but
// before its side writes (group memberships, link, the delivery's key) is
// delivered again: the contact is already as the record says, and the
// delivery's mark on it makes the second delivery redo the side writes, so
// the contact is in its group.
func TestApply_CrashedDeliveryRedoesItsMemberships(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	rec := record(c, 61, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	target := store.Target{TenantID: "t1", Conn: c, Delivery: &store.Delivery{Scope: store.ScopeWebhook, Key: "shopify:c1:d-61", KeepFor: time.Hour}}
	applyCrashing(t, st, target, []source.Record{rec}, clk.now())
	out, err := st.ApplyRecords(ctx, target, []source.Record{rec}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Decision.Outcome; got != merge.Created {
		t.Errorf("the delivery again reports %s, want created (what it did)", got)
	}
	members, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Group: "Shopify - tag-c1"}, 10, "")
	if err != nil || len(members) != 1 {
		t.Fatalf("%d in the group after the delivery came again (%v), want 1", len(members), err)
	}
}

// applyCrashing applies recs with a crash between each decision's write
// and its side writes (the after-write hook fails), and checks that the
// apply failed.
func applyCrashing(t *testing.T, st *store.Store, target store.Target, recs []source.Record, now time.Time) {
	t.Helper()
	store.SetAfterWrite(st, func() error { return errors.New("killed") })
	defer store.SetAfterWrite(st, nil)
	if _, err := st.ApplyRecords(context.Background(), target, recs, now); err == nil {
		t.Fatal("the crash hook did not fire")
	}
}

// A webhook for the same source record lands between a page's crash and
// its redelivery (the record changed at the platform meanwhile): the
// delivery's mark sits beside the run's, so the redelivered page still
// counts its record created.
func TestApply_CrashedPageCountsItsCreationAfterAWebhookForTheSameRecord(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	rec := record(c, 71, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	target := store.Target{TenantID: "t1", Conn: c, RunID: "run-1"}
	applyCrashing(t, st, target, []source.Record{rec}, clk.now())
	changed := rec
	changed.UpdatedAt, changed.LastName = t0.Add(time.Hour), "Nguyen-Smith"
	hook := store.Target{TenantID: "t1", Conn: c, Delivery: &store.Delivery{Scope: store.ScopeWebhook, Key: "shopify:c1:d-71", KeepFor: time.Hour}}
	if out, err := st.ApplyRecords(ctx, hook, []source.Record{changed}, clk.now()); err != nil || out[0].Decision.Outcome != merge.Updated {
		t.Fatalf("the webhook: %+v %v, want updated", out, err)
	}
	out, err := st.ApplyRecords(ctx, target, []source.Record{rec}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Decision.Outcome; got != merge.Created {
		t.Errorf("the redelivered page counted its record %s, want created", got)
	}
	if all := checkClaims(t, st, "t1"); len(all) != 1 || all[0].LastName.Value != "Nguyen-Smith" {
		t.Errorf("contacts %+v, want one with the webhook's newer name", all)
	}
}
