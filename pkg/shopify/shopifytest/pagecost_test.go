package shopifytest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// A customers page costs the fake its own size, not the store's: the
// bench's per-contact CPU and handler time include the fake's, and a fake
// that gathered and sorted every customer after the cursor per page made a
// full listing quadratic. Measured as bytes allocated per page request in
// stores of 1,000 and 20,000 customers.
func TestCustomersPage_CostDoesNotGrowWithTheStore(t *testing.T) {
	small, big := bytesPerPage(t, 1000), bytesPerPage(t, 20000)
	if big > 2*small {
		t.Fatalf("a page of 10 allocates %d bytes in a store of 20,000, %d in one of 1,000: it should not grow with the store", big, small)
	}
}

func bytesPerPage(t *testing.T, customers int) uint64 {
	t.Helper()
	s := NewStore(Options{Customers: customers, Seed: 7, RestoreRate: 1e6, MaxAvailable: 1e6})
	h := s.Handler()
	after := ""
	get := func() {
		vars := map[string]any{"first": 10}
		if after != "" {
			vars["after"] = after
		}
		body, _ := json.Marshal(map[string]any{"query": "query { customers(first: $first, after: $after) { nodes { id } } }", "variables": vars})
		r := httptest.NewRequest(http.MethodPost, "/admin/api/2025-07/graphql.json", strings.NewReader(string(body)))
		r.Header.Set("X-Shopify-Access-Token", s.AccessToken())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out struct {
			Data struct {
				Customers struct {
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
					Nodes []map[string]any
				}
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Data.Customers.Nodes) != 10 || !out.Data.Customers.PageInfo.HasNextPage {
			t.Fatalf("page after %q: %v: %s", after, err, w.Body.String())
		}
		after = out.Data.Customers.PageInfo.EndCursor
	}
	get() // warm up
	const pages = 5
	var before, done runtime.MemStats
	runtime.ReadMemStats(&before)
	for range pages {
		get()
	}
	runtime.ReadMemStats(&done)
	return (done.TotalAlloc - before.TotalAlloc) / pages
}
