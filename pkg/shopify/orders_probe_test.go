package shopify_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
)

// TestFake_PricesAFirstWrittenInTheQuery: the orders probe writes first: 1
// in the query, not as a variable; Shopify prices it as one order (2 + 1
// points). The fake priced it as its default page of 50, so after an
// install had drained the bucket the probe was THROTTLED at every attempt
// while the shop held the 3 points the client had reserved, and a full
// re-sync's plan never finished (make bench hung there).
func TestFake_PricesAFirstWrittenInTheQuery(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 3, Seed: 1})
	t.Cleanup(s.Close)
	body, _ := json.Marshal(map[string]any{"query": shopify.OrdersProbeQuery})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/admin/api/2025-07/graphql.json", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Access-Token", s.AccessToken())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Extensions struct {
			Cost struct {
				RequestedQueryCost float64 `json:"requestedQueryCost"`
			} `json:"cost"`
		} `json:"extensions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if got := out.Extensions.Cost.RequestedQueryCost; got != 3 {
		t.Fatalf("the orders probe was priced %v points, want 3 (first: 1)", got)
	}
}
