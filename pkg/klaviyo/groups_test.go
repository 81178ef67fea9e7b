package klaviyo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// chain follows one chained listing from cur to its last page.
func chain(t testing.TB, c *klaviyo.Client, cur source.Cursor) []source.Record {
	t.Helper()
	return listAll(t, c, source.Plan{Fanout: []source.Cursor{cur}})
}

// chains lists every chain of plan, concurrently (as the pipeline does).
func chains(t testing.TB, c *klaviyo.Client, plan source.Plan) [][]source.Record {
	t.Helper()
	out := make([][]source.Record, len(plan.Fanout))
	errs := make([]error, len(plan.Fanout))
	var wg sync.WaitGroup
	for i, cur := range plan.Fanout {
		wg.Go(func() {
			for cur != "" {
				p, err := c.FetchPage(context.Background(), cur)
				if err != nil {
					errs[i] = err
					return
				}
				out[i] = append(out[i], p.Records...)
				cur = p.Next
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("chain %d: %v", i, err)
		}
	}
	return out
}

func ids(recs []source.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ExternalID
	}
	return out
}

// checkMemberships checks that chains (the plan's chains; chains[0] the
// profiles) list exactly the fake's members of groups (in plan order),
// each once, mapped as the profile with AddGroups [name] and no
// UpdatedAt. It returns the number of membership records.
func checkMemberships(t *testing.T, s *klaviyotest.Server, groups []klaviyotest.Group, chains [][]source.Record) int {
	t.Helper()
	if len(chains) != 1+len(groups) {
		t.Fatalf("%d chains, want profiles + %d groups", len(chains), len(groups))
	}
	profiles := map[string]source.Record{}
	for _, r := range chains[0] {
		if _, dup := profiles[r.ExternalID]; dup {
			t.Fatalf("profile %s listed twice", r.ExternalID)
		}
		if r.HasGroups || r.Groups != nil || r.AddGroups != nil || r.RemoveGroups != nil {
			t.Fatalf("profile record %s says something about groups: %+v", r.ExternalID, r)
		}
		profiles[r.ExternalID] = r
	}
	n := 0
	for i, g := range groups {
		recs := chains[1+i]
		want, _ := s.Members(g.ID)
		if got := ids(recs); !slices.Equal(got, want) {
			t.Fatalf("%s %q: %d membership records, want the fake's %d members once each in listing order", g.Kind, g.Name, len(got), len(want))
		}
		for _, r := range recs {
			p, ok := profiles[r.ExternalID]
			if !ok {
				t.Fatalf("member %s of %q is not in the profiles listing", r.ExternalID, g.Name)
			}
			p.UpdatedAt, p.AddGroups, p.Partial = time.Time{}, []string{g.Name}, true
			if !reflect.DeepEqual(r, p) {
				t.Fatalf("membership record of %s in %q:\n got %+v\nwant %+v", r.ExternalID, g.Name, r, p)
			}
		}
		n += len(recs)
	}
	return n
}

func TestBulkPlanListsEveryProfileAndEveryMembershipOnceAcrossInjected5xx(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 10000, Seed: 1, FailEvery: 7, PerSecond: -1, PerMinute: -1, Lists: 3, Segments: 5})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	c.SetPace(1e6, 1000)
	plan, err := c.PlanBulk(context.Background())
	if err != nil || !plan.Chained || plan.Total != -1 {
		t.Fatalf("plan %+v %v", plan, err)
	}
	groups := s.Groups()
	// Every list and segment is listed completely; "VIP" (a list and a
	// segment) once.
	if len(plan.CompleteGroups) != len(groups)-1 || !slices.Contains(plan.CompleteGroups, "VIP") {
		t.Fatalf("complete groups %q of %d lists and segments", plan.CompleteGroups, len(groups))
	}
	all := chains(t, c, plan)
	if len(all[0]) != 10000 {
		t.Fatalf("%d profiles, want 10000", len(all[0]))
	}
	n := checkMemberships(t, s, groups, all)
	if n < 20000 {
		t.Fatalf("only %d memberships: the fake's groups changed", n)
	}
	// A list and a segment named "VIP" both add "VIP".
	if groups[1].Name != "VIP" || groups[3+4].Name != "VIP" || groups[1].Kind == groups[7].Kind {
		t.Fatalf("groups = %+v: the fake no longer has a list and a segment named VIP", groups)
	}

	// A page fetched again (a retried message) is the same page.
	for _, cur := range plan.Fanout[1:3] {
		a, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) || a.Next == "" || len(a.Records) != klaviyo.PageSize {
			t.Fatalf("a member page fetched twice differs (or is not a full page with a next): %d/%d records", len(a.Records), len(b.Records))
		}
	}
}

