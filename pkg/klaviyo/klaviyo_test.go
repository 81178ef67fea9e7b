package klaviyo_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

func client(t testing.TB, s *klaviyotest.Server) *klaviyo.Client {
	t.Helper()
	c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: s.APIKey(), APIBaseURL: s.URL()}, source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listAll(t testing.TB, c *klaviyo.Client, plan source.Plan) []source.Record {
	t.Helper()
	var all []source.Record
	cur := plan.Fanout[0]
	for {
		p, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Records...)
		if p.Next == "" {
			return all
		}
		cur = p.Next
	}
}

func TestBulkListing_EveryProfileExactlyOnceDespite429And5xx(t *testing.T) {
	t.Parallel()
	// Tight per-second limit (the client's default pace exceeds it: 429s
	// with Retry-After happen) and injected 503s.
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 10000, Seed: 1, PerSecond: 60, PerMinute: -1, FailEvery: 9})
	defer s.Close()
	c := client(t, s)
	c.SetPace(1000, 100)
	plan, _ := c.PlanBulk(context.Background())
	seen := map[string]int{}
	states := map[source.SignalState]int{}
	for _, r := range listAll(t, c, plan) {
		seen[r.ExternalID]++
		states[r.Consent.State]++
	}
	if len(seen) != 10000 {
		t.Fatalf("%d distinct profiles", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("profile %s listed %d times", id, n)
		}
	}
	if states[source.SignalSubscribed] == 0 || states[source.SignalUnsubscribed] == 0 || states[source.SignalNeverAsked] == 0 {
		t.Fatalf("consent states %v", states)
	}
}

func TestIncrementalListing_OnlyChanges(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 450, Seed: 2})
	defer s.Close()
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s.Update(12, since.Add(time.Hour), func(a map[string]any) { a["first_name"] = "Changed" })
	s.Update(400, since.Add(2*time.Hour), func(a map[string]any) { a["first_name"] = "Changed" })
	c := client(t, s)
	plan, _ := c.PlanIncremental(context.Background(), since)
	recs := listAll(t, c, plan)
	if len(recs) != 2 || recs[0].FirstName != "Changed" || recs[1].FirstName != "Changed" {
		t.Fatalf("incremental = %+v", recs)
	}
}

func TestAuthAndWriteBack(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 1})
	defer s.Close()
	bad, _ := klaviyo.New(klaviyo.Config{PrivateAPIKey: "wrong", APIBaseURL: s.URL()}, source.Options{}, nil)
	plan, _ := bad.PlanBulk(context.Background())
	if _, err := bad.FetchPage(context.Background(), plan.Fanout[0]); err != klaviyo.ErrUnauthorized {
		t.Fatalf("bad key: %v", err)
	}
	if err := client(t, s).WriteBackOptOut(context.Background(), "01K", "+61412345678"); err != nil {
		t.Fatal(err)
	}
	if got := s.Unsubscribed(); len(got) != 1 || got[0] != "+61412345678" {
		t.Fatalf("unsubscribed %v", got)
	}
}

// The schema example of get_profile (testdata, source in its .md) maps.
func TestProfile_SchemaExample(t *testing.T) {
	b, err := os.ReadFile("testdata/profile.get_profile.schema-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Data klaviyo.Profile }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Data.Record(source.Options{ConnectionID: "c1", FieldMap: map[string]string{"pseudonym": "nickname"}})
	if r.ExternalID != "01GDDKASAP8TKDDA2GRZDSVP4H" || r.Emails[0] != "sarah.mason@klaviyo-demo.com" || r.Phones[0].Raw != "+15005550006" ||
		r.Country != "US" || r.Consent.State != source.SignalSubscribed || r.Consent.At.IsZero() || r.Fields["nickname"] != "Dr. Octopus" {
		t.Fatalf("record = %+v", r)
	}
}

func FuzzProfile(f *testing.F) {
	f.Add([]byte(`{"id":"x","attributes":{"phone_number":"+1","subscriptions":{"sms":{"marketing":{"consent":"SUBSCRIBED"}}}}}`))
	f.Add([]byte(`{"attributes":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p klaviyo.Profile
		if json.Unmarshal(b, &p) != nil {
			return
		}
		_ = p.Record(source.Options{FieldMap: map[string]string{"a": "b"}})
	})
}
