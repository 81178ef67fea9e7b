package mailchimp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"

	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/source"
)

// With tags selected, a full listing reads each selected tag's members
// (whole records, once even when in several selected tags) and, for the
// rest of the audience, out-of-scope records only: every member exactly
// once, and no record of an unselected member but its id.
func TestScopedListing_OnlySelectedTagsMembers(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 2500, Seed: 3, FailEvery: 5})
	defer s.Close()
	var sms, both []int
	for n := 1; n <= 2500; n++ {
		if n%2 == 0 {
			sms = append(sms, n)
		}
		if n%20 == 0 || n == 7 {
			both = append(both, n)
		}
	}
	s.Tag("SMS list", sms...)      // 1,250 members: two pages
	s.Tag("Launch promo", both...) // 126 members, 125 of them also in "SMS list"
	c := client(t, s, source.Options{ConnectionID: "c1", SelectedTags: []string{"SMS list", "Launch promo", "No such tag"}})
	plan, err := c.PlanBulk(context.Background())
	// A chain per selected tag the audience has (its pages name the
	// next), and the 3 pages of the audience's ids.
	if err != nil || len(plan.Fanout) != 5 || !plan.Chained || plan.Total != -1 {
		t.Fatalf("plan = %d pages, total %d, %v", len(plan.Fanout), plan.Total, err)
	}
	in := map[string]bool{}
	for _, n := range sms {
		in[s.UniqueEmailID(n)] = true
	}
	in[s.UniqueEmailID(7)] = true
	seen := map[string]int{}
	var inScope, out int
	for _, r := range listAll(t, c, plan) {
		seen[r.ExternalID]++
		switch {
		case r.OutOfScope:
			out++
			if !r.Deleted || in[r.ExternalID] || len(r.Emails) > 0 || len(r.Phones) > 0 {
				t.Fatalf("out-of-scope record %+v", r)
			}
		default:
			inScope++
			if !in[r.ExternalID] || len(r.Emails) == 0 || !r.HasGroups {
				t.Fatalf("in-scope record %+v", r)
			}
			for _, g := range r.Groups {
				if g != "SMS list" && g != "Launch promo" {
					t.Fatalf("unselected tag %q became a group", g)
				}
			}
		}
	}
	if inScope != 1251 || out != 2500-1251 || len(seen) != 2500 {
		t.Fatalf("in scope %d, out of scope %d, distinct %d", inScope, out, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("member %s listed %d times", id, n)
		}
	}

	// A member who leaves the tag is out of scope on the next full sync.
	s.Untag("SMS list", 10)
	plan, err = c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range listAll(t, c, plan) {
		if r.ExternalID == s.UniqueEmailID(10) {
			found = r.OutOfScope
		}
	}
	if !found {
		t.Fatal("a member who left the selected tag is not out of scope")
	}

	// A tag deleted after the plan: its pages are empty (not a failed
	// run), and its members are out of scope on the audience pages.
	plan, err = c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.DeleteTag("Launch promo")
	for _, r := range listAll(t, c, plan) {
		if r.ExternalID == s.UniqueEmailID(7) && !r.OutOfScope {
			t.Fatal("a member of a deleted tag only is in scope")
		}
	}
}

// An incremental scoped listing sorts the changed members: those in a
// selected tag whole, the others out of scope.
func TestScopedIncremental_SortsChangedMembers(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 300, Seed: 4})
	defer s.Close()
	s.Tag("SMS list", 1, 2)
	at := fakestore.Epoch.Add(time.Hour) // after every member's last change
	s.Update(1, at, func(m map[string]any) {})
	s.Update(3, at, func(m map[string]any) {})
	c := client(t, s, source.Options{ConnectionID: "c1", SelectedTags: []string{"SMS list"}})
	plan, err := c.PlanIncremental(context.Background(), at.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range listAll(t, c, plan) {
		got[r.ExternalID] = r.OutOfScope
	}
	if len(got) != 2 || got[s.UniqueEmailID(1)] || !got[s.UniqueEmailID(3)] {
		t.Fatalf("incremental records (id -> out of scope) %v", got)
	}
}

// The fake serves tags as Mailchimp does: static segments with their
// subscribed member_count, and segment members paged with total_items,
// leaving out unsubscribed members unless asked.
func TestFakeSegments(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 30, Seed: 5})
	defer s.Close()
	s.Tag("SMS list", 1, 2, 3)
	s.Update(2, fakestore.Epoch.Add(time.Hour), func(m map[string]any) { m["status"] = "unsubscribed" })
	get := func(path string, q url.Values, out any) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/3.0/lists/"+s.AudienceID()+path+"?"+q.Encode(), nil)
		req.SetBasicAuth("x", s.APIKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode
	}
	var segs struct {
		Segments []struct {
			ID          int    `json:"id"`
			Name        string `json:"name"`
			MemberCount int    `json:"member_count"`
			Type        string `json:"type"`
		} `json:"segments"`
		TotalItems int `json:"total_items"`
	}
	if st := get("/segments", url.Values{"type": {"static"}, "count": {"1000"}}, &segs); st != 200 {
		t.Fatalf("segments: %d", st)
	}
	i := slices.IndexFunc(segs.Segments, func(g struct {
		ID          int    `json:"id"`
		Name        string `json:"name"`
		MemberCount int    `json:"member_count"`
		Type        string `json:"type"`
	}) bool {
		return g.Name == "SMS list"
	})
	if i < 0 || segs.Segments[i].MemberCount != 2 || segs.Segments[i].Type != "static" || segs.TotalItems != len(segs.Segments) {
		t.Fatalf("segments %+v", segs)
	}
	id := segs.Segments[i].ID
	var page struct {
		Members []struct {
			ID string `json:"unique_email_id"`
		} `json:"members"`
		TotalItems int `json:"total_items"`
	}
	path := "/segments/" + strconv.Itoa(id) + "/members"
	if get(path, url.Values{"count": {"1"}}, &page); page.TotalItems != 2 || len(page.Members) != 1 {
		t.Fatalf("default members page %+v", page)
	}
	if get(path, url.Values{"count": {"10"}, "offset": {"1"}, "include_unsubscribed": {"true"}}, &page); page.TotalItems != 3 || len(page.Members) != 2 {
		t.Fatalf("members page with unsubscribed %+v", page)
	}
	if st := get("/segments/999999/members", nil, &page); st != 404 {
		t.Fatalf("unknown segment: %d", st)
	}
	if st := get(path, url.Values{"count": {"1001"}}, &page); st != 400 {
		t.Fatalf("count 1001: %d", st)
	}
}
