package bulksync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestInstall_FourPlatformsWithOverlappingPeople installs Shopify (5,000
// customers), WooCommerce, Mailchimp and Klaviyo stores that share people
// (persons 4,950-4,999 are in all four), runs the four install syncs through
// the real pipeline, and checks: every run completes and adds up with the
// fake's record count, the store holds exactly one contact per person with
// an identifier, shared people carry every source label, and guests are in
// "WooCommerce - Guests".
func TestInstall_FourPlatformsWithOverlappingPeople(t *testing.T) {
	t.Parallel()
	const seed = 42
	// The Shopify install exports through Bulk Operations; the fake holds
	// the export open until the plan step has answered "not ready", so the
	// plan is asked again later (source.NotReadyError → a delayed plan
	// message) and finds it ready.
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 5000, Seed: seed, RestoreRate: 100000, MaxAvailable: 100000,
		HoldBulk: true})
	defer shop.Close()
	woo := woocommercetest.NewServer(woocommercetest.Options{Customers: 600, Guests: 40, Seed: seed, FirstPerson: 4800})
	defer woo.Close()
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 600, Seed: seed, FirstPerson: 4900})
	defer mc.Close()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 600, Seed: seed, FirstPerson: 4950, PerSecond: -1, PerMinute: -1})
	defer kl.Close()

	s := stacktest.New(t, stacktest.WithVisibilityTimeout(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	usage := &store.Usage{} // the store's successful writes: progress below
	st := store.New(s.DynamoDB, s.Table, store.WithUsage(usage))
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	wk, ws := woo.Credentials()
	installs := []struct {
		platform, label string
		cfg             map[string]string
		records         int
	}{
		{"shopify", "Shopify", map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "s", "apiBaseUrl": shop.URL()}, 5000},
		{"woocommerce", "WooCommerce", map[string]string{"storeUrl": woo.URL(), "consumerKey": wk, "consumerSecret": ws, "webhookSecret": "s"}, 640},
		{"mailchimp", "Mailchimp", map[string]string{"apiKey": mc.APIKey(), "audienceId": mc.AudienceID(), "apiBaseUrl": mc.URL()}, 600},
		{"klaviyo", "Klaviyo", map[string]string{"privateApiKey": kl.APIKey(), "apiBaseUrl": kl.URL()}, 600},
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	starter := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}
	var logs syncBuffer
	h := bulksync.New(bulksync.Deps{Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true, ShopifyBulkWait: 300 * time.Millisecond},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 4, BatchSize: 4, RetryDelay: time.Second}).Run(ctx)
	var runs []string
	for _, in := range installs {
		raw, _ := json.Marshal(in.cfg)
		conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: in.platform, Label: in.label,
			ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw)}
		if err := st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		run, err := starter.Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run.ID)
	}
	// The export completes only once the plan has said it is not ready.
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(logs.String(), "plan not ready"); {
		if time.Now().After(deadline) {
			t.Fatalf("the Shopify plan never answered \"not ready\" while its export was held (bulk operations started: %d)", shop.BulkOperations())
		}
		time.Sleep(20 * time.Millisecond)
	}
	shop.ReleaseBulk()
	// The runs share the workers: wait while any of them makes progress —
	// a record counted or anything written (a page of 600 records counts
	// nothing until it is done, and a loaded machine under -race applies
	// it slowly) — and give up only after stallLimit without either (a
	// stuck run stops writing).
	const stallLimit = 3 * time.Minute
	progress, lastChange := -1.0, time.Now()
	counted := func() float64 {
		n := 0
		for _, id := range runs {
			r, err := st.GetRun(ctx, tenant.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			n += r.Counts.Seen
		}
		_, wcu, _ := usage.Totals()
		return float64(n) + wcu
	}
	for i, id := range runs {
		var run store.Run
		for {
			if run, err = st.GetRun(ctx, tenant.ID, id); err != nil {
				t.Fatal(err)
			}
			if n := counted(); n != progress {
				progress, lastChange = n, time.Now()
			}
			if run.Status != store.RunRunning || time.Since(lastChange) > stallLimit {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if run.Status != store.RunCompleted || !run.Counts.AddsUp() || run.Counts.Seen != installs[i].records {
			t.Fatalf("%s install run = %s %+v (%s), want completed with %d records", installs[i].label, run.Status, run.Counts, run.Error, installs[i].records)
		}
	}
	if shop.BulkOperations() != 1 {
		t.Errorf("the Shopify plan asked again started a new export instead of resuming its own (bulk operations started: %d)", shop.BulkOperations())
	}

	// Who the fakes hold: persons 0-4999 (Shopify), 4800-5399 and guests
	// 5400-5439 (WooCommerce), 4900-5499 (Mailchimp), 4950-5549 (Klaviyo).
	inRange := func(i, from, n int) bool { return i >= from && i < from+n }
	labels := map[int][]string{}
	expected := 0
	guests := 0
	for i := 0; i < 5550; i++ {
		p := fakestore.NewPerson(seed, i)
		e164, _ := phone.Normalize(p.Phone, p.Country, "AU")
		mail, _ := email.Normalize(p.Email)
		var ls []string
		if inRange(i, 0, 5000) {
			ls = append(ls, "Shopify")
		}
		if inRange(i, 4800, 640) {
			ls = append(ls, "WooCommerce")
		}
		own := e164 != "" || mail != "" // the person's own identifiers (a Woo guest needs them)
		if inRange(i, 4900, 600) {
			ls = append(ls, "Mailchimp") // every Mailchimp member has an email
			mail = "x"
		}
		if inRange(i, 4950, 600) {
			ls = append(ls, "Klaviyo")
		}
		if e164 == "" && mail == "" {
			continue
		}
		expected++
		if inRange(i, 5400, 40) && own {
			guests++
		}
		if len(ls) == 4 && e164 != "" {
			slices.Sort(ls)
			labels[i] = ls
		}
	}
	byPhone := map[string]store.ContactView{}
	total, guestContacts := 0, 0
	cursor := ""
	for {
		page, next, err := st.ListContacts(ctx, tenant.ID, store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range page {
			total++
			if cv.Phone != "" {
				if _, dup := byPhone[cv.Phone]; dup {
					t.Errorf("two contacts for %s", cv.Phone)
				}
				byPhone[cv.Phone] = cv
			}
			if slices.Contains(cv.Groups, "WooCommerce - Guests") {
				guestContacts++
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if total != expected {
		t.Errorf("%d contacts, want %d (one per person with an identifier)", total, expected)
	}
	if guestContacts != guests {
		t.Errorf("%d contacts in WooCommerce - Guests, want %d", guestContacts, guests)
	}
	if len(labels) == 0 {
		t.Fatal("no person in all four stores with a phone: test data changed")
	}
	for i, want := range labels {
		p := fakestore.NewPerson(seed, i)
		cv, ok := byPhone[p.E164]
		if !ok {
			t.Errorf("person %d (%s) has no contact", i, phone.Mask(p.E164))
			continue
		}
		if got := cv.Labels(); !slices.Equal(got, want) {
			t.Errorf("person %d sources = %v, want %v", i, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the handler's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
