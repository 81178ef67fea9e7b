package bulksync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

type rig struct {
	st      *store.Store
	starter syncrun.Starter
	tenant  string
	key     string // the tenant's API key
	conn    store.Connection
}

func newRig(t *testing.T, shop *woocommercetest.Server, mode string) *rig {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, apiKey, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: mode, DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{
		Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
	})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 4, BatchSize: 5, RetryDelay: time.Second}).Run(ctx)
	return &rig{st: st, starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}, tenant: tenant.ID, key: apiKey, conn: conn}
}

func (r *rig) runToEnd(t *testing.T, trigger string) store.Run {
	t.Helper()
	ctx := context.Background()
	run, err := r.starter.Start(ctx, r.tenant, r.conn.ID, trigger, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		got, err := r.st.GetRun(ctx, r.tenant, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RunRunning {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", run.ID)
	return store.Run{}
}

func TestBulkSync_InstallRunCountsExactlyAndResyncWritesNothing(t *testing.T) {
	t.Parallel()
	const customers, guests = 1200, 60
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Guests: guests, Seed: 5, FailEvery: 13})
	defer shop.Close()
	r := newRig(t, shop, "inferred")

	// What the fake holds decides what the report must say.
	invalid, identities := 0, map[string]bool{}
	for i := range customers + guests {
		p := fakestore.NewPerson(5, i)
		ph, _ := phone.Normalize(p.Phone, p.Country, "AU")
		em, _ := email.Normalize(p.Email)
		if ph == "" && em == "" {
			invalid++
			continue
		}
		identities[ph+"|"+em] = true
	}

	run := r.runToEnd(t, store.TriggerInstall)
	c := run.Counts
	if run.Status != store.RunCompleted || c.Seen != customers+guests || !c.AddsUp() {
		t.Fatalf("install run = %s %+v (error %q)", run.Status, c, run.Error)
	}
	if c.Invalid != invalid || c.Created != len(identities) {
		t.Errorf("created %d invalid %d; the fake holds %d distinct people and %d without identifiers", c.Created, c.Invalid, len(identities), invalid)
	}
	var contacts int
	cursor := ""
	guestsSeen := 0
	for {
		page, next, err := r.st.ListContacts(context.Background(), r.tenant, store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		contacts += len(page)
		for _, cv := range page {
			for _, g := range cv.Groups {
				if g == "WooCommerce - Guests" {
					guestsSeen++
				}
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if contacts != c.Created || guestsSeen == 0 {
		t.Errorf("%d contacts stored (%d guests), run created %d", contacts, guestsSeen, c.Created)
	}
	rows, _, err := r.st.ListReport(context.Background(), r.tenant, run.ID, "invalid", 100, "")
	if err != nil || len(rows) != min(invalid, 100) || (len(rows) > 0 && rows[0].Reason == "") {
		t.Errorf("invalid report rows = %d (%v), want %d with reasons", len(rows), err, invalid)
	}

	again := r.runToEnd(t, store.TriggerManual)
	if again.Status != store.RunCompleted || again.Counts.Unchanged != c.Created+c.Updated+c.Unchanged || again.Counts.Created != 0 || again.Counts.Updated != 0 {
		t.Fatalf("re-sync of an unchanged store = %+v", again.Counts)
	}
}
