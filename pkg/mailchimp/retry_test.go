package mailchimp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/source"
)

// The client's calls run through httpx: a 429's Retry-After is waited
// out before the call is made again, a dropped connection is asked
// again, and a refusal is a permanent *httpx.Error whose text names the
// status but none of Mailchimp's words.
func TestClient_RetryAfterDroppedConnectionAndRefusal(t *testing.T) {
	t.Parallel()
	fake := mailchimptest.NewStore(mailchimptest.Options{Members: 3, Seed: 1})
	var first atomic.Value // the answer of the next request, once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, _ := first.Swap(http.HandlerFunc(nil)).(http.HandlerFunc); f != nil {
			f(w, r)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := mailchimp.New(mailchimp.Config{APIKey: fake.APIKey(), AudienceID: fake.AudienceID(), APIBaseURL: srv.URL}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	mailchimp.SetSleep(c, func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return nil
	})
	ctx := context.Background()

	first.Store(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		fakeapi.JSON(w, http.StatusTooManyRequests, map[string]any{"title": "Too Many Requests", "status": 429})
	}))
	if plan, err := c.PlanBulk(ctx); err != nil || plan.Total != 3 {
		t.Fatalf("plan after a 429: %+v %v", plan, err)
	}
	if len(waits) != 1 || waits[0] < 7*time.Second {
		t.Fatalf("waits %v, want the 429's Retry-After (7s)", waits)
	}

	first.Store(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	if plan, err := c.PlanBulk(ctx); err != nil || plan.Total != 3 {
		t.Fatalf("plan after a dropped connection: %+v %v", plan, err)
	}

	before := len(waits)
	first.Store(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fakeapi.JSON(w, http.StatusBadRequest, map[string]any{"title": "Invalid Resource", "status": 400, "detail": "member jane@example.com is invalid"})
	}))
	_, err = c.PlanBulk(ctx)
	if httpx.StatusOf(err) != http.StatusBadRequest || !mailchimp.Permanent(err) || strings.Contains(err.Error(), "jane") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("a refusal: %v (permanent %v)", err, mailchimp.Permanent(err))
	}
	if len(waits) != before {
		t.Fatalf("%d waits after a refusal, want none (it is not asked again)", len(waits)-before)
	}
}
