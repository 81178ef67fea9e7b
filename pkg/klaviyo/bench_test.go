package klaviyo_test

import (
	"context"
	"testing"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
)

// BenchmarkBulkListing lists against a per-second limit of 15 requests (a
// scaled-down stand-in for get_profiles' 750/min, so a run takes seconds,
// not minutes): the bound is 15 × 100 profiles/s. It reports profiles/s,
// the bound and the ratio. With the real limits the bound is 750/60 × 100
// = 1,250 profiles/s.
func BenchmarkBulkListing(b *testing.B) {
	const perSecond = 15 // the steady 750/min scaled to a per-second window
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 6000, Seed: 1, PerSecond: perSecond, PerMinute: -1})
	defer s.Close()
	c := client(b, s)
	c.SetPace(perSecond*0.97, 1) // just under the limit, as the default pace is under 750/min
	n := 0
	for b.Loop() {
		plan, _ := c.PlanBulk(context.Background())
		n += len(listAll(b, c, plan))
	}
	rate := float64(n) / b.Elapsed().Seconds()
	bound := float64(perSecond * klaviyo.PageSize)
	b.ReportMetric(rate, "profiles/s")
	b.ReportMetric(bound, "bound-profiles/s")
	b.ReportMetric(rate/bound, "ratio")
}
