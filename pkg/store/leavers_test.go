package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// RemoveLeavers takes a complete group from the source links the run did
// not assert in it — and only those, and not from a group marked
// incomplete — exactly once: a crash in the middle of a removal (after
// the contact's write, before its side writes) is repaired by running it
// again, which counts the leaver once, leaves no membership item behind
// and keeps the link's delta base (the next listing writes nothing).
func TestRemoveLeavers_CrashMidRemovalIsRepairedAndCountedOnce(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, _, clk := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	c := conn("k1", "Klaviyo", consent.Inferred)
	profile := func(i int) source.Record {
		r := record(c, i, t0, "Ann", source.ConsentSignal{State: source.SignalSubscribed, At: t0})
		r.Platform, r.Groups, r.HasGroups = source.Klaviyo, nil, false
		return r
	}
	member := func(i int, list string) source.Record {
		r := profile(i)
		r.UpdatedAt, r.AddGroups, r.Partial = time.Time{}, []string{list}, true
		return r
	}
	page := func() []source.Record {
		var recs []source.Record
		for i := 1; i <= 3; i++ {
			recs = append(recs, profile(i), member(i, "VIP"), member(i, "News"))
		}
		return recs
	}
	first := store.Target{TenantID: "t1", Conn: c, RunID: "r-install"}
	for _, r := range page() {
		if _, err := st.ApplyRecord(ctx, first, r, clk.now()); err != nil {
			t.Fatal(err)
		}
	}
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "k1", Trigger: store.TriggerManual, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetCompleteGroups(ctx, "t1", run.ID, []string{"VIP", "News"}); err != nil {
		t.Fatal(err)
	}
	if run, err = st.GetRun(ctx, "t1", run.ID); err != nil || !slices.Equal(run.CompleteGroups, []string{"VIP", "News"}) {
		t.Fatalf("complete groups %q, %v", run.CompleteGroups, err)
	}
	// This run's listing: profile 3 left VIP; News was cut short (its
	// listing is incomplete), so profile 2 not being listed in it says
	// nothing.
	var listed []source.Record
	for _, r := range page() {
		if !(r.ExternalID == "k1-3" && slices.Contains(r.AddGroups, "VIP")) && !(r.ExternalID == "k1-2" && slices.Contains(r.AddGroups, "News")) {
			listed = append(listed, r)
		}
	}
	tgt := store.Target{TenantID: "t1", Conn: c, RunID: run.ID}
	if _, err := st.ApplyRecords(ctx, tgt, listed, clk.now()); err != nil {
		t.Fatal(err)
	}
	if err := st.AssertGroups(ctx, "t1", run.ID, listed, run.CompleteGroups); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkIncomplete(ctx, "t1", run.ID, []string{"News"}); err != nil {
		t.Fatal(err)
	}

	store.SetAfterWrite(st, func() error { return errors.New("killed") })
	if _, err := st.RemoveLeavers(ctx, tgt, run, clk.now()); err == nil {
		t.Fatal("the crash hook did not fire")
	}
	store.SetAfterWrite(st, nil)
	for range 2 { // the redelivered last page finishes the run again, twice
		n, err := st.RemoveLeavers(ctx, tgt, run, clk.now())
		if err != nil || n != 1 {
			t.Fatalf("RemoveLeavers = %d, %v; want 1 leaver", n, err)
		}
	}
	if run, err = st.GetRun(ctx, "t1", run.ID); err != nil || run.Counts.GroupsLeft != 1 {
		t.Fatalf("groups_left = %d, %v", run.Counts.GroupsLeft, err)
	}
	vip, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Group: "Klaviyo - VIP"}, 10, "")
	if err != nil || len(vip) != 2 {
		t.Fatalf("%d members of Klaviyo - VIP, want 2 (%v)", len(vip), err)
	}
	news, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Group: "Klaviyo - News"}, 10, "")
	if err != nil || len(news) != 3 {
		t.Fatalf("%d members of Klaviyo - News, want all 3: its listing was incomplete (%v)", len(news), err)
	}
	all, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{}, 10, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("contacts: %d, %v", len(all), err)
	}
	for _, cv := range all {
		want := []string{"Klaviyo - News", "Klaviyo - VIP"}
		if cv.Sources[0].ExternalID == "k1-3" {
			want = want[:1]
		}
		if !slices.Equal(cv.Groups, want) || !slices.Equal(cv.Sources[0].Groups, groupsOf(want)) {
			t.Errorf("%s: groups %v (link %v), want %v", cv.Sources[0].ExternalID, cv.Groups, cv.Sources[0].Groups, want)
		}
	}
	rows, _, err := st.ListReport(ctx, "t1", run.ID, "updated", 10, "")
	if err != nil || len(rows) != 1 || rows[0].ExternalID != "k1-3" || rows[0].Reason != store.ReasonLeftGroup || rows[0].Group != "Klaviyo - VIP" {
		t.Fatalf("report rows = %+v, %v", rows, err)
	}

	// The next listing (profile 3 still out of VIP) writes nothing.
	usage.Reset()
	next := store.Target{TenantID: "t1", Conn: c, RunID: "r-next"}
	for _, r := range page() {
		if r.ExternalID == "k1-3" && slices.Contains(r.AddGroups, "VIP") {
			continue
		}
		a, err := st.ApplyRecord(ctx, next, r, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		if a.Decision.Outcome != merge.Unchanged || a.Wrote {
			t.Errorf("%s %v after the removal: %s, wrote %v", r.ExternalID, r.AddGroups, a.Decision.Outcome, a.Wrote)
		}
	}
	if _, wcu := usage.Estimated(); wcu != 0 {
		t.Errorf("the listing after the removal wrote %.1f WCU, want 0", wcu)
	}
}

// groupsOf strips the "Klaviyo - " prefix.
func groupsOf(hub []string) []string {
	var out []string
	for _, g := range hub {
		out = append(out, g[len("Klaviyo - "):])
	}
	slices.Sort(out)
	return out
}
