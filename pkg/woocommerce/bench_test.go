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
// (WooCommerce core has no limit; hosts do): the sustained bound is
// 10 × 100 = 1,000 customers/s. A listing before the timed ones spends the
// host's burst, so a short run cannot beat the bound on it. It reports
// customers/s, the bound and their ratio.
func BenchmarkBulkListing(b *testing.B) {
	const hostRPS = 10
	n, elapsed := benchListing(b, 3000, hostRPS, hostRPS)
	rate := float64(n) / elapsed
	bound := float64(hostRPS * woocommerce.PerPage)
	b.ReportMetric(rate, "customers/s")
	b.ReportMetric(bound, "bound-customers/s")
	b.ReportMetric(rate/bound, "ratio")
}

// BenchmarkBulkListingNoLimit lists a store with no host limit (WooCommerce
// core's default) and the client's pace set high (1,000 requests/s), so it
// measures the client and fake themselves; there is no bound to compare.
func BenchmarkBulkListingNoLimit(b *testing.B) {
	n, elapsed := benchListing(b, 3000, 0, 1000)
	b.ReportMetric(float64(n)/elapsed, "customers/s")
}

// benchListing runs the b.Loop of a fanned-out bulk listing (4 workers) and
// returns the records listed and the elapsed seconds. hostRPS is the fake's
// limit (0 = none), clientRPS the client's configured MaxRPS.
func benchListing(b *testing.B, customers int, hostRPS, clientRPS float64) (int, float64) {
	b.ReportAllocs()
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Seed: 1, RateLimit: hostRPS})
	defer s.Close()
	key, secret := s.Credentials()
	c, err := woocommerce.New(woocommerce.Config{StoreURL: s.URL(), ConsumerKey: key, ConsumerSecret: secret, MaxRPS: clientRPS}, source.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	listAll := func() {
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
	listAll() // warm-up: spends the host's burst
	n = 0
	for b.Loop() {
		listAll()
	}
	return n, b.Elapsed().Seconds()
}
