package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/sandbox"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

const (
	wooSecret    = "demo_woocommerce_webhook_secret"
	outletSecret = "demo_outlet_webhook_secret"
)

// client calls the sandbox's own Hub API.
type client struct {
	base, token string
}

func (c client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type conn struct {
	ID, Label, SyncID, WebhookURL string
}

func runDemo(ctx context.Context, app *sandbox.App, admin string, f demoFakes) error {
	start := time.Now()
	var tenant struct{ TenantID, APIKey string }
	if err := (client{app.BaseURL, admin}).do(ctx, "POST", "/admin/tenants", map[string]string{"name": "Demo Outfitters"}, &tenant); err != nil {
		return err
	}
	api := client{app.BaseURL, tenant.APIKey}
	fmt.Printf("\n== demo tenant %s\n", tenant.TenantID)
	stores := []struct {
		label, mode, secret, metaKey string
		shop                         *woocommercetest.Server
	}{
		{"WooCommerce", "inferred", wooSecret, "sms_consent", f.woo},
		{"Outlet", "double_opt_in", outletSecret, "", f.outlet},
	}
	var conns []conn
	for _, s := range stores {
		key, secret := s.shop.Credentials()
		var out struct {
			ID, Label, SyncID, WebhookURL string
		}
		cfg := map[string]string{"storeUrl": s.shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": s.secret}
		if s.metaKey != "" {
			cfg["smsConsentMetaKey"] = s.metaKey
		}
		if err := api.do(ctx, "POST", "/v1/connections", map[string]any{
			"platform": "woocommerce", "label": s.label, "consentMode": s.mode, "defaultRegion": "AU", "config": cfg,
		}, &out); err != nil {
			return err
		}
		conns = append(conns, conn(out))
		fmt.Printf("installed %-12s (%s mode): install sync %s\n", s.label, s.mode, out.SyncID)
	}
	fmt.Println()
	runs := progress(ctx, app, tenant.TenantID, conns)
	fmt.Printf("\nreached the report in %.1fs\n", time.Since(start).Seconds())
	for i, r := range runs {
		report(ctx, app, tenant.TenantID, conns[i].Label, r)
	}
	liveEvents(ctx, app, api, tenant.TenantID, conns, f)
	fmt.Printf("\n== try it (the sandbox keeps serving until Ctrl-C)\n")
	fmt.Printf("export API_KEY=%s\n", tenant.APIKey)
	fmt.Printf("curl -s -H \"Authorization: Bearer $API_KEY\" '%s/v1/contacts?limit=5' | jq\n", app.BaseURL)
	fmt.Printf("curl -s -H \"Authorization: Bearer $API_KEY\" '%s/v1/syncs/%s/report?outcome=invalid&limit=5' | jq\n", app.BaseURL, conns[0].SyncID)
	fmt.Printf("curl -s -X POST -H \"Authorization: Bearer $API_KEY\" '%s/v1/connections/%s/syncs'\n", app.BaseURL, conns[0].ID)
	return nil
}

// progress draws a live bar per sync until every run finishes.
func progress(ctx context.Context, app *sandbox.App, tenant string, conns []conn) []store.Run {
	tty := isTTY()
	runs := make([]store.Run, len(conns))
	started := time.Now()
	last := time.Time{}
	for first := true; ; first = false {
		done := true
		var lines []string
		for i, c := range conns {
			r, err := app.Store.GetRun(ctx, tenant, c.SyncID)
			if err != nil {
				lines = append(lines, fmt.Sprintf("%-12s %v", c.Label, err))
				continue
			}
			runs[i] = r
			if r.Status == store.RunRunning {
				done = false
			}
			lines = append(lines, bar(c.Label, r, started))
		}
		if tty || done || time.Since(last) > 2*time.Second {
			if tty && !first {
				fmt.Printf("\033[%dA", len(lines))
			}
			for _, l := range lines {
				fmt.Printf("\r\033[K%s\n", l)
			}
			last = time.Now()
		}
		if done || ctx.Err() != nil {
			return runs
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func bar(label string, r store.Run, started time.Time) string {
	const width = 30
	total, done := max(r.PagesTotal, 1), r.PagesDone
	filled := min(width, width*done/total)
	elapsed := time.Since(started).Seconds()
	rate := float64(r.Counts.Seen) / max(elapsed, 0.001)
	eta := "--"
	if done > 0 && r.Status == store.RunRunning {
		eta = fmt.Sprintf("%.0fs", elapsed/float64(done)*float64(total-done))
	}
	if r.Status != store.RunRunning {
		eta = r.Status
	}
	return fmt.Sprintf("%-12s [%s%s] pages %3d/%-3d %6.0f contacts/s  ETA %s", label, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, r.PagesTotal, rate, eta)
}

func report(ctx context.Context, app *sandbox.App, tenant, label string, r store.Run) {
	c := r.Counts
	fmt.Printf("\n== sync report: %s (%s, %s)\n", label, r.Trigger, r.Status)
	fmt.Printf("  %-10s %7s\n", "outcome", "count")
	for _, row := range []struct {
		k string
		v int
	}{{"seen", c.Seen}, {"created", c.Created}, {"updated", c.Updated}, {"unchanged", c.Unchanged}, {"invalid", c.Invalid}, {"messages", c.Messages}} {
		fmt.Printf("  %-10s %7d\n", row.k, row.v)
	}
	reasons := map[string]int{}
	cursor := ""
	for {
		rows, next, err := app.Store.ListReport(ctx, tenant, r.ID, "", 100, cursor)
		if err != nil {
			break
		}
		for _, row := range rows {
			if row.Reason != "" && row.Outcome != "created" {
				reasons[row.Outcome+": "+row.Reason]++
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	type kv struct {
		k string
		v int
	}
	var top []kv
	for k, v := range reasons {
		top = append(top, kv{k, v})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v || (top[i].v == top[j].v && top[i].k < top[j].k) })
	if len(top) > 0 {
		fmt.Println("  top reasons:")
	}
	for i, t := range top {
		if i == 5 {
			break
		}
		fmt.Printf("    %5d  %s\n", t.v, t.k)
	}
}

// liveEvents sends a signed webhook and a guest checkout, and shows their
// effect on one contact.
func liveEvents(ctx context.Context, app *sandbox.App, api client, tenant string, conns []conn, f demoFakes) {
	fmt.Println("\n== live events")
	cust, ok := f.woo.Customer(1)
	if !ok {
		return
	}
	updated, _ := f.woo.Update(1, time.Now(), func(c *woocommerce.Customer) { c.FirstName = "Olivia-Rose" })
	resp, err := f.woo.SendWebhook(ctx, conns[0].WebhookURL, wooSecret, "customer.updated", updated)
	printDelivery("signed webhook customer.updated (first name -> Olivia-Rose)", resp, err)
	show(ctx, api, strings.ToLower(strings.TrimSpace(cust.Email)))

	guest := woocommerce.Order{ID: 99001, CustomerID: 0, Status: "processing",
		DateCreatedGMT: woocommerce.WCTime{Time: time.Now().UTC()}, DateModifiedGMT: woocommerce.WCTime{Time: time.Now().UTC()},
		Billing: woocommerce.Address{FirstName: "Gus", LastName: "Guest", Country: "AU", Email: "gus.guest@example.com", Phone: "0491 570 006"}}
	resp, err = f.woo.SendWebhook(ctx, conns[0].WebhookURL, wooSecret, "order.created", guest)
	printDelivery("guest checkout order.created", resp, err)
	show(ctx, api, "gus.guest@example.com")
	resp, err = f.woo.SendWebhook(ctx, conns[0].WebhookURL, wooSecret, "order.created", guest)
	printDelivery("the same guest checkout re-fired (new delivery id)", resp, err)
	fmt.Println("  (YES / STOP replies from SMS providers land with the SMS provider work; see README)")
}

func printDelivery(what string, resp *http.Response, err error) {
	if err != nil {
		fmt.Printf("  %-55s error: %v\n", what, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("  %-55s -> %d %s\n", what, resp.StatusCode, strings.TrimSpace(string(b)))
}

func show(ctx context.Context, api client, q string) {
	var out struct {
		Items []map[string]any `json:"items"`
	}
	if err := api.do(ctx, "GET", "/v1/contacts?q="+q, nil, &out); err != nil || len(out.Items) == 0 {
		fmt.Printf("    contact %q not found (%v)\n", q, err)
		return
	}
	c := out.Items[0]
	fmt.Printf("    contact %v %v <%v> %v status=%v sources=%v groups=%v\n", c["firstName"], c["lastName"], c["email"], c["phone"], c["status"], c["sources"], c["groups"])
}

func isTTY() bool {
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
