package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// The starvation scenario (-starve N, issue 21 item 3): one tenant installs
// a WooCommerce store of N customers (limits off, N/100 fan-out pages)
// while ten small tenants, installed before it, each run a sync of their
// 50-contact stores and receive webhooks. It reports the small syncs'
// completion latency (trigger to run completed) and the webhooks' p50/p99,
// quiet (before the install) and during it. -fair=false turns the page
// window off (every page of the install enqueued by its plan, as before
// the fix): run it once each way. It does not wait for the install to end.

// Scenario sizes.
const (
	starveSmallTenants   = 10
	starveSmallCustomers = 50
	starveWebhookRate    = 20 // deliveries/s, spread over the small tenants
	starveWebhookFor     = 20 * time.Second
	starveDeadline       = 8 * time.Minute // for the small syncs
)

// starveResult is one run of the scenario.
type starveResult struct {
	Fair           bool    `json:"fair"`
	Window         int     `json:"pageWindow"` // 0: none
	Workers        int     `json:"workers"`
	BigCustomers   int     `json:"bigCustomers"`
	BigPages       int     `json:"bigPages"`
	SmallTenants   int     `json:"smallTenants"`
	SmallCustomers int     `json:"smallCustomers"`
	SyncsDone      int     `json:"syncsDone"`
	SyncMs         []int64 `json:"syncMs"` // each small sync, trigger to completed (-1: not done by the deadline)
	SyncP50Ms      float64 `json:"syncP50Ms"`
	SyncMaxMs      float64 `json:"syncMaxMs"`
	// The install's pages done when the small syncs were triggered and
	// when the last of them completed.
	BigPagesAtTrigger int `json:"bigPagesAtTrigger"`
	BigPagesAtLast    int `json:"bigPagesAtLast"`
	// Webhook deliveries to the small tenants, quiet and during the install.
	Quiet  webhookStats `json:"quietWebhooks"`
	During webhookStats `json:"webhooksDuringInstall"`
	Wall   float64      `json:"wallSeconds"`
}

type webhookStats struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	MaxMs    float64 `json:"maxMs"`
}

// smallTenant is one of the small tenants: its connection and store.
type smallTenant struct {
	tenant, conn string
	install      string // the run its connection started
	api          sandbox.Client
	shop         *woocommercetest.Server
}

const starveWebhookSecret = "bench-small"

