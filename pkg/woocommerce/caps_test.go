package woocommerce_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// A Retry-After of a day, in seconds or as a date, is waited for at most
// the client's cap (safehttp.MaxRetryAfter, lowered here so the test is
// quick): the listing finishes well inside its deadline.
func TestRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	for _, ra := range []string{"86400", time.Now().AddDate(0, 0, 2).UTC().Format(http.TimeFormat)} {
		fake := woocommercetest.NewStore(woocommercetest.Options{Customers: 5, Seed: 3})
		var answered atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if answered.CompareAndSwap(false, true) {
				w.Header().Set("Retry-After", ra)
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			fake.Handler().ServeHTTP(w, r)
		}))
		key, secret := fake.Credentials()
		c, err := woocommerce.New(woocommerce.Config{StoreURL: srv.URL, ConsumerKey: key, ConsumerSecret: secret, MaxRPS: 1000}, source.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		woocommerce.SetMaxWait(c, time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		plan, err := c.PlanBulk(ctx)
		if err != nil || len(plan.Fanout) == 0 {
			t.Errorf("plan after Retry-After %s: %v", ra, err)
		}
		cancel()
		srv.Close()
	}
}
