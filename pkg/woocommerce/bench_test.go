package woocommerce_test

import (
	"context"
	"sync"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// BenchmarkBulkListing lists a store whose host allows 10 requests/s
// (WooCommerce core has no limit; hosts do): the bound is 10 × 100 = 1,000
// customers/s. It reports customers/s, the bound and their ratio.
func BenchmarkBulkListing(b *testing.B) {
	const hostRPS, customers = 10, 3000
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Seed: 1, RateLimit: hostRPS})
	defer s.Close()
	key, secret := s.Credentials()
	c, err := woocommerce.New(woocommerce.Config{StoreURL: s.URL(), ConsumerKey: key, ConsumerSecret: secret, MaxRPS: hostRPS}, source.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	for b.Loop() {
		plan, err := c.PlanBulk(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 4)
		for _, cur := range plan.Fanout {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				p, err := c.FetchPage(ctx, cur)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				n += len(p.Records)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	rate := float64(n) / b.Elapsed().Seconds()
	bound := float64(hostRPS * woocommerce.PerPage)
	b.ReportMetric(rate, "customers/s")
	b.ReportMetric(bound, "bound-customers/s")
	b.ReportMetric(rate/bound, "ratio")
}