func TestMembershipListingsSurvive429WithRetryAfter(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 300, Seed: 2, PerSecond: 3, PerMinute: -1, Lists: 2, Segments: 1})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	c.SetPace(1e6, 1000) // deliberately too fast: the fake answers 429 + Retry-After
	plan := mustPlan(t, c)
	checkMemberships(t, s, s.Groups(), chains(t, c, plan))
	if s.Throttled() == 0 {
		t.Fatal("no request was throttled: the test did not exercise 429s")
	}
}

func TestSelectedTagsChooseListsAndSegmentsByName(t *testing.T) {
	t.Parallel()
	// 12 lists and 11 segments: the lists and segments listings take two
	// pages each (10 per page).
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 120, Seed: 3, PerSecond: -1, PerMinute: -1, Lists: 12, Segments: 11})
	defer s.Close()
	all := s.Groups()
	if len(all) != 23 || all[9].Name != "Wholesale 2" || all[12+3].Name != "Lapsed, 180 days" {
		t.Fatalf("fake groups changed: %+v", all)
	}
	c := newClient(t, s, s.APIKey())
	plan := mustPlan(t, c)
	checkMemberships(t, s, all, chains(t, c, plan))

	c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: s.APIKey(), APIBaseURL: s.URL()},
		source.Options{ConnectionID: "c1", SelectedTags: []string{"VIP", "Wholesale 2", "Lapsed, 180 days", "No such list"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan = mustPlan(t, c)
	var want []klaviyotest.Group
	for _, g := range all {
		if g.Name == "VIP" || g.Name == "Wholesale 2" || g.Name == "Lapsed, 180 days" {
			want = append(want, g)
		}
	}
	if len(want) != 4 { // list VIP, list Wholesale 2, segment Lapsed, segment VIP
		t.Fatalf("selected %+v", want)
	}
	if !slices.Equal(plan.CompleteGroups, []string{"VIP", "Wholesale 2", "Lapsed, 180 days"}) {
		t.Fatalf("complete groups %q, want the selected ones found, once each", plan.CompleteGroups)
	}
	// Scoped: one chain per selected group, whose member records keep the
	// profile's updated time, then the profiles read ids-only, each an
	// out-of-scope record (the pipeline keeps those no member page listed).
	got := chains(t, c, plan)
	if len(got) != 1+len(want) {
		t.Fatalf("%d chains, want %d groups + the profiles", len(got), len(want))
	}
	scope := got[len(got)-1]
	if len(scope) != 120 {
		t.Fatalf("%d profiles in the scope listing, want all 120", len(scope))
	}
	for _, r := range scope {
		if !r.OutOfScope || !r.Deleted || r.ExternalID == "" || r.FirstName != "" || len(r.Emails) != 0 {
			t.Fatalf("scope record %+v, want an out-of-scope id", r)
		}
	}
	full := chain(t, newClient(t, s, s.APIKey()), cursorOfProfiles(t, newClient(t, s, s.APIKey())))
	byID := map[string]source.Record{}
	for _, r := range full {
		byID[r.ExternalID] = r
	}
	for i, g := range want {
		members, _ := s.Members(g.ID)
		if ids := ids(got[i]); !slices.Equal(ids, members) {
			t.Fatalf("%s %q: records %d, members %d", g.Kind, g.Name, len(ids), len(members))
		}
		for _, r := range got[i] {
			p := byID[r.ExternalID]
			p.AddGroups, p.Partial = []string{g.Name}, true
			if !reflect.DeepEqual(r, p) || r.UpdatedAt.IsZero() {
				t.Fatalf("scoped membership record of %s in %q:\n got %+v\nwant %+v", r.ExternalID, g.Name, r, p)
			}
		}
	}
}

// cursorOfProfiles is the profiles chain of an unscoped client's plan.
func cursorOfProfiles(t *testing.T, c *klaviyo.Client) source.Cursor {
	t.Helper()
	return mustPlan(t, c).Fanout[0]
}

func TestIncrementalListsOnlyNewMemberships(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 500, Seed: 4, PerSecond: -1, PerMinute: -1, Lists: 2, Segments: 1})
	defer s.Close()
	groups := s.Groups() // L00000 Newsletter, L00001 VIP, S00000 Engaged 30 days
	since := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Join(groups[0].ID, 5, since.Add(time.Hour))   // joins (or joins again)
	s.Join(groups[2].ID, 9, since.Add(2*time.Hour)) // joins a segment
	s.Join(groups[1].ID, 11, since.Add(-time.Hour)) // joined before since: not new
	s.Leave(groups[1].ID, 1)                        // a removal shows in no listing
	s.Update(7, since.Add(3*time.Hour), func(a map[string]any) { a["first_name"] = "Changed" })

	c := newClient(t, s, s.APIKey())
	plan, err := c.PlanIncremental(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	if plan.CompleteGroups != nil {
		t.Fatalf("an incremental plan names complete groups %q: it lists new joins only", plan.CompleteGroups)
	}
	got := chains(t, c, plan)
	if len(got) != 4 {
		t.Fatalf("%d chains, want profiles + 3 groups", len(got))
	}
	id := func(n int) string { return fmt.Sprintf("01K%023d", n-1) }
	if len(got[0]) != 1 || got[0][0].ExternalID != id(7) || got[0][0].FirstName != "Changed" {
		t.Fatalf("profiles = %+v, want only profile 7", got[0])
	}
	for i, want := range [][]string{{id(5)}, nil, {id(9)}} {
		if g := ids(got[1+i]); !slices.Equal(g, want) {
			t.Fatalf("%q: new memberships %v, want %v", groups[i].Name, g, want)
		}
		for _, r := range got[1+i] {
			if !slices.Equal(r.AddGroups, []string{groups[i].Name}) || r.HasGroups || !r.UpdatedAt.IsZero() {
				t.Fatalf("membership record %+v", r)
			}
		}
	}
}

