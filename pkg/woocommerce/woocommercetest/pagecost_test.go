package woocommercetest

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// A page of customers costs the fake its own size, not the store's: the
// bench's per-contact CPU and handler time include the fake's, and a fake
// that copied and sorted every customer per page made a full listing
// quadratic (a 100,000-customer sync spent more time in the fake than in
// the product). Measured as bytes allocated per page request in stores of
// 1,000 and 20,000 customers, which the copy made 20 times larger.
func TestListCustomers_PageCostDoesNotGrowWithTheStore(t *testing.T) {
	small, big := bytesPerPage(t, 1000), bytesPerPage(t, 20000)
	if big > 2*small {
		t.Fatalf("a page of 100 allocates %d bytes in a store of 20,000, %d in one of 1,000: it should not grow with the store", big, small)
	}
}

func bytesPerPage(t *testing.T, customers int) uint64 {
	t.Helper()
	s := NewStore(Options{Customers: customers, Seed: 7})
	h := s.Handler()
	get := func(page int) {
		r := httptest.NewRequest(http.MethodGet, "/wp-json/wc/v3/customers?per_page=100&page="+strconv.Itoa(page), nil)
		r.SetBasicAuth(s.Credentials())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Header().Get("X-WP-Total") != strconv.Itoa(customers) {
			t.Fatalf("page %d: %d, total %q: %s", page, w.Code, w.Header().Get("X-WP-Total"), w.Body.String())
		}
	}
	get(1) // warm up
	const pages = 5
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for p := range pages {
		get(p + 2)
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / pages
}
