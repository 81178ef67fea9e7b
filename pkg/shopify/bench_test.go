package shopify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

// BenchmarkBulkListing lists customers against the fake with Shopify's
// Standard-plan bucket (restore 100 points/s, 2000 maximum), starting from
// an empty bucket so the steady restore rate is what is measured. A page of
// 250 costs 252 points, so the bound is 100/252 × 250 ≈ 99 customers/s.
func BenchmarkBulkListing(b *testing.B) {
	const customers = 1250
	ctx := context.Background()
	n := 0
	for b.Loop() {
		s := shopifytest.NewServer(shopifytest.Options{Customers: customers, Seed: 1, InitialAvailable: 1})
		c := client(b, s)
		plan, _ := c.PlanBulk(ctx)
		cur := plan.Fanout[0]
		for {
			p, err := c.FetchPage(ctx, cur)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Records)
			if p.Next == "" {
				break
			}
			cur = p.Next
		}
		s.Close()
	}
	rate := float64(n) / b.Elapsed().Seconds()
	bound := 100.0 / shopify.PageCost * shopify.PageSize
	b.ReportMetric(rate, "customers/s")
	b.ReportMetric(bound, "bound-customers/s")
	b.ReportMetric(rate/bound, "ratio")
}

// BenchmarkBulkOperation lists 10,000 customers through the bulk plan
// against the fake on the Standard-plan bucket: one bulkOperationRunQuery,
// status polls (the fake completes after 20 ms; the client polls every
// 5 ms here, 1 s by default), then the ranges of 1,000 lines fetched by 4
// workers, as the pipeline's consumers would. Only the mutation and the
// polls spend cost points, so the chained bound (≈99 customers/s) does not
// apply; the fake's JSONL generation and the mapping are what is measured.
func BenchmarkBulkOperation(b *testing.B) {
	const customers = 10000
	s := shopifytest.NewServer(shopifytest.Options{Customers: customers, Seed: 1})
	defer s.Close()
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(),
		Bulk: true, BulkPollInterval: 5 * time.Millisecond, BulkReuseWithin: -1}, source.Options{ConnectionID: "c1"}, nil) // a new export each time
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		plan, err := c.PlanBulk(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan source.Cursor)
		for range 4 {
			wg.Go(func() {
				for cur := range next {
					p, err := c.FetchPage(ctx, cur)
					if err != nil {
						b.Error(err)
						continue
					}
					mu.Lock()
					n += len(p.Records)
					mu.Unlock()
				}
			})
		}
		for _, cur := range plan.Fanout {
			next <- cur
		}
		close(next)
		wg.Wait()
	}
	if n%customers != 0 {
		b.Fatalf("%d records listed, not a multiple of %d", n, customers)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "customers/s")
}
