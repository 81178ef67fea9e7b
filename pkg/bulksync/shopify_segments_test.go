package bulksync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// shopifyRig runs Shopify syncs of one connection through the real
// pipeline on the embedded stack.
type shopifyRig struct {
	st      *store.Store
	tenant  string
	conn    store.Connection
	starter syncrun.Starter
}

func newShopifyRig(t *testing.T, shop *shopifytest.Server, bulk bool, selected ...string) *shopifyRig {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "s",
		"apiBaseUrl": shop.URL(), "bulkOperations": strconv.FormatBool(bulk)})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "shopify", Label: "Shopify",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw),
		SelectedTags: selected}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL)})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 4, BatchSize: 4, RetryDelay: time.Second}).Run(ctx)
	return &shopifyRig{st: st, tenant: tenant.ID, conn: conn, starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}}
}

// run starts a sync and waits for its end.
func (r *shopifyRig) run(t *testing.T, trigger string, incremental bool, since time.Time) store.Run {
	t.Helper()
	ctx := context.Background()
	run, err := r.starter.Start(ctx, r.tenant, r.conn.ID, trigger, incremental, since)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if run, err = r.st.GetRun(ctx, r.tenant, run.ID); err != nil {
			t.Fatal(err)
		}
		if run.Status != store.RunRunning {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not finish: %+v", run.ID, run.Counts)
		}
	}
}

// bySource lists the tenant's contacts (the Hub API's listing) by the
// Shopify external ids of their sources.
func (r *shopifyRig) bySource(t *testing.T) map[string]store.ContactView {
	t.Helper()
	out := map[string]store.ContactView{}
	for cur := ""; ; {
		cs, next, err := r.st.ListContacts(context.Background(), r.tenant, store.ContactFilter{}, 100, cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			for _, l := range c.Sources {
				out[l.ExternalID] = c
			}
		}
		if cur = next; cur == "" {
			return out
		}
	}
}

func customerID(n int) string { return strconv.FormatInt(shopifytest.BaseID+int64(n), 10) }

// newSegmentShop is a shop of 40 customers (each with a valid mobile)
// with two segments (Big Spenders:
// customers 1-5; Winback: 4-12), customer 20 without an account
// (DISABLED), an order of customer 3, a past guest checkout and an order
// with no contact at all.
func newSegmentShop(t *testing.T) (shop *shopifytest.Server, vip string, guestOrder int64) {
	t.Helper()
	shop = shopifytest.NewServer(shopifytest.Options{Customers: 40, Seed: 18, RestoreRate: 100000, MaxAvailable: 100000})
	t.Cleanup(shop.Close)
	for n := 1; n <= 40; n++ { // a valid mobile each: one contact per customer
		shop.SetSMSConsent(n, fmt.Sprintf("+6141%07d", n), "NOT_SUBSCRIBED", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	vip = shop.AddSegment("Big Spenders", 1, 2, 3, 4, 5)
	shop.AddSegment("Winback", 4, 5, 6, 7, 8, 9, 10, 11, 12)
	shop.SetAccountState(20, "DISABLED")
	shop.AddOrder(3, shopifytest.GuestCheckout{})
	guestOrder = shop.AddOrder(0, shopifytest.GuestCheckout{Email: "past.guest@example.com", FirstName: "Pat", LastName: "Guest", BillingPhone: "0412 555 018", CC: "AU"})
	shop.AddOrder(0, shopifytest.GuestCheckout{}) // an API-created order without a contact: skipped
	return shop, vip, guestOrder
}

// TestShopify_SegmentsBecomeGroupsAndGuestsLandOnTheInstall is issue 18
// items 3 and 4 as a user sees them, for both install plans (paged and
// Bulk Operations): a shop with two segments and tags syncs the segments
// as groups next to the tags ("Shopify - Big Spenders", "Shopify - Winback"); a
// customer without an account (DISABLED) and a past guest checkout (an
// order with customer null) land in "Shopify - Guests"; the run adds up.
// An incremental sync of a changed segment member afterwards keeps its
// segment groups (its customer record lists tags only).
func TestShopify_SegmentsBecomeGroupsAndGuestsLandOnTheInstall(t *testing.T) {
	t.Parallel()
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			t.Parallel()
			shop, _, guestOrder := newSegmentShop(t)
			shop.SetTags(1, []string{"Wholesale"})
			r := newShopifyRig(t, shop, bulk)
			run := r.run(t, store.TriggerInstall, false, time.Time{})
			// 40 customers, 5 + 9 membership records, 1 guest checkout.
			if run.Status != store.RunCompleted || !run.Counts.AddsUp() || run.Counts.Seen != 40+14+1 {
				t.Fatalf("install run = %s %+v (%s), want completed with 55 records", run.Status, run.Counts, run.Error)
			}
			got := r.bySource(t)
			for n := 1; n <= 40; n++ {
				c, ok := got[customerID(n)]
				if !ok {
					t.Fatalf("customer %d has no contact", n)
				}
				for group, in := range map[string]bool{"Shopify - Big Spenders": n <= 5, "Shopify - Winback": n >= 4 && n <= 12, "Shopify - Guests": n == 20} {
					if slices.Contains(c.Groups, group) != in {
						t.Errorf("customer %d: groups %v, in %q should be %v", n, c.Groups, group, in)
					}
				}
			}
			if g := got[customerID(1)].Groups; !slices.Contains(g, "Shopify - Wholesale") {
				t.Errorf("customer 1 lost its tag group: %v", g)
			}
			guest, ok := got["order:"+strconv.FormatInt(guestOrder, 10)]
			if !ok || !slices.Contains(guest.Groups, "Shopify - Guests") || guest.EmailKey != "past.guest@example.com" || guest.Phone != "+61412555018" {
				t.Fatalf("past guest checkout: %+v (found %v)", guest, ok)
			}

			// Customer 4 (Big Spenders and Winback) changes: the incremental sync
			// applies its customer record (tags only) and the contact
			// keeps both segment groups.
			since := time.Now().Add(-time.Minute)
			shop.Update(4, time.Now().Add(time.Hour), func(first, last *string) { *first = "Renamed" })
			inc := r.run(t, store.TriggerSchedule, true, since)
			if inc.Status != store.RunCompleted || inc.Counts.Updated != 1 {
				t.Fatalf("incremental run = %s %+v (%s), want one update", inc.Status, inc.Counts, inc.Error)
			}
			c := r.bySource(t)[customerID(4)]
			if c.FirstName.Value != "Renamed" || !slices.Contains(c.Groups, "Shopify - Big Spenders") || !slices.Contains(c.Groups, "Shopify - Winback") {
				t.Fatalf("customer 4 after the incremental sync: %s, groups %v", c.FirstName.Value, c.Groups)
			}
		})
	}
}

