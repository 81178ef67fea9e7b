package main

import (
	"context"
	"fmt"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// shopSecret signs the fake shop's webhooks: an OAuth-installed Shopify
// connection verifies them with the app's client secret, as on Shopify.
const shopSecret = shopifytest.OAuthClientSecret

type conn struct {
	ID, Label, SyncID, WebhookURL string
}

func runDemo(ctx context.Context, app *sandbox.App, admin string, f demoFakes) error {
	start := time.Now()
	var tenant struct{ TenantID, APIKey string }
	if err := (sandbox.Client{Base: app.BaseURL, Token: admin}).Do(ctx, "POST", "/admin/tenants", map[string]string{"name": "Demo Outfitters"}, &tenant); err != nil {
		return err
	}
	api := sandbox.Client{Base: app.BaseURL, Token: tenant.APIKey}
	fmt.Printf("\n== demo tenant %s\n", tenant.TenantID)
	var link struct{ URL string }
	if err := api.Do(ctx, "POST", "/v1/console/links", map[string]int{"ttlSeconds": 3600}, &link); err != nil {
		return err
	}
	fmt.Printf("console: open %s to watch the installs in a browser (a one-time sign-in link, valid 1 h)\n", link.URL)
	sid, token := f.twilio.Credentials()
	var provider struct {
		Inbound struct {
			Configured      bool
			How, ManualStep string
		}
	}
	if err := api.Do(ctx, "PUT", "/v1/sms-provider", map[string]any{
		"provider": "twilio", "sender": demoSender, "companyName": "Demo Outfitters", "helpText": "Questions? Call 1300 000 000.",
		"apiBaseUrl": app.BaseURL + "/_fakes/twilio", "credentials": map[string]string{"accountSid": sid, "authToken": token},
	}, &provider); err != nil {
		return err
	}
	fmt.Println("SMS provider: Twilio (fake) — confirmations and double opt-in requests go through the outbox")
	if provider.Inbound.Configured {
		fmt.Println("  inbound: " + provider.Inbound.How)
	} else {
		fmt.Println("  inbound, manual step: " + provider.Inbound.ManualStep)
	}
	// Each store is installed as a hub installs it: POST
	// /v1/connections/authorize, the merchant's browser through the
	// platform's consent (the fakes approve at once; WooCommerce's key
	// page posts the keys it made to our callback), back on the return URL
	// with a draft connection; then its options, the choices, activation.
	installs := []oauthInstall{
		{label: "Shopify", platform: "shopify", mode: "double_opt_in", authorize: map[string]any{"shop": f.shop.Domain()}},
		{label: "WooCommerce", platform: "woocommerce", mode: "inferred", authorize: map[string]any{"storeUrl": f.woo.URL()},
			choose: func(o installOptions) map[string]string {
				return map[string]string{"smsConsentMetaKey": pick(o.MetaKeys, "sms_consent")}
			}},
		{label: "Mailchimp", platform: "mailchimp", mode: "inferred",
			choose: func(o installOptions) map[string]string {
				return map[string]string{"audienceId": pick(o.Audiences, f.mc.AudienceID())}
			}},
		{label: "Klaviyo", platform: "klaviyo", mode: "inferred"},
	}
	fmt.Println("\n== installs through OAuth (what a hub does; the fakes' consent pages approve at once)")
	b := newBrowser(app.PublicBaseURL + "/console")
	var conns []conn
	for _, in := range installs {
		c, err := install(ctx, api, b, in)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	fmt.Println()
	runs := progress(ctx, app, tenant.TenantID, conns)
	fmt.Printf("\nreached the report in %.1fs\n", time.Since(start).Seconds())
	for i, r := range runs {
		report(ctx, app, tenant.TenantID, conns[i].Label, r)
	}
	liveEvents(ctx, api, conns, f)
	replies(ctx, app, api, tenant.TenantID, f)
	fmt.Printf("\n== try it (the sandbox keeps serving until Ctrl-C)\n")
	fmt.Printf("console: %s/console (sign in with the API key below)\n", app.BaseURL)
	fmt.Printf("export API_KEY=%s\n", tenant.APIKey)
	fmt.Printf("curl -s -H \"Authorization: Bearer $API_KEY\" '%s/v1/contacts?limit=5'\n", app.BaseURL)
	fmt.Printf("curl -s -H \"Authorization: Bearer $API_KEY\" '%s/v1/syncs/%s/report?outcome=invalid&limit=5'\n", app.BaseURL, conns[0].SyncID)
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
	if r.Status == store.RunRunning && r.PagesTotal == 0 {
		// Not planned yet: Shopify is still preparing its bulk export.
		step := "planning"
		if label == "Shopify" {
			step = "exporting"
		}
		return fmt.Sprintf("%-12s [%s] %s, %.0fs elapsed", label, strings.Repeat(".", width), step, elapsed)
	}
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

// liveEvents changes customers in the fake stores, which deliver their own
// signed webhooks to the subscriptions the installs registered, and sends a
// guest checkout and the same checkout re-fired; it shows their effect.
func liveEvents(ctx context.Context, api sandbox.Client, conns []conn, f demoFakes) {
	fmt.Println("\n== live events")
	n := f.shop.UpdateCustomer(1, time.Now(), func(first, _ *string) { *first = "Olivia-Rose" })
	printDelivered("Shopify customers/update (first name -> Olivia-Rose)", n)
	if email, _ := f.shop.CustomerPayload(1)["email"].(string); email != "" {
		show(ctx, api, strings.ToLower(email))
	}
	guest := map[string]any{"id": 99001, "order_number": 1001, "line_items": []any{map[string]any{"id": 1, "title": "Gift card", "quantity": 1, "price": "25.00"}},
		"email": "gus.guest@example.com", "phone": "+61491570006", "customer": nil,
		"created_at": time.Now().UTC().Format(time.RFC3339), "updated_at": time.Now().UTC().Format(time.RFC3339),
		"billing_address": map[string]any{"first_name": "Gus", "last_name": "Guest", "phone": "0491 570 006", "country_code": "AU"}}
	resp, err := f.shop.SendWebhook(ctx, conns[0].WebhookURL, shopSecret, "orders/create", guest)
	printDelivery("Shopify guest checkout orders/create", resp, err)
	show(ctx, api, "gus.guest@example.com")
	resp, err = f.shop.SendWebhook(ctx, conns[0].WebhookURL, shopSecret, "orders/create", guest)
	printDelivery("the same checkout re-fired (new delivery id)", resp, err)
	cust, _ := f.woo.Customer(1)
	n = f.woo.UpdateCustomer(1, time.Now(), func(c *woocommerce.Customer) { c.LastName = "Renamed" })
	printDelivered("WooCommerce customer.updated (last name -> Renamed)", n)
	show(ctx, api, strings.ToLower(strings.TrimSpace(cust.Email)))
	var mcEmail string
	n = f.mc.ChangeProfile(mailchimptest.ByUser, 1, time.Now(), func(merges map[string]any) { merges["FNAME"] = "Mia-Rose" })
	f.mc.Update(1, time.Now(), func(m map[string]any) { mcEmail, _ = m["email_address"].(string) })
	printDelivered("Mailchimp profile (first name -> Mia-Rose)", n)
	show(ctx, api, strings.ToLower(strings.TrimSpace(mcEmail)))
	var klEmail string
	f.kl.Update(1, time.Now(), func(attrs map[string]any) { klEmail, _ = attrs["email"].(string) })
	n = f.kl.SetSMSConsent(1, "UNSUBSCRIBED", time.Now())
	printDelivered("Klaviyo unsubscribed_from_sms_marketing", n)
	show(ctx, api, strings.ToLower(strings.TrimSpace(klEmail)))
}

const demoSender = "+61400000000"

// replies sends a YES from a number waiting for double opt-in and a STOP
// from a subscribed one, through the Twilio fake, and shows their effect.
func replies(ctx context.Context, app *sandbox.App, api sandbox.Client, tenant string, f demoFakes) {
	l := layout()
	yes, stop := fakestore.Person{}, fakestore.Person{}
	for i := 0; i < l.mcFirst; i++ { // only in Shopify (double opt-in): pending
		if p := fakestore.NewPerson(42, i); p.E164 != "" && strings.TrimSpace(p.Email) != "" && p.Consent != "unsubscribed" {
			yes = p
			break
		}
	}
	for i := l.shop; i < l.klFirst; i++ { // only in WooCommerce (inferred): subscribed
		if p := fakestore.NewPerson(42, i); p.E164 != "" && strings.TrimSpace(p.Email) != "" && p.Consent != "unsubscribed" {
			stop = p
			break
		}
	}
	hook := app.BaseURL + "/sms/inbound/twilio/" + tenant
	public := app.PublicBaseURL + "/sms/inbound/twilio/" + tenant
	for _, r := range []struct {
		p    fakestore.Person
		text string
	}{{yes, "Yes"}, {stop, "STOP"}} {
		if r.p.E164 == "" {
			continue
		}
		fmt.Printf("  SMS reply %-5q from %s (before)\n", r.text, r.p.E164)
		show(ctx, api, strings.ToLower(strings.TrimSpace(r.p.Email)))
		resp, _, err := f.twilio.SendInbound(ctx, hook, public, r.p.E164, demoSender, r.text, "")
		printDelivery("  inbound Twilio webhook", resp, err)
		show(ctx, api, strings.ToLower(strings.TrimSpace(r.p.Email)))
	}
	// The outbox works through the install's double opt-in requests first;
	// wait (bounded) for the opt-out confirmation to come out of it.
	for deadline := time.Now().Add(30 * time.Second); stop.E164 != "" && len(f.twilio.SentTo(stop.E164)) == 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("  SMS sent through Twilio by the outbox so far: %d (double opt-in requests, confirmations)\n", len(f.twilio.Sent()))
	for _, p := range []fakestore.Person{yes, stop} {
		for _, m := range f.twilio.SentTo(p.E164) {
			fmt.Printf("    to %s: %q\n", p.E164, m.Text)
		}
	}
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

// printDelivered shows a change a fake store delivered itself.
func printDelivered(what string, ok int) {
	fmt.Printf("  %-55s -> delivered by the store's own webhook (%d answered 2xx)\n", what, ok)
}

func show(ctx context.Context, api sandbox.Client, q string) {
	var out struct {
		Items []map[string]any `json:"items"`
	}
	err := api.Do(ctx, "GET", "/v1/contacts?q="+q, nil, &out)
	if err == nil && len(out.Items) == 0 {
		// Contacts waiting for their YES are not in the audience: ask for
		// them by status.
		err = api.Do(ctx, "GET", "/v1/contacts?status=pending&q="+q, nil, &out)
	}
	if err != nil || len(out.Items) == 0 {
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
