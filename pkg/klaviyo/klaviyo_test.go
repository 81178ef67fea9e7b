package klaviyo_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

func listAll(t testing.TB, c *klaviyo.Client, plan source.Plan) []source.Record {
	t.Helper()
	var out []source.Record
	cur := plan.Fanout[0]
	for {
		p, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatalf("FetchPage: %v", err)
		}
		out = append(out, p.Records...)
		if p.Next == "" {
			return out
		}
		cur = p.Next
	}
}

func newClient(t testing.TB, s *klaviyotest.Server, key string) *klaviyo.Client {
	t.Helper()
	c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: key, APIBaseURL: s.URL()}, source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBulkListingReturnsEveryProfileOnceAcrossInjected5xx(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 10000, Seed: 1, FailEvery: 7, PerSecond: -1, PerMinute: -1})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	c.SetPace(1e6, 1000)
	plan, err := c.PlanBulk(context.Background())
	if err != nil || !plan.Chained {
		t.Fatalf("plan %+v %v", plan, err)
	}
	recs := listAll(t, c, plan)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ExternalID] {
			t.Fatalf("duplicate %s", r.ExternalID)
		}
		seen[r.ExternalID] = true
		if r.Platform != source.Klaviyo || r.Label != "Klaviyo" || r.ConnectionID != "c1" {
			t.Fatalf("bad record header %+v", r)
		}
	}
	if len(seen) != 10000 {
		t.Fatalf("got %d profiles, want 10000", len(seen))
	}
}

func TestBulkListingSurvives429WithRetryAfter(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 1000, Seed: 2, PerSecond: 3, PerMinute: -1})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	c.SetPace(1e6, 1000) // deliberately too fast: the fake answers 429 + Retry-After
	recs := listAll(t, c, source.Plan{Fanout: []source.Cursor{mustPlan(t, c).Fanout[0]}})
	if len(recs) != 1000 {
		t.Fatalf("got %d, want 1000", len(recs))
	}
}

func mustPlan(t testing.TB, c *klaviyo.Client) source.Plan {
	p, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIncrementalListingReturnsOnlyChanges(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 500, Seed: 3, PerSecond: -1, PerMinute: -1})
	defer s.Close()
	since := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Update(5, since.Add(time.Hour), func(a map[string]any) { a["first_name"] = "Changed" })
	s.Update(9, since.Add(2*time.Hour), func(a map[string]any) {})
	c := newClient(t, s, s.APIKey())
	plan, err := c.PlanIncremental(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	recs := listAll(t, c, plan)
	if len(recs) != 2 || recs[0].FirstName != "Changed" {
		t.Fatalf("incremental = %+v", recs)
	}
}

func TestBadKeyIsUnauthorized(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 1})
	defer s.Close()
	first := mustPlan(t, newClient(t, s, s.APIKey())).Fanout[0]
	c := newClient(t, s, "wrong")
	if _, err := c.PlanBulk(context.Background()); !errors.Is(err, klaviyo.ErrUnauthorized) {
		t.Fatalf("plan err = %v, want ErrUnauthorized", err) // planning lists the lists and segments
	}
	_, err := c.FetchPage(context.Background(), first)
	if !errors.Is(err, klaviyo.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestWriteBackSendsBulkUnsubscribeJob(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 1})
	defer s.Close()
	c := newClient(t, s, s.APIKey())
	if err := c.WriteBackOptOut(context.Background(), "01K", "+61412345678"); err != nil {
		t.Fatal(err)
	}
	if got := s.Unsubscribed(); len(got) != 1 || got[0] != "+61412345678" {
		t.Fatalf("unsubscribed = %v", got)
	}
}

func TestPublishedProfileExampleMapsConsentAndCountry(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/profile.get_profile.schema-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data klaviyo.Profile `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Data.Record(source.Options{FieldMap: map[string]string{"pseudonym": "nickname"}})
	if r.ExternalID == "" || len(r.Emails) != 1 || len(r.Phones) != 1 || r.UpdatedAt.IsZero() {
		t.Fatalf("record = %+v", r)
	}
	if r.Consent.State == source.SignalNone {
		t.Fatalf("consent missing: %+v", r.Consent)
	}
}
