package shopify_test

import (
	"context"
	"testing"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
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
