package shopify_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

// With tags selected, the paged listing and the bulk export alike ask
// Shopify for the customers with one of them (tag:'...' search terms,
// quotes escaped), so only those are read; incremental listings keep both
// filters. Without, every customer (fails with every customer listed).
func TestSelectedTags_ListOnlyTaggedCustomers(t *testing.T) {
	t.Parallel()
	const customers = 600
	s := shopifytest.NewServer(shopifytest.Options{Customers: customers, Seed: 9, RestoreRate: 1e6, MaxAvailable: 1e6})
	defer s.Close()
	want := map[string]bool{}
	for n := 1; n <= customers; n++ {
		switch {
		case n%7 == 0:
			s.SetTags(n, []string{"SMS club"})
		case n%11 == 0:
			s.SetTags(n, []string{"other", "O'Neil\\s"})
		default:
			s.SetTags(n, []string{"other"})
		}
	}
	tags := []string{"SMS club", "O'Neil\\s"}
	opts := source.Options{ConnectionID: "c1", SelectedTags: tags}
	paged, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL()}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range listAll(t, paged, mustPlan(t, paged)) {
		want[r.ExternalID] = true
		if !hasOne(r.Groups, tags) {
			t.Fatalf("customer %s without a selected tag listed: %v", r.ExternalID, r.Groups)
		}
	}
	n7, n11 := customers/7, 0
	for n := 11; n <= customers; n += 11 {
		if n%7 != 0 {
			n11++
		}
	}
	if len(want) != n7+n11 {
		t.Fatalf("paged listing: %d customers, want %d", len(want), n7+n11)
	}
	bulk, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(),
		Bulk: true, BulkPollInterval: 2 * time.Millisecond, BulkReuseWithin: time.Hour}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := bulk.PlanBulk(context.Background())
	if err != nil || plan.Total != len(want) {
		t.Fatalf("bulk plan: total %d, %v; want %d", plan.Total, err, len(want))
	}
	got := 0
	for _, cur := range plan.Fanout {
		p, err := bulk.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			if !want[r.ExternalID] {
				t.Fatalf("bulk export lists %s, not in a selected tag", r.ExternalID)
			}
			got++
		}
	}
	if got != len(want) {
		t.Fatalf("bulk export: %d customers, want %d", got, len(want))
	}
	// The same connection's plan finds its own export again (the same
	// filtered query).
	if plan, err = bulk.PlanBulk(context.Background()); err != nil || s.BulkOperations() != 1 {
		t.Fatalf("second plan: %v, %d bulk operations", err, s.BulkOperations())
	}
	// Incremental: tagged and changed.
	inc, err := paged.PlanIncremental(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if recs := listAll(t, paged, inc); len(recs) != 0 {
		t.Fatalf("incremental after every change: %d records", len(recs))
	}
	// No tags selected: every customer.
	if all := listAll(t, client(t, s), mustPlan(t, client(t, s))); len(all) != customers {
		t.Fatalf("unscoped: %d customers", len(all))
	}
}

func hasOne(groups, tags []string) bool {
	for _, g := range groups {
		for _, t := range tags {
			if g == t {
				return true
			}
		}
	}
	return false
}