// TestShopify_SelectedSegmentScopesTheSync is issue 18 item 1 for
// Shopify segments: a connection that selects the segment "Big Spenders" syncs
// only its five members (each in "Shopify - Big Spenders"), no other customer and
// no guest; selecting a segment and a tag syncs the union.
func TestShopify_SelectedSegmentScopesTheSync(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		selected []string
		want     []int
	}{
		{"segment", []string{"Big Spenders"}, []int{1, 2, 3, 4, 5}},
		{"segment and tag", []string{"Big Spenders", "Scoped Tag"}, []int{1, 2, 3, 4, 5, 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			shop, _, _ := newSegmentShop(t)
			shop.SetTags(30, []string{"Scoped Tag"})
			r := newShopifyRig(t, shop, true, tc.selected...)
			run := r.run(t, store.TriggerInstall, false, time.Time{})
			if run.Status != store.RunCompleted || !run.Counts.AddsUp() {
				t.Fatalf("install run = %s %+v (%s)", run.Status, run.Counts, run.Error)
			}
			got := r.bySource(t)
			var ids []string
			for id := range got {
				ids = append(ids, id)
			}
			var want []string
			for _, n := range tc.want {
				want = append(want, customerID(n))
			}
			slices.Sort(ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Fatalf("synced source records %v, want %v", ids, want)
			}
			for _, n := range tc.want[:5] {
				if g := got[customerID(n)].Groups; !slices.Contains(g, "Shopify - Big Spenders") {
					t.Errorf("customer %d: groups %v, want Shopify - Big Spenders", n, g)
				}
			}
			if g := got[customerID(4)].Groups; slices.Contains(g, "Shopify - Winback") {
				t.Errorf("customer 4 got the unselected segment's group: %v", g)
			}
		})
	}
}

// TestShopify_SegmentCapIsAWarningInTheReport: a shop with more segments
// than a run reads (50) syncs the first 50 as groups and the report says
// the rest were left out (a row with reason segments_over_cap) instead of
// reading without bound; the run still completes.
func TestShopify_SegmentCapIsAWarningInTheReport(t *testing.T) {
	t.Parallel()
	shop, _, _ := newSegmentShop(t)
	for i := range shopify.DefaultMaxSegments {
		shop.AddSegment(fmt.Sprintf("Segment %02d", i), 30+i%10)
	}
	r := newShopifyRig(t, shop, false)
	run := r.run(t, store.TriggerInstall, false, time.Time{})
	if run.Status != store.RunCompleted || !run.Counts.AddsUp() {
		t.Fatalf("install run = %s %+v (%s)", run.Status, run.Counts, run.Error)
	}
	rows, _, err := r.st.ListReport(context.Background(), r.tenant, run.ID, "invalid", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, row := range rows {
		warned = warned || (row.ExternalID == "segments" && row.Reason == shopify.WarnSegmentsOverCap)
	}
	if !warned {
		t.Fatalf("no segments_over_cap row in the report: %+v", rows)
	}
	// The first 50 segments (Big Spenders, Winback and 48 others) are groups.
	groups := map[string]bool{}
	for _, c := range r.bySource(t) {
		for _, g := range c.Groups {
			groups[g] = true
		}
	}
	if !groups["Shopify - Big Spenders"] || !groups["Shopify - Segment 47"] || groups["Shopify - Segment 48"] || groups["Shopify - Segment 49"] {
		t.Fatalf("segment groups: %v", groups)
	}
}
