package mailchimp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/source"
)

// receiver is our webhook route's stand-in: GET answers getStatus (the
// fake's check), POST answers postStatus and keeps the form.
type receiver struct {
	*httptest.Server
	getStatus, postStatus atomic.Int32
	mu                    sync.Mutex
	forms                 []url.Values
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.getStatus.Store(200)
	rc.postStatus.Store(200)
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(int(rc.getStatus.Load()))
			return
		}
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		form.Set("?token", r.URL.Query().Get("token"))
		rc.mu.Lock()
		rc.forms = append(rc.forms, form)
		rc.mu.Unlock()
		w.WriteHeader(int(rc.postStatus.Load()))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values(nil), rc.forms...)
}

func hookClient(t *testing.T, s *mailchimptest.Server, token string) *mailchimp.Client {
	t.Helper()
	c, err := mailchimp.New(mailchimp.Config{APIKey: s.APIKey(), AudienceID: s.AudienceID(), APIBaseURL: s.URL(), WebhookToken: token}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The list webhook is created with our token, events and sources, listed
// by its URL without the token, repaired in place (PATCH) when its token
// or events are not ours, and deleted (twice: no error).
func TestListWebhook_CreateRepairDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 2, Seed: 1})
	defer s.Close()
	rc := newReceiver(t)
	bare := rc.URL + "/webhooks/mailchimp/c1"
	c := hookClient(t, s, "tok-one")
	if got := c.WebhookTopics(); len(got) != 1 || got[0] != mailchimp.WebhookTopic {
		t.Fatalf("topics %v", got)
	}
	sub, err := c.Subscribe(ctx, mailchimp.WebhookTopic, bare)
	if err != nil {
		t.Fatal(err)
	}
	hooks := s.Webhooks()
	if len(hooks) != 1 || hooks[0].URL != bare+"?token=tok-one" || sub.URL != bare || !sub.Active || sub.ID != hooks[0].ID ||
		hooks[0].Events["cleaned"] || !hooks[0].Events["upemail"] || !hooks[0].Sources["api"] {
		t.Fatalf("created %+v, the audience holds %+v", sub, hooks)
	}
	list := func(c *mailchimp.Client) source.Subscription {
		t.Helper()
		subs, err := c.Subscriptions(ctx)
		if err != nil || len(subs) != 1 || subs[0].URL != bare || subs[0].Topic != mailchimp.WebhookTopic {
			t.Fatalf("listing: %+v %v", subs, err)
		}
		return subs[0]
	}
	if !list(c).Active {
		t.Fatal("our own webhook listed inactive")
	}
	// Events changed in the admin, then a new token: not ours until
	// repaired, on the same webhook.
	s.SetWebhookEvents(sub.ID, map[string]bool{"subscribe": true})
	if list(c).Active {
		t.Fatal("a webhook with other events listed active")
	}
	c2 := hookClient(t, s, "tok-two")
	if err := c.Reactivate(ctx, sub.ID); err != nil || !list(c).Active || list(c2).Active {
		t.Fatalf("repaired events: %v", err)
	}
	if err := c2.Reactivate(ctx, sub.ID); err != nil || !list(c2).Active {
		t.Fatalf("repaired token: %v", err)
	}
	if hooks := s.Webhooks(); len(hooks) != 1 || hooks[0].ID != sub.ID || hooks[0].URL != bare+"?token=tok-two" {
		t.Fatalf("after the repairs: %+v", hooks)
	}
	if err := c2.Unsubscribe(ctx, sub.ID); err != nil || len(s.Webhooks()) != 0 {
		t.Fatalf("delete: %v, %d left", err, len(s.Webhooks()))
	}
	if err := c2.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatalf("deleting one already gone: %v", err)
	}
	if _, err := hookClient(t, s, "").Subscribe(ctx, mailchimp.WebhookTopic, bare); !errors.Is(err, mailchimp.ErrInvalidConfig) {
		t.Fatalf("no token: %v", err)
	}
}

// A URL that does not answer the fake's GET with 200 is refused with
// Mailchimp's reason, which keeps no token.
func TestListWebhook_RefusedURL(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 1, Seed: 1})
	defer s.Close()
	rc := newReceiver(t)
	rc.getStatus.Store(404)
	_, err := hookClient(t, s, "secret-token-value").Subscribe(context.Background(), mailchimp.WebhookTopic, rc.URL+"/x")
	var he *httpx.Error
	if err == nil || !errors.As(err, &he) || he.Status != 400 || !strings.Contains(err.Error(), "verify the URL") ||
		!strings.Contains(err.Error(), "HTTP 404") || strings.Contains(err.Error(), "secret-token-value") {
		t.Fatalf("refusal: %v", err)
	}
	if n := len(s.Webhooks()); n != 0 {
		t.Fatalf("%d webhooks after a refusal", n)
	}
}