// starveMain runs the scenario on a sandbox of its own and writes its
// results; it returns the exit code.
func starveMain(ctx context.Context, s settings) int {
	res, err := runStarve(ctx, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	md := res.markdown()
	fmt.Print("\n" + md)
	name := "starve-fair"
	if !s.Fair {
		name = "starve-unfair"
	}
	if err := os.MkdirAll(s.Out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	js, _ := json.MarshalIndent(res, "", "  ")
	for file, data := range map[string][]byte{name + ".md": []byte(md), name + ".json": js} {
		if err := os.WriteFile(filepath.Join(s.Out, file), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	fmt.Printf("\nwritten: %s.{md,json} in %s\n", name, s.Out)
	return 0
}

func runStarve(ctx context.Context, s settings) (*starveResult, error) {
	began := time.Now()
	window := -1 // no window: every page enqueued by the plan
	res := &starveResult{Fair: s.Fair, Workers: s.Workers, BigCustomers: s.Starve, SmallTenants: starveSmallTenants, SmallCustomers: starveSmallCustomers}
	if s.Fair {
		window = 0 // the deployed one
		f, _ := resources.FunctionByName("bulksync")
		res.Window = f.PageWindow
	}
	b, stop, err := startBench(ctx, s, "starve", window)
	if err != nil {
		return nil, err
	}
	defer stop()

	// The small tenants, installed first.
	b.logf("installing %d small tenants of %d customers", starveSmallTenants, starveSmallCustomers)
	var smalls []smallTenant
	defer func() {
		for _, t := range smalls {
			t.shop.Close()
		}
	}()
	for i := range starveSmallTenants {
		shop := woocommercetest.NewServer(woocommercetest.Options{Customers: starveSmallCustomers, Seed: int64(100 + i)})
		t, err := b.connectWoo(ctx, fmt.Sprintf("small %d", i), shop, starveWebhookSecret)
		if err != nil {
			shop.Close()
			return nil, err
		}
		smalls = append(smalls, t)
	}
	for _, t := range smalls {
		if _, err := b.waitLastRun(ctx, t); err != nil {
			return nil, err
		}
	}
	b.logf("quiet webhooks: %d/s for %s", starveWebhookRate, starveWebhookFor)
	if res.Quiet, err = b.smallWebhooks(ctx, smalls, 1); err != nil {
		return nil, err
	}

	// The big install: wait until its pages are queued.
	b.logf("the big tenant installs %d customers (page window %v)", s.Starve, res.Window)
	big := woocommercetest.NewServer(woocommercetest.Options{Customers: s.Starve, Seed: 7})
	defer big.Close()
	bt, err := b.connectWoo(ctx, "big", big, "bench-big")
	if err != nil {
		return nil, err
	}
	bigRun := bt.install
	for deadline := time.Now().Add(2 * time.Minute); ; {
		r, err := b.app.Store.GetRun(ctx, bt.tenant, bigRun)
		if err != nil {
			return nil, err
		}
		if r.Planned && r.PagesDone >= 2 {
			res.BigPages, res.BigPagesAtTrigger = r.PagesTotal, r.PagesDone
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the big install was not planned in 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The small syncs and webhooks, at once.
	b.logf("%d small syncs and webhooks during the install (%d pages)", starveSmallTenants, res.BigPages)
	type started struct {
		run string
		at  time.Time
	}
	runs := make([]started, len(smalls))
	for i, t := range smalls {
		var out struct{ SyncID string }
		if err := t.api.Do(ctx, "POST", "/v1/connections/"+t.conn+"/syncs", map[string]any{}, &out); err != nil {
			return nil, fmt.Errorf("starting small sync %d: %w", i, err)
		}
		runs[i] = started{run: out.SyncID, at: time.Now()}
	}
	hooks := make(chan error, 1)
	go func() {
		var err error
		res.During, err = b.smallWebhooks(ctx, smalls, 2)
		hooks <- err
	}()
	res.SyncMs = make([]int64, len(smalls))
	for i := range res.SyncMs {
		res.SyncMs[i] = -1
	}
	for deadline := time.Now().Add(starveDeadline); res.SyncsDone < len(smalls) && time.Now().Before(deadline); {
		for i, t := range smalls {
			if res.SyncMs[i] >= 0 {
				continue
			}
			r, err := b.app.Store.GetRun(ctx, t.tenant, runs[i].run)
			if err != nil {
				return nil, err
			}
			if r.Status != store.RunRunning {
				if r.Status != store.RunCompleted {
					return nil, fmt.Errorf("small sync %d ended %s: %s", i, r.Status, r.Error)
				}
				res.SyncMs[i] = time.Since(runs[i].at).Milliseconds()
				res.SyncsDone++
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if r, err := b.app.Store.GetRun(ctx, bt.tenant, bigRun); err == nil {
		res.BigPagesAtLast = r.PagesDone
	}
	if err := <-hooks; err != nil {
		return nil, err
	}
	done := slices.DeleteFunc(slices.Clone(res.SyncMs), func(v int64) bool { return v < 0 })
	slices.Sort(done)
	if len(done) > 0 {
		res.SyncP50Ms, res.SyncMaxMs = float64(done[len(done)/2]), float64(done[len(done)-1])
	}
	res.Wall = time.Since(began).Seconds()
	return res, nil
}

// connectWoo creates a tenant and its WooCommerce connection (which starts
// its install).
func (b *bench) connectWoo(ctx context.Context, name string, shop *woocommercetest.Server, secret string) (smallTenant, error) {
	tenant, api, err := b.newTenant(ctx, name)
	if err != nil {
		return smallTenant{}, err
	}
	key, sec := shop.Credentials()
	var conn struct{ ID, SyncID string }
	if err := api.Do(ctx, "POST", "/v1/connections", map[string]any{
		"platform": "woocommerce", "label": "WooCommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": sec, "webhookSecret": secret},
	}, &conn); err != nil {
		return smallTenant{}, err
	}
	return smallTenant{tenant: tenant, conn: conn.ID, install: conn.SyncID, api: api, shop: shop}, nil
}

func (b *bench) waitLastRun(ctx context.Context, t smallTenant) (store.Run, error) {
	return b.waitRun(ctx, t.tenant, t.install, 2*time.Minute)
}

// smallWebhooks sends customer.created webhooks of new customers to the
// small tenants, round robin, at starveWebhookRate for starveWebhookFor;
// round tells the loads' customers apart.
func (b *bench) smallWebhooks(ctx context.Context, smalls []smallTenant, round int) (webhookStats, error) {
	var targets []vegeta.Target
	total := int(starveWebhookRate * starveWebhookFor.Seconds())
	for i := range total {
		t := smalls[i%len(smalls)]
		id := int64(round)*10_000_000 + int64(i) + 1
		cust := woocommerce.Customer{ID: id, Email: fmt.Sprintf("s%d@bench.example", id), FirstName: "Hook", LastName: "Small", Role: "customer",
			Username: fmt.Sprint("s", id), Billing: woocommerce.Address{FirstName: "Hook", LastName: "Small", Phone: webhookPhone(i + round*100_000),
				Country: "AU", Email: fmt.Sprintf("s%d@bench.example", id)}}
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		cust.DateCreatedGMT, cust.DateModifiedGMT = woocommerce.WCTime{Time: at}, woocommerce.WCTime{Time: at}
		body, err := woocommercetest.EncodePHP(cust)
		if err != nil {
			return webhookStats{}, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("X-WC-Webhook-Source", t.shop.URL()+"/")
		h.Set("X-WC-Webhook-Topic", "customer.created")
		h.Set("X-WC-Webhook-Resource", "customer")
		h.Set("X-WC-Webhook-Event", "created")
		h.Set("X-WC-Webhook-ID", "7")
		h.Set("X-WC-Webhook-Delivery-ID", fmt.Sprintf("starve-%d-%d", round, i))
		h.Set("X-WC-Webhook-Signature", woocommerce.Sign(starveWebhookSecret, body))
		targets = append(targets, vegeta.Target{Method: http.MethodPost, URL: b.app.BaseURL + "/webhooks/woocommerce/" + t.conn, Body: body, Header: h})
	}
	var next atomic.Int64
	targeter := func(tg *vegeta.Target) error {
		i := int(next.Add(1)) - 1
		if i >= len(targets) {
			return vegeta.ErrNoTargets
		}
		*tg = targets[i]
		return nil
	}
	attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.Workers(8))
	var m vegeta.Metrics
	var st webhookStats
	for r := range attacker.Attack(vegeta.Targeter(targeter), vegeta.Rate{Freq: starveWebhookRate, Per: time.Second}, 0, "small-webhooks") {
		if r.Error == vegeta.ErrNoTargets.Error() {
			continue
		}
		m.Add(r)
		if r.Code < 200 || r.Code >= 300 {
			st.Errors++
			if b.s.Verbose {
				b.logf("webhook %d: %s %s", r.Code, r.Error, r.Body)
			}
		}
	}
	m.Close()
	st.Requests = int(m.Requests)
	st.P50Ms, st.P99Ms, st.MaxMs = ms(m.Latencies.P50), ms(m.Latencies.P99), ms(m.Latencies.Max)
	return st, ctx.Err()
}

func (r *starveResult) markdown() string {
	var sb strings.Builder
	mode := fmt.Sprintf("page window %d per run", r.Window)
	if !r.Fair {
		mode = "no page window (every page enqueued by its plan)"
	}
	fmt.Fprintf(&sb, "starvation scenario — %s, %d bulk-sync workers, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), r.Workers, mode)
	fmt.Fprintf(&sb, "| measure | result |\n|---|---|\n")
	fmt.Fprintf(&sb, "| big install | %d customers, %d pages; %d done when the small syncs started, %d when the last ended |\n",
		r.BigCustomers, r.BigPages, r.BigPagesAtTrigger, r.BigPagesAtLast)
	fmt.Fprintf(&sb, "| %d small syncs of %d contacts | %d of %d done within %s: p50 **%.1f s**, max **%.1f s** (each: %v ms) |\n",
		r.SmallTenants, r.SmallCustomers, r.SyncsDone, r.SmallTenants, starveDeadline, r.SyncP50Ms/1000, r.SyncMaxMs/1000, r.SyncMs)
	fmt.Fprintf(&sb, "| webhooks to the small tenants, quiet | %d at %d/s: p50 %.1f ms, p99 %.1f ms, %d errors |\n",
		r.Quiet.Requests, starveWebhookRate, r.Quiet.P50Ms, r.Quiet.P99Ms, r.Quiet.Errors)
	fmt.Fprintf(&sb, "| webhooks to the small tenants, during the install | %d at %d/s: p50 **%.1f ms**, p99 **%.1f ms**, %d errors |\n",
		r.During.Requests, starveWebhookRate, r.During.P50Ms, r.During.P99Ms, r.During.Errors)
	fmt.Fprintf(&sb, "\nRun time %.0f s.\n", r.Wall)
	return sb.String()
}
