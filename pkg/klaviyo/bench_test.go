package klaviyo_test

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
)

// BenchmarkBulkListing lists against the fake at Klaviyo's real default
// limits (75/s burst, 750/min steady) and reports customers/s against the
// steady bound (750/min x 100 per page). A short run fits inside the burst,
// so its ratio exceeds 1; longer -benchtime runs approach the steady bound.
func BenchmarkBulkListing(b *testing.B) {
	const perMinute = 750
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 2000, Seed: 1, PerSecond: 75, PerMinute: perMinute})
	defer s.Close()
	c := newClient(b, s, s.APIKey())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += len(listAll(b, c, mustPlan(b, c)))
	}
	bound := float64(perMinute) / 60 * 100
	got := float64(n) / b.Elapsed().Seconds()
	b.ReportMetric(got, "customers/s")
	b.ReportMetric(bound, "bound-customers/s")
	b.ReportMetric(got/bound, "ratio")
}

// BenchmarkBulkListingSteady scales the limit down so a short run is all
// steady state: the fake allows 25 requests per sliding second (no burst
// beyond that), the client paces at the same configured rate, and the bound
// is 25 x 100 customers/s.
func BenchmarkBulkListingSteady(b *testing.B) {
	const perSecond = 25
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 5000, Seed: 1, PerSecond: perSecond, PerMinute: -1})
	defer s.Close()
	c := newClient(b, s, s.APIKey())
	c.SetPace(perSecond, 1)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += len(listAll(b, c, mustPlan(b, c)))
	}
	bound := float64(perSecond) * 100
	got := float64(n) / b.Elapsed().Seconds()
	b.ReportMetric(got, "customers/s")
	b.ReportMetric(bound, "bound-customers/s")
	b.ReportMetric(got/bound, "ratio")
}