// The fake delivers each member change to the webhooks that take its
// event and source, form-encoded as Mailchimp's samples; a failed
// delivery waits for Deliver; MaxFailures failures in a row drop the
// webhook.
func TestFake_DeliversRetriesAndDrops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 3, Seed: 2})
	defer s.Close()
	rc := newReceiver(t)
	if _, err := hookClient(t, s, "tok").Subscribe(ctx, mailchimp.WebhookTopic, rc.URL+"/ours"); err != nil {
		t.Fatal(err)
	}
	// Another app's webhook: subscribes and cleaned, admin changes only.
	other := newReceiver(t)
	body, _ := json.Marshal(map[string]any{"url": other.URL + "/theirs", "events": map[string]bool{"subscribe": true, "cleaned": true},
		"sources": map[string]bool{"admin": true}})
	req, _ := http.NewRequest("POST", s.URL()+"/3.0/lists/"+s.AudienceID()+"/webhooks", bytes.NewReader(body))
	req.SetBasicAuth("x", s.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("another webhook: %v %v", resp, err)
	}
	resp.Body.Close()

	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if n := s.ChangeProfile(mailchimptest.ByUser, 1, now, func(m map[string]any) { m["FNAME"] = "Ottoline" }); n != 1 {
		t.Fatalf("profile delivered %d", n)
	}
	if _, n := s.Subscribe(mailchimptest.ByAdmin, now, "new@example.com", map[string]any{"FNAME": "Nova"}); n != 2 {
		t.Fatalf("subscribe by admin delivered %d, want 2", n)
	}
	if _, n := s.Subscribe(mailchimptest.ByAPI, now, "api@example.com", nil); n != 1 {
		t.Fatalf("subscribe by api delivered %d, want ours only", n)
	}
	if n := s.Clean(mailchimptest.ByAdmin, 2, now); n != 1 || len(other.received()) != 2 {
		t.Fatalf("cleaned delivered %d (theirs got %d), want theirs only", n, len(other.received()))
	}
	if n := s.ChangeEmail(mailchimptest.ByUser, 1, now, "otto@example.net"); n != 1 {
		t.Fatalf("upemail delivered %d", n)
	}
	if n := s.Unsubscribe(mailchimptest.ByUser, 3, now); n != 1 {
		t.Fatalf("unsubscribe delivered %d", n)
	}
	got := rc.received()
	var types []string
	for _, f := range got {
		types = append(types, f.Get("type"))
		if f.Get("?token") != "tok" || f.Get("fired_at") != "2026-03-01 10:00:00" || f.Get("data[list_id]") != s.AudienceID() {
			t.Fatalf("delivery %v", f)
		}
	}
	if strings.Join(types, ",") != "profile,subscribe,subscribe,upemail,unsubscribe" {
		t.Fatalf("ours received %v", types)
	}
	if f := got[0]; f.Get("data[merges][FNAME]") != "Ottoline" || f.Get("data[id]") == "" {
		t.Fatalf("profile form %v", f)
	}
	if f := got[3]; f.Get("data[new_email]") != "otto@example.net" || f.Get("data[old_email]") == "" || f.Get("data[new_id]") == "" {
		t.Fatalf("upemail form %v", f)
	}
	if f := got[4]; f.Get("data[action]") != "unsub" {
		t.Fatalf("unsubscribe form %v", f)
	}
	// Each delivery parses as the connector reads it.
	for _, f := range got {
		if _, err := mailchimp.ParseWebhook([]byte(f.Encode()), source.Options{}); err != nil {
			t.Fatalf("%v: %v", f, err)
		}
	}

	// A failure waits for Deliver; a success clears it.
	rc.postStatus.Store(503)
	if n := s.ChangeProfile(mailchimptest.ByUser, 2, now, func(m map[string]any) { m["LNAME"] = "Retry" }); n != 0 || s.Pending() != 1 {
		t.Fatalf("failed delivery: %d answered 2xx, %d pending", n, s.Pending())
	}
	rc.postStatus.Store(200)
	if n := s.Deliver(); n != 1 || s.Pending() != 0 {
		t.Fatalf("retry: %d answered 2xx, %d pending", n, s.Pending())
	}
	// MaxFailures failures in a row: the webhook is dropped.
	rc.postStatus.Store(500)
	s.ChangeProfile(mailchimptest.ByUser, 2, now, func(m map[string]any) { m["LNAME"] = "Dropped" })
	for i := 1; i < mailchimptest.MaxFailures; i++ {
		if len(s.Webhooks()) != 2 {
			t.Fatalf("dropped after %d failures", i)
		}
		s.Deliver()
	}
	if hooks := s.Webhooks(); len(hooks) != 1 || !strings.HasPrefix(hooks[0].URL, other.URL) || s.Pending() != 0 {
		t.Fatalf("after %d failures: %+v, %d pending", mailchimptest.MaxFailures, hooks, s.Pending())
	}
}
