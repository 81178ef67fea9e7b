package shopify_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

// A completed export whose fileSize is absent is planned as one range to
// the end of the file; reading it is capped (bytes, customers, line
// length) and fails with a permanent ErrResultTooLarge past a cap, rather
// than reading the whole file into memory.
func TestBulkRangeWithoutFileSizeIsCapped(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 300, Seed: 7, BulkDelay: -1, OmitFileSize: true})
	defer s.Close()
	ctx := context.Background()
	c := bulkClient(t, s, 100, "")
	plan, err := c.PlanBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Fanout) != 1 {
		t.Fatalf("plan of %d ranges, want one for a result of unknown size", len(plan.Fanout))
	}
	if _, start, end, err := shopify.DecodeRangeCursor(plan.Fanout[0]); err != nil || start != 0 || end != math.MaxInt64 {
		t.Fatalf("range %d-%d %v, want the whole file", start, end, err)
	}
	// Within the default caps the file is read as it was.
	page, err := c.FetchPage(ctx, plan.Fanout[0])
	if err != nil || len(page.Records) != 300 {
		t.Fatalf("default caps: %d records, %v", len(page.Records), err)
	}
	for _, tc := range []struct {
		name                  string
		bytes, records, lines int64
	}{
		{"bytes", 4 << 10, 0, 0},
		{"customers", 0, 100, 0},
	} {
		capped := bulkClient(t, s, 100, "")
		shopify.SetRangeCaps(capped, tc.bytes, tc.records, tc.lines)
		_, err := capped.FetchPage(ctx, plan.Fanout[0])
		if !errors.Is(err, shopify.ErrResultTooLarge) {
			t.Errorf("%s cap: %v, want ErrResultTooLarge", tc.name, err)
		}
	}
	// A line over the line cap is that customer's problem, not the page's:
	// it comes back unreadable (reported invalid), with its id, and the
	// other lines are read.
	capped := bulkClient(t, s, 100, "")
	s.Update(5, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), func(first, _ *string) { *first = strings.Repeat("x", 8<<10) })
	plan, err = capped.PlanBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shopify.SetRangeCaps(capped, 0, 0, 4<<10)
	page, err = capped.FetchPage(ctx, plan.Fanout[0])
	if err != nil || len(page.Records) != 300 {
		t.Fatalf("line cap: %d records, %v; want 300 records, one unreadable", len(page.Records), err)
	}
	var unreadable []source.Record
	for _, r := range page.Records {
		if r.Unreadable != "" {
			unreadable = append(unreadable, r)
		}
	}
	if len(unreadable) != 1 || unreadable[0].Unreadable != "record_too_large" || unreadable[0].ExternalID != page.Records[4].ExternalID ||
		unreadable[0].ExternalID == "" {
		t.Fatalf("unreadable records %+v, want customer 5's alone, with its id", unreadable)
	}
}

// shopWithFirst serves the fake shop, answering the first request whose
// path contains part with answer instead.
func shopWithFirst(t *testing.T, opts shopifytest.Options, part string, answer func(http.ResponseWriter)) (*shopifytest.Server, *httptest.Server) {
	t.Helper()
	var done atomic.Bool
	var fake *shopifytest.Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, part) && done.CompareAndSwap(false, true) {
			answer(w)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	opts.URL = srv.URL
	fake = shopifytest.NewStore(opts)
	return fake, srv
}

func tooMany(retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
	}
}

// A Retry-After of a day (or a date a year out) is waited for at most the
// client's cap (safehttp.MaxRetryAfter, lowered here so the test is
// quick): the calls finish well inside their deadline.
func TestRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	for _, ra := range []string{"86400", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat)} {
		// GraphQL.
		fake, srv := shopWithFirst(t, shopifytest.Options{Customers: 5, Seed: 1}, "graphql", tooMany(ra))
		c, err := shopify.New(shopify.Config{ShopDomain: fake.Domain(), AccessToken: fake.AccessToken(), APIBaseURL: srv.URL}, source.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		shopify.SetMaxWait(c, time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		plan, _ := c.PlanBulk(ctx)
		if page, err := c.FetchPage(ctx, plan.Fanout[0]); err != nil || len(page.Records) != 5 {
			t.Errorf("graphql after Retry-After %s: %d records, %v", ra, len(page.Records), err)
		}
		cancel()
		// The bulk result download.
		fake, srv = shopWithFirst(t, shopifytest.Options{Customers: 5, Seed: 1, BulkDelay: -1}, "/bulk/", tooMany(ra))
		c, err = shopify.New(shopify.Config{ShopDomain: fake.Domain(), AccessToken: fake.AccessToken(), APIBaseURL: srv.URL, Bulk: true,
			BulkPollInterval: time.Millisecond}, source.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		shopify.SetMaxWait(c, time.Millisecond)
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		plan, err = c.PlanBulk(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if page, err := c.FetchPage(ctx, plan.Fanout[0]); err != nil || len(page.Records) != 5 {
			t.Errorf("download after Retry-After %s: %d records, %v", ra, len(page.Records), err)
		}
		cancel()
	}
}

// A shop reporting a near-zero restore rate cannot make the cost bucket
// wait past the cap either.
func TestCostBucketWaitIsCapped(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"customers":{"pageInfo":{"hasNextPage":false},"nodes":[]}},
 "extensions":{"cost":{"requestedQueryCost":252,"actualQueryCost":2,"throttleStatus":{"maximumAvailable":1,"currentlyAvailable":0,"restoreRate":0.000001}}}}`))
	}))
	defer srv.Close()
	c, err := shopify.New(shopify.Config{ShopDomain: "acme.myshopify.com", AccessToken: "t", APIBaseURL: srv.URL}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	shopify.SetMaxWait(c, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan, _ := c.PlanBulk(ctx)
	for i := range 3 {
		if _, err := c.FetchPage(ctx, plan.Fanout[0]); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
}