func TestDeletedListEndsItsChainEmpty(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 50, Seed: 6, PerSecond: -1, PerMinute: -1, Lists: 2})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	plan := mustPlan(t, c)
	s.DeleteGroup(s.Groups()[0].ID)
	p, err := c.FetchPage(context.Background(), plan.Fanout[1])
	name := plan.CompleteGroups[0]
	if err != nil || len(p.Records) != 0 || p.Next != "" || !slices.Equal(p.Incomplete, []string{name}) {
		t.Fatalf("page of a deleted list = %+v, %v; want an empty last page saying %q's listing is incomplete", p, err, name)
	}
	if recs := chain(t, c, plan.Fanout[2]); len(recs) == 0 {
		t.Fatal("the other list lost its members")
	}
}

// TestMembershipRecordsMergeTheSameInAnyOrder applies a bulk listing's
// records through pkg/merge in different orders — profiles first,
// memberships first, shuffled — as concurrent chains may reach the store,
// and checks every order ends with the same contacts, each in exactly the
// groups the fake says, with the same names and consent. It also shows
// why membership records carry the profile: a bare (ExternalID-only)
// membership that arrives before its profile is dropped as no_identifier.
func TestMembershipRecordsMergeTheSameInAnyOrder(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 300, Seed: 5, PerSecond: -1, PerMinute: -1, Lists: 3, Segments: 2})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	all := chains(t, c, mustPlan(t, c))
	profiles, memberships := all[0], slices.Concat(all[1:]...)

	wantGroups := map[string][]string{}
	for _, g := range s.Groups() {
		members, _ := s.Members(g.ID)
		for _, m := range members {
			wantGroups[m] = append(wantGroups[m], "Klaviyo - "+g.Name)
		}
	}

	conn := merge.Connection{ID: "c1", Label: "Klaviyo", Mode: consent.Confirmation, DefaultRegion: "AU"}
	now := time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	type outcome struct {
		First, Last, Phone, Email string
		Groups                    []string
		Status                    consent.State
		Queued                    int
	}
	run := func(recs []source.Record) map[string]outcome {
		var st merge.State
		for i, r := range recs {
			d := merge.Merge(merge.Input{Record: r, Identity: merge.Identify(r, conn.DefaultRegion), Connection: conn, Now: now,
				NewID: fmt.Sprint("k", i), State: st})
			st = merge.Apply(st, d)
		}
		out := map[string]outcome{}
		for _, p := range profiles {
			id, ok := st.Links[merge.LinkKey{ConnectionID: "c1", ExternalID: p.ExternalID}]
			if !ok {
				continue // no usable identifier: invalid in every order
			}
			ct := st.Contacts[id]
			l := st.Ledger(ct.Phone)
			out[p.ExternalID] = outcome{ct.FirstName.Value, ct.LastName.Value, ct.Phone, ct.EmailKey, ct.Groups, merge.Status(ct, l), len(l.Queued)}
		}
		return out
	}

	base := run(slices.Concat(profiles, memberships))
	if len(base) < len(profiles)*9/10 {
		t.Fatalf("only %d of %d profiles became contacts", len(base), len(profiles))
	}
	for id, o := range base {
		if want := slices.Compact(slices.Sorted(slices.Values(wantGroups[id]))); !slices.Equal(o.Groups, want) {
			t.Fatalf("profile %s: groups %v, want %v", id, o.Groups, want)
		}
	}
	orders := map[string][]source.Record{"memberships first": slices.Concat(memberships, profiles)}
	for seed := range uint64(3) {
		recs := slices.Concat(profiles, memberships)
		r := rand.New(rand.NewPCG(seed, 7))
		r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		orders[fmt.Sprint("shuffled ", seed)] = recs
	}
	for name, recs := range orders {
		got := run(recs)
		if !reflect.DeepEqual(got, base) {
			for id, o := range base {
				if !reflect.DeepEqual(got[id], o) {
					t.Fatalf("%s: profile %s ends as %+v, profiles first gives %+v", name, id, got[id], o)
				}
			}
			t.Fatalf("%s: %d contacts, profiles first gives %d", name, len(got), len(base))
		}
	}

	// The profile changed after its member page was fetched, and the newer
	// profile record reached the store first: the older membership still
	// adds its group (a membership record has no UpdatedAt, so it is never
	// set aside as older) and changes no name.
	m := memberships[0]
	var st merge.State
	for _, r := range profiles {
		if r.ExternalID == m.ExternalID {
			r.UpdatedAt, r.FirstName = r.UpdatedAt.Add(time.Hour), "Newer"
			st = merge.Apply(st, merge.Merge(merge.Input{Record: r, Identity: merge.Identify(r, "AU"), Connection: conn, Now: now, NewID: "n", State: st}))
		}
	}
	d := merge.Merge(merge.Input{Record: m, Identity: merge.Identify(m, "AU"), Connection: conn, Now: now, NewID: "m", State: st})
	st = merge.Apply(st, d)
	if ct := st.Contacts["n"]; d.Outcome != merge.Updated || !slices.Equal(ct.Groups, []string{"Klaviyo - " + m.AddGroups[0]}) || ct.FirstName.Value != "Newer" {
		t.Fatalf("older membership after a newer profile: %s %s, contact %+v", d.Outcome, d.Reason, ct)
	}

	// The alternative: a membership record with only the profile id. It
	// would only be held (skipped) until its profile arrives, not matched.
	bare := source.Record{Platform: m.Platform, Label: m.Label, ConnectionID: m.ConnectionID, ExternalID: m.ExternalID, AddGroups: m.AddGroups}
	d = merge.Merge(merge.Input{Record: bare, Identity: merge.Identify(bare, "AU"), Connection: conn, Now: now, NewID: "x"})
	if d.Outcome != merge.Skipped || d.Reason != merge.ReasonUnknownSourceRecord {
		t.Fatalf("a bare membership before its profile: %s %s", d.Outcome, d.Reason)
	}
}
