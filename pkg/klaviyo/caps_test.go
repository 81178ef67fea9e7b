package klaviyo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

// Waits Klaviyo asks for — a Retry-After of a day, a rate-limit window
// that "resets" in a day — are waited for at most the client's cap
// (safehttp.MaxRetryAfter, lowered here so the test is quick).
func TestServerWaitsAreCapped(t *testing.T) {
	t.Parallel()
	for name, first := range map[string]func(w http.ResponseWriter, r *http.Request, fake http.Handler){
		"Retry-After": func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
			w.Header().Set("Retry-After", "86400")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		"RateLimit-Reset": func(w http.ResponseWriter, r *http.Request, fake http.Handler) {
			w.Header().Set("RateLimit-Remaining", "0")
			w.Header().Set("RateLimit-Reset", "86400")
			fake.ServeHTTP(w, r)
		},
	} {
		fake := klaviyotest.NewStore(klaviyotest.Options{Profiles: 150, Seed: 2})
		var answered atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if answered.CompareAndSwap(false, true) {
				first(w, r, fake.Handler())
				return
			}
			fake.Handler().ServeHTTP(w, r)
		}))
		c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: fake.APIKey(), APIBaseURL: srv.URL}, source.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		klaviyo.SetMaxWait(c, time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		plan, err := c.PlanBulk(ctx)
		if err != nil {
			t.Fatalf("%s: plan: %v", name, err)
		}
		n := 0
		for cur := plan.Fanout[0]; cur != ""; {
			page, err := c.FetchPage(ctx, cur)
			if err != nil {
				t.Fatalf("%s: page: %v", name, err)
			}
			n += len(page.Records)
			cur = page.Next
		}
		if n != 150 {
			t.Errorf("%s: %d profiles, want 150", name, n)
		}
		cancel()
		srv.Close()
	}
}
