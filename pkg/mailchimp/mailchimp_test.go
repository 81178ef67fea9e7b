package mailchimp_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/source"
)

func client(t testing.TB, s *mailchimptest.Server, opts source.Options) *mailchimp.Client {
	t.Helper()
	c, err := mailchimp.New(mailchimp.Config{APIKey: s.APIKey(), AudienceID: s.AudienceID(), APIBaseURL: s.URL()}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listAll(t testing.TB, c *mailchimp.Client, plan source.Plan) []source.Record {
	t.Helper()
	var (
		mu  sync.Mutex
		all []source.Record
		wg  sync.WaitGroup
	)
	for _, cur := range plan.Fanout {
		wg.Add(1)
		go func() { // more goroutines than Mailchimp allows connections: the client caps them
			defer wg.Done()
			for cur != "" { // a chained plan's pages name their next
				p, err := c.FetchPage(context.Background(), cur)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, p.Records...)
				mu.Unlock()
				cur = p.Next
			}
		}()
	}
	wg.Wait()
	return all
}

func TestBulkListing_EveryMemberExactlyOnce(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 10000, Seed: 1, FailEvery: 4})
	defer s.Close()
	// No tags selected: the whole audience, and no tag groups.
	c := client(t, s, source.Options{ConnectionID: "c1"})
	plan, err := c.PlanBulk(context.Background())
	if err != nil || len(plan.Fanout) != 10 || plan.Total != 10000 {
		t.Fatalf("plan = %d pages, total %d, %v", len(plan.Fanout), plan.Total, err)
	}
	seen := map[string]int{}
	for _, r := range listAll(t, c, plan) {
		seen[r.ExternalID]++
		if len(r.Groups) > 0 || r.OutOfScope || r.Deleted {
			t.Fatalf("member %s: groups %v, out of scope %v", r.ExternalID, r.Groups, r.OutOfScope)
		}
	}
	if len(seen) != 10000 {
		t.Fatalf("%d distinct members", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("member %s listed %d times", id, n)
		}
	}
}

func TestIncrementalListing_OnlyChanges(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 300, Seed: 2})
	defer s.Close()
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s.Update(7, since.Add(time.Hour), func(m map[string]any) { m["merge_fields"].(map[string]any)["FNAME"] = "Changed" })
	c := client(t, s, source.Options{})
	plan, err := c.PlanIncremental(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	recs := listAll(t, c, plan)
	if len(recs) != 1 || recs[0].FirstName != "Changed" {
		t.Fatalf("incremental = %+v", recs)
	}
}

func TestAuthConfigAndWriteBack(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 1})
	defer s.Close()
	bad, _ := mailchimp.New(mailchimp.Config{APIKey: "wrong-us6", AudienceID: s.AudienceID(), APIBaseURL: s.URL()}, source.Options{}, nil)
	if _, err := bad.PlanBulk(context.Background()); err != mailchimp.ErrUnauthorized {
		t.Fatalf("bad key: %v", err)
	}
	for _, cfg := range []mailchimp.Config{{APIKey: "nodc", AudienceID: "a"}, {APIKey: "k-us1"}, {}} {
		if _, err := mailchimp.New(cfg, source.Options{}, nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if err := client(t, s, source.Options{}).WriteBackOptOut(context.Background(), "x", "+1"); err != mailchimp.ErrWriteBackUnsupported {
		t.Fatalf("write-back: %v", err)
	}
}

func TestVerifyWebhook_TokenInURL(t *testing.T) {
	if mailchimp.VerifyWebhook("s3cret", "s3cret") != nil || mailchimp.VerifyWebhook("s3cret", "s3creT") == nil ||
		mailchimp.VerifyWebhook("", "") == nil || mailchimp.VerifyWebhook("s3cret", "") == nil {
		t.Fatal("token check wrong")
	}
}

// The classic samples of the official guide (testdata/*.classic-docs.form,
// sources in the .md sidecars) and a 2016 third-party unsubscribe.
func TestParse_ClassicSamples(t *testing.T) {
	for _, tc := range []struct {
		file, id, email string
		records         int
	}{
		{"subscribe.classic-docs.form", "8a25ff1d98", "api@mailchimp.com", 1},
		{"profile.classic-docs.form", "8a25ff1d98", "api@mailchimp.com", 1},
		{"unsubscribe.classic-docs.form", "8a25ff1d98", "api+unsub@mailchimp.com", 1},
		{"unsubscribe.thirdparty-2016.form", "cd1adcdac0", "espen@example.com", 1},
		{"upemail.classic-docs.form", "51da8c3259", "api+new@mailchimp.com", 1},
		{"cleaned.classic-docs.form", "", "", 0},
		{"campaign.classic-docs.form", "", "", 0},
	} {
		b, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		wh, err := mailchimp.ParseWebhook([]byte(strings.TrimSpace(string(b))), source.Options{ConnectionID: "c1"})
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(wh.Records) != tc.records || !strings.HasPrefix(wh.DeliveryID, "sha256:") {
			t.Fatalf("%s: %+v", tc.file, wh)
		}
		if tc.records == 1 {
			r := wh.Records[0]
			if r.ExternalID != tc.id || r.Emails[0] != tc.email || r.Consent.State != source.SignalNone || r.UpdatedAt.IsZero() {
				t.Fatalf("%s: record %+v", tc.file, r)
			}
		}
	}
}

func TestParse_RejectsUnknownTypes(t *testing.T) {
	for _, body := range []string{"type=bogus&data[id]=1", "%zz", "type=subscribe"} {
		if _, err := mailchimp.ParseWebhook([]byte(body), source.Options{}); err == nil {
			t.Errorf("%q parsed", body)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, s := range []string{"type=subscribe&data%5Bid%5D=1&data%5Bemail%5D=a%40b.co", "type=upemail&data%5Bnew_email%5D=x", "type=cleaned", "", "%%%"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		wh, err := mailchimp.ParseWebhook(body, source.Options{})
		if err != nil {
			return
		}
		for _, r := range wh.Records {
			if r.ExternalID == "" {
				t.Fatalf("record without id from %q", body)
			}
		}
	})
}

func TestFake_WebhookRoundTrip(t *testing.T) {
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 2, Seed: 5})
	defer s.Close()
	var got []source.Record
	hook := newHook(func(body []byte, token string) int {
		if mailchimp.VerifyWebhook("tok", token) != nil {
			return 401
		}
		wh, err := mailchimp.ParseWebhook(body, source.Options{})
		if err != nil {
			return 400
		}
		got = append(got, wh.Records...)
		return 200
	})
	defer hook.Close()
	if resp, err := s.SendWebhook(context.Background(), hook.URL+"?token=tok", "profile", 2); err != nil || resp.StatusCode != 200 || len(got) != 1 {
		t.Fatalf("%v %v %+v", resp, err, got)
	}
	if resp, _ := s.SendWebhook(context.Background(), hook.URL+"?token=nope", "profile", 2); resp.StatusCode != 401 {
		t.Fatalf("wrong token answered %d", resp.StatusCode)
	}
}
