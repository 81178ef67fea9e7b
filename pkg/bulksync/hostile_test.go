package bulksync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestHostileTenant_NextToANormalOne syncs a hostile tenant beside a normal
// one through one pipeline (one table, one pages queue, one worker pool):
//
//   - the hostile tenant's Shopify store claims SMS consent dated 2099 for
//     ten numbers, holds a customer with a 1 MB name and one with 10,000
//     tags, and answers its bulk export without a file size;
//   - its WooCommerce "store" redirects every request to another host (the
//     stand-in for a private address: 169.254.169.254 in the real attack);
//   - the normal tenant installs a plain WooCommerce store.
//
// Numbers of both tenants reply STOP (some before their install, some after
// it), and both stores are synced again. The normal tenant's runs finish
// with exact counts, the hostile ones end completed or failed with a reason,
// every STOP holds, and the redirect target sees no request.
func TestHostileTenant_NextToANormalOne(t *testing.T) {
	t.Parallel()
	const seed, normalCustomers, normalGuests, hostileCustomers = 7, 150, 10, 120
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	year2099 := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

	// The normal tenant's store; its customers 1-8 get numbers the test
	// knows (1-4 reply STOP before the install, 5-8 after it).
	woo := woocommercetest.NewServer(woocommercetest.Options{Customers: normalCustomers, Guests: normalGuests, Seed: seed})
	defer woo.Close()
	normalPhone := func(i int) string { return fmt.Sprintf("+6141250%04d", i) }
	for i := 1; i <= 8; i++ {
		woo.Update(int64(i), at, func(c *woocommerce.Customer) { c.Billing.Phone, c.Billing.Country = normalPhone(i), "AU" })
	}

	// The hostile tenant's Shopify store.
	shop := shopifytest.NewServer(shopifytest.Options{Customers: hostileCustomers, Seed: seed + 1, OmitFileSize: true,
		RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	hostilePhone := func(i int) string { return fmt.Sprintf("+6141260%04d", i) }
	for i := 1; i <= 10; i++ { // subscribed "in 2099"
		shop.SetSMSConsent(i, hostilePhone(i), "SUBSCRIBED", year2099)
	}
	shop.Update(11, at, func(first, last *string) { *first, *last = strings.Repeat("é", 1<<19), strings.Repeat("x", 1<<19) }) // 1 MB each
	tags := make([]string, 10000)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%05d", i)
	}
	shop.SetTags(12, tags)

	// The hostile tenant's WooCommerce host redirects everything to a
	// target that must never be reached.
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		fmt.Fprint(w, `[]`)
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer redirector.Close()

	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second), stacktest.WithMaxReceiveCount(3))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{
		// The fakes are on loopback, so private hosts are allowed here;
		// redirects are refused whatever that setting says.
		Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
	})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 3, BatchSize: 3, RetryDelay: time.Second}).Run(ctx)
	starter := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}

	// STOP replies arrive through the real inbound handler, signed by the
	// tenants' (fake) Twilio accounts.
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	in := inbound.New(inbound.Deps{Store: st, Opener: sealer})
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", in.Handle))
	defer srv.Close()

	newTenant := func(name string) string {
		t.Helper()
		tenant, _, err := st.CreateTenant(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		sid, token := tw.Credentials()
		settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: name, APIBaseURL: tw.URL(),
			Credentials: map[string]string{"accountSid": sid, "authToken": token}})
		if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
			t.Fatal(err)
		}
		return tenant.ID
	}
	normal, hostile := newTenant("Normal"), newTenant("Hostile")
	stop := func(tenant, phone string) {
		t.Helper()
		path := "/sms/inbound/twilio/" + tenant
		resp, _, err := tw.SendInbound(ctx, srv.URL+path, path, phone, "+15005550006", "STOP", "")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("STOP from %s answered %d", phone, resp.StatusCode)
		}
	}
	connect := func(tenant, platform, label, mode string, cfg map[string]string) string {
		t.Helper()
		raw, _ := json.Marshal(cfg)
		conn := store.Connection{TenantID: tenant, ID: store.NewConnectionID(tenant), Platform: platform, Label: label,
			ConsentMode: mode, DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant, raw)}
		if err := st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		return conn.ID
	}
	sync := func(tenant, conn string, trigger string) string {
		t.Helper()
		run, err := starter.Start(ctx, tenant, conn, trigger, false, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	wait := func(tenant, id string) store.Run {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			run, err := st.GetRun(ctx, tenant, id)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != store.RunRunning {
				return run
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s of %s still running: %+v", id, tenant, run.Counts)
			}
		}
	}
	ck, cs := woo.Credentials()
	normalConn := connect(normal, "woocommerce", "WooCommerce", "inferred",
		map[string]string{"storeUrl": woo.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "s"})
	shopConn := connect(hostile, "shopify", "Shopify", "explicit",
		map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "s", "apiBaseUrl": shop.URL()})
	redirConn := connect(hostile, "woocommerce", "WooCommerce", "inferred",
		map[string]string{"storeUrl": redirector.URL, "consumerKey": "ck_x", "consumerSecret": "cs_x", "webhookSecret": "s"})

	// Normal numbers 1-4 opt out before their store is installed.
	for i := 1; i <= 4; i++ {
		stop(normal, normalPhone(i))
	}
	// All three installs run at once on the shared pipeline.
	normalRun, shopRun, redirRun := sync(normal, normalConn, store.TriggerInstall), sync(hostile, shopConn, store.TriggerInstall),
		sync(hostile, redirConn, store.TriggerInstall)

	checkNormal := func(r store.Run, trigger string) {
		t.Helper()
		c := r.Counts
		if r.Status != store.RunCompleted || !c.AddsUp() || c.Seen != normalCustomers+normalGuests {
			t.Fatalf("normal tenant's %s = %s %+v (%s), want completed with %d records that add up", trigger, r.Status, c, r.Error, normalCustomers+normalGuests)
		}
	}
	n := wait(normal, normalRun)
	checkNormal(n, "install")
	if n.Counts.Updated != 0 || n.Counts.Created+n.Counts.Invalid != n.Counts.Seen {
		t.Fatalf("normal install counts %+v: a fresh install creates or rejects every record", n.Counts)
	}
	contacts, _, err := st.ListContacts(ctx, normal, store.ContactFilter{}, 100, "")
	if err != nil || len(contacts) == 0 {
		t.Fatalf("normal tenant's contacts: %d, %v", len(contacts), err)
	}

	// The hostile store's bad customers are their own problem: the run
	// completes, the 1 MB customer is reported invalid with its reason,
	// the 10,000-tag one is stored with its groups cut.
	sr := wait(hostile, shopRun)
	if sr.Status != store.RunCompleted || !sr.Counts.AddsUp() || sr.Counts.Seen != hostileCustomers {
		t.Fatalf("hostile Shopify install = %s %+v (%q), want completed with %d records that add up", sr.Status, sr.Counts, sr.Error, hostileCustomers)
	}
	rows, _, err := st.ListReport(ctx, hostile, shopRun, "invalid", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var tooLarge bool
	for _, row := range rows {
		tooLarge = tooLarge || strings.Contains(row.Reason, "record_too_large")
	}
	if !tooLarge {
		t.Errorf("invalid rows %+v: none for the 1 MB customer (record_too_large)", rows)
	}
	t.Logf("hostile Shopify install: %s %+v %q", sr.Status, sr.Counts, sr.Error)
	rr := wait(hostile, redirRun)
	t.Logf("redirecting store's install: %s %q", rr.Status, rr.Error)
	if rr.Status != store.RunFailed || rr.Error == "" {
		t.Fatalf("redirecting store's install = %s (%q), want failed with a reason", rr.Status, rr.Error)
	}
	if strings.Contains(rr.Error, target.URL) {
		t.Errorf("the run's error names the redirect target: %q", rr.Error)
	}

	// Numbers opt out after the install: normal 5-8, and the hostile
	// store's "subscribed in 2099" numbers 1-10.
	for i := 5; i <= 8; i++ {
		stop(normal, normalPhone(i))
	}
	for i := 1; i <= 10; i++ {
		stop(hostile, hostilePhone(i))
	}
	// The daily syncs come round: the same stores, the same 2099 claims.
	n2 := wait(normal, sync(normal, normalConn, store.TriggerSchedule))
	checkNormal(n2, "re-sync")
	if n2.Counts.Created != 0 {
		t.Errorf("normal re-sync created %d contacts from an unchanged store", n2.Counts.Created)
	}
	if sr2 := wait(hostile, sync(hostile, shopConn, store.TriggerSchedule)); sr2.Status == store.RunFailed && sr2.Error == "" {
		t.Fatalf("hostile re-sync failed without a reason")
	}

	for _, p := range []struct {
		tenant string
		phones func(int) string
		from   int
		to     int
	}{{normal, normalPhone, 1, 8}, {hostile, hostilePhone, 1, 10}} {
		for i := p.from; i <= p.to; i++ {
			rec, ok, err := st.GetPhone(ctx, p.tenant, p.phones(i))
			if err != nil || !ok {
				t.Fatalf("%s: no ledger (%v)", p.phones(i), err)
			}
			if got := rec.Ledger.State(); got != consent.Unsubscribed {
				t.Errorf("%s of tenant %s is %s after STOP and a re-sync, want unsubscribed", p.phones(i), p.tenant, got)
			}
		}
	}
	if got := reached.Load(); got != 0 {
		t.Errorf("the redirect target received %d requests", got)
	}
}
