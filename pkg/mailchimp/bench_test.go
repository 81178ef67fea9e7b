package mailchimp_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/source"
)

// BenchmarkBulkListing: Mailchimp's limit is 10 simultaneous connections;
// with a realistic 200 ms per 1000-member page the bound is
// 10 × 1000 / 0.2 s = 50,000 members/s. It reports members/s and the
// ratio for the pages (the listing once planned: the rate the limit
// governs) and, as ratio-with-plan, for the whole listing including the
// one total_items request PlanBulk must make first (the store is 100 pages,
// 10 waves of 10, so that request alone costs 1/11 of the run).
func BenchmarkBulkListing(b *testing.B) {
	const latency = 200 * time.Millisecond
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 100000, Seed: 1, Latency: latency})
	defer s.Close()
	c := client(b, s, source.Options{})
	n := 0
	var pages time.Duration
	for b.Loop() {
		plan, err := c.PlanBulk(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		n += len(listAll(b, c, plan))
		pages += time.Since(start)
	}
	bound := float64(mailchimp.MaxConnections*mailchimp.PageSize) / latency.Seconds()
	rate := float64(n) / pages.Seconds()
	b.ReportMetric(rate, "members/s")
	b.ReportMetric(bound, "bound-members/s")
	b.ReportMetric(rate/bound, "ratio")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/bound, "ratio-with-plan")
}
