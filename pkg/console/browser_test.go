package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// The console in a real browser: Chromium from the npm package
// @sparticuz/chromium (installed by `make browser` into .local/browser;
// CONTACTSYNC_CHROMIUM names another binary), driving the sandbox — the
// real api, bulksync and outbox handlers on the embedded stack — with
// fake Shopify and WooCommerce stores, a fake Mailchimp account whose OAuth
// app the sandbox is configured with (its consent page on its own origin,
// as login.mailchimp.com is), and a fake Twilio account as the tenant's
// SMS provider. Without the browser the test fails; it never skips.

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func chromium(t *testing.T, root string) string {
	t.Helper()
	if p := os.Getenv("CONTACTSYNC_CHROMIUM"); p != "" {
		return p
	}
	b, err := os.ReadFile(filepath.Join(root, ".local", "browser", "chromium-path"))
	if err != nil {
		t.Fatalf("no browser for the console tests: run `make browser` (make test does), or set CONTACTSYNC_CHROMIUM: %v", err)
	}
	p := strings.TrimSpace(string(b))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the browser %s is gone (a cleaned temporary directory?): run `make browser` again: %v", p, err)
	}
	return p
}

// newBrowser starts Chromium with the flags its package is built for
// (single process, no zygote, SwiftShader for GL) and returns a tab.
func newBrowser(t *testing.T, exec string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		chromedp.Flag("headless", "shell"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("no-zygote", true),
		chromedp.Flag("single-process", true),
		chromedp.Flag("use-gl", "angle"),
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("disable-features", "AudioServiceOutOfProcess,Translate"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", exec, err)
	}
	return ctx
}

type harness struct {
	t        *testing.T
	app      *sandbox.App
	shop     *shopifytest.Server
	ctx      context.Context
	root     string
	axe      string
	mu       sync.Mutex
	requests []request
}

// request is one request the browser made: its URL and what it was for
// (Document for a navigation, Fetch, Script...).
type request struct {
	url  string
	kind network.ResourceType
}

func (h *harness) api(method, p, token string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.app.BaseURL+p, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// subscribedWithPhone returns n subscribed contacts with a phone number.
func (h *harness) subscribedWithPhone(key string, n int) []map[string]any {
	h.t.Helper()
	code, out := h.api("GET", "/v1/contacts?status=subscribed&limit=50", key, nil)
	if code != http.StatusOK {
		h.t.Fatalf("contacts: %d %v", code, out)
	}
	var found []map[string]any
	for _, it := range out["items"].([]any) {
		if c := it.(map[string]any); c["phone"] != nil && c["phone"] != "" && len(found) < n {
			found = append(found, c)
		}
	}
	if len(found) < n {
		h.t.Fatalf("%d subscribed contacts with a phone, want %d", len(found), n)
	}
	return found
}

func (h *harness) contactStatus(key, id string) string {
	h.t.Helper()
	code, out := h.api("GET", "/v1/contacts/"+id, key, nil)
	if code != http.StatusOK {
		h.t.Fatalf("contact %s: %d %v", id, code, out)
	}
	s, _ := out["status"].(string)
	return s
}

// waitJS waits until the expression is truthy in the page, up to a deadline
// (an exception, such as an element not there yet, counts as false).
func (h *harness) waitJS(what, expr string) {
	h.t.Helper()
	guarded := "(() => { try { return !!(" + expr + "); } catch (e) { return false; } })()"
	// A navigation (the OAuth install leaves the console and comes back)
	// ends a wait in the page that started it: wait again in the new page,
	// within the same deadline.
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := chromedp.Do(h.ctx, chromedp.Poll[chromedp.Void](guarded, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if left := time.Until(deadline); left > 0 && (strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "context was destroyed") ||
			strings.Contains(err.Error(), "Cannot find context")) {
			continue
		}
		body, _ := chromedp.Run(h.ctx, chromedp.Evaluate[string](`location.href + '\n' + document.getElementById('main').innerText`))
		h.t.Fatalf("waiting for %s (%s): %v\npage:\n%s", what, expr, err, body)
	}
}

func (h *harness) text(sel string) string {
	h.t.Helper()
	s, err := chromedp.Run(h.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ''`, sel)))
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) do(steps ...chromedp.Action[chromedp.Void]) {
	h.t.Helper()
	if err := chromedp.Do(h.ctx, steps...); err != nil {
		h.t.Fatal(err)
	}
}

// check runs axe-core on the page (no serious or critical violation) and
// saves a screenshot under .local/console/.
func (h *harness) check(name string) {
	h.t.Helper()
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	vs, err := chromedp.Run(h.ctx, chromedp.Evaluate[[]violation](h.axe+`;axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		h.t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			h.t.Errorf("page %s: %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	png, err := chromedp.Run(h.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		h.t.Fatal(err)
	}
	dir := filepath.Join(h.root, ".local", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func TestConsole_InABrowser(t *testing.T) {
	root := repoRoot(t)
	exec := chromium(t, root)
	axe, err := os.ReadFile(filepath.Join(root, ".local", "browser", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed: run `make browser`: %v", err)
	}
	s := stacktest.New(t)
	sealer, err := seal.FromEnv(func(string) string { return seal.NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	// A Mailchimp account on its own server: its consent page (which
	// approves at once, as a signed-in merchant's click does) is another
	// origin than the console's, as login.mailchimp.com is.
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 40, Seed: 7, FirstPerson: 2000, AudienceName: "Newsletter"})
	t.Cleanup(mc.Close)
	apps := oauth.Defaults()
	apps.Mailchimp = oauth.App{ClientID: mailchimptest.OAuthClientID, ClientSecret: mailchimptest.OAuthClientSecret,
		AuthURL: mc.OAuthAuthorizeURL(), TokenURL: mc.OAuthTokenURL(), MetadataURL: mc.OAuthMetadataURL()}
	app, err := sandbox.Start(context.Background(), sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: sealer, PageWorkers: 2, OAuth: apps,
		Names: awsenv.Names{Table: s.Table, PagesQueue: path.Base(s.PagesQueueURL), OutboxQueue: path.Base(s.OutboxQueueURL)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = app.Close(ctx)
	})
	shop := shopifytest.NewStore(shopifytest.Options{Customers: 400, Seed: 7, URL: app.BaseURL + "/_fakes/shopify", HoldBulk: true})
	app.Mount("/_fakes/shopify", shop.Handler())
	// A WooCommerce store sharing no one with the shop (persons from 1000).
	woo := woocommercetest.NewStore(woocommercetest.Options{Customers: 150, Guests: 10, Seed: 7, FirstPerson: 1000, URL: app.BaseURL + "/_fakes/woocommerce"})
	app.Mount("/_fakes/woocommerce", woo.Handler())
	const sender = "+61400000000"
	twilio := twiliotest.New(twiliotest.Options{Numbers: []string{sender}})
	app.Mount("/_fakes/twilio", twilio.Handler())
	h := &harness{t: t, app: app, shop: shop, root: root, axe: string(axe), ctx: newBrowser(t, exec)}

	// Every request the page makes, to check none leaves the origin.
	if err := chromedp.Listen(h.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			h.mu.Lock()
			h.requests = append(h.requests, request{url: e.Request.URL, kind: e.Type})
			h.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	code, out := h.api("POST", "/admin/tenants", "test-admin", map[string]string{"name": "Console test"})
	if code != http.StatusCreated {
		t.Fatalf("tenant: %d %v", code, out)
	}
	key, tenantID := out["apiKey"].(string), out["tenantId"].(string)
	// The tenant's own confirmation text, set on the Messaging page below:
	// two parts, so two credits a message.
	ownConfirmation := "Thanks for joining {company} texts! " + strings.Repeat("Deals, news and early access. ", 5) + "Reply STOP to cancel."
	confirmationText := strings.ReplaceAll(ownConfirmation, "{company}", "Console Co")
	_, confirmationCredits := sms.Credits(confirmationText)
	if confirmationCredits != 2 {
		t.Fatalf("the test's confirmation text costs %d credits, want 2", confirmationCredits)
	}
	code, out = h.api("POST", "/v1/connections", key, map[string]any{"platform": "shopify", "label": "Demo shop", "consentMode": "explicit", "defaultRegion": "AU",
		"config": map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "whsec", "apiBaseUrl": shop.URL()}})
	if code != http.StatusCreated {
		t.Fatalf("connection: %d %v", code, out)
	}
	connID, syncID := out["id"].(string), out["syncId"].(string)

	// Sign in with the API key.
	h.do(chromedp.Navigate(app.BaseURL + "/console"))
	h.waitJS("the sign-in form", `document.querySelector('#f-apiKey')`)
	h.check("signin")
	// The first page's script, every module it loaded: under 100 KB.
	script, err := chromedp.Run(h.ctx, chromedp.Evaluate[int](`performance.getEntriesByType('resource').filter(e => e.initiatorType === 'script' || e.name.endsWith('.js')).reduce((n, e) => n + e.decodedBodySize, 0)`))
	if err != nil || script == 0 || script >= 100*1024 {
		t.Fatalf("the first page loaded %d bytes of script (%v), want some and under 100 KB", script, err)
	}
	t.Logf("the first page loaded %d bytes of script", script)
	h.do(chromedp.SendKeys("#f-apiKey", "t_wrong.key"), chromedp.Click(`form button[type="submit"]`))
	h.waitJS("the refusal next to the form", `document.querySelector('[data-error-for="_form"]').textContent.includes('not valid')`)
	h.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-apiKey').value = ''`), chromedp.SendKeys("#f-apiKey", key), chromedp.Click(`form button[type="submit"]`))
	h.waitJS("the Integrations page", `document.querySelector('h1') && document.querySelector('h1').textContent === 'Integrations' && document.querySelector('#tile-shopify')`)
	if cookies, err := chromedp.Run(h.ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || cookies != "" {
		t.Fatalf("page script can read cookies %q (%v): the session cookie must be HttpOnly", cookies, err)
	}
	h.waitJS("the Shopify tile syncing", `document.querySelector('#tile-shopify').parentElement.innerText.includes('Syncing')`)
	h.check("integrations")
	// The keyboard: on a page just loaded, the first Tab reaches the skip
	// link, which takes the focus to the page's content.
	h.do(chromedp.Navigate("about:blank"), chromedp.Navigate(app.BaseURL+"/console#/"))
	h.waitJS("the Integrations page again", `document.querySelector('#tile-shopify')`)
	h.do(chromedp.KeyEvent("\t"))
	if got := h.text(":focus"); got != "Skip to content" {
		t.Fatalf("the first Tab focuses %q, want the skip link", got)
	}
	h.do(chromedp.KeyEvent("\r"))
	h.waitJS("the focus on the content", `document.activeElement === document.getElementById('main')`)

	// The SMS provider, set up on the Messaging page (messaging_test.go).
	h.messaging(twilio, tenantID, key, sender, ownConfirmation, confirmationText)
	h.do(chromedp.Navigate(app.BaseURL + "/console#/"))
	h.waitJS("the Integrations page after Messaging", `document.querySelector('#tile-shopify')`)

	// The connection page while the export runs: "exporting", Sync now is
	// unavailable, and the API refuses a second sync.
	h.do(chromedp.Click(`a[href="#/connections/` + connID + `"]`))
	h.waitJS("the exporting state", `document.querySelector('[data-progress="exporting"]') && document.querySelector('#sync-now').disabled`)
	if code, out := h.api("POST", "/v1/connections/"+connID+"/syncs", key, nil); code != http.StatusConflict {
		t.Fatalf("a second sync while one runs: %d %v", code, out)
	}
	h.check("connection-syncing")
	if settings := h.text(".settings"); !strings.Contains(settings, "Webhooks\nworking") || !strings.Contains(settings, "Next scheduled sync") {
		t.Errorf("the connection's settings do not show working webhooks and the next sync:\n%s", settings)
	}
	shop.ReleaseBulk()
	h.waitJS("the sync to finish", `!document.querySelector('#sync-now').disabled && document.querySelector('#latest-sync').innerText.includes('completed')`)

	// Sync now: the press starts a sync, and a second press while it runs
	// is refused (the button is disabled, and the API answers 409).
	h.do(chromedp.Click("#sync-now"))
	h.waitJS("the new sync", `document.querySelector('#toast').textContent === 'Sync started'`)
	h.waitJS("the manual sync to finish", `!document.querySelector('#sync-now').disabled && document.querySelector('#latest-sync').innerText.includes('manual sync, completed')`)

	// The install sync's report, filtered to invalid rows.
	code, run := h.api("GET", "/v1/syncs/"+syncID, key, nil)
	if code != http.StatusOK || run["status"] != "completed" {
		t.Fatalf("install sync: %d %v", code, run)
	}
	invalid := int(run["counts"].(map[string]any)["invalid"].(float64))
	if invalid == 0 {
		t.Fatal("the fake store has no invalid record to filter")
	}
	h.do(chromedp.Navigate(app.BaseURL + "/console#/syncs"))
	h.waitJS("the syncs list", `document.querySelectorAll('table.data tbody tr').length === 2 && document.querySelector('.chart svg')`)
	h.check("syncs")
	h.do(chromedp.Click(`a[href="#/syncs/` + syncID + `"]`))
	h.waitJS("the report", `document.querySelector('#report')`)
	// Choosing an option, as a user's keyboard or mouse does: the value
	// changes, then the change event.
	h.do(chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'invalid'; s.dispatchEvent(new Event('change')); })(document.querySelector('#f-outcome'))`))
	h.waitJS("the invalid rows", `location.hash.includes('outcome=invalid') && document.querySelectorAll('#report tbody tr').length > 0`)
	rows, err := chromedp.Run(h.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#report tbody tr')].map(r => r.dataset.outcome)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != min(invalid, 100) {
		t.Errorf("%d invalid rows shown, the sync counted %d", len(rows), invalid)
	}
	for _, o := range rows {
		if o != "invalid" {
			t.Fatalf("the invalid filter shows a %q row", o)
		}
	}
	if href := h.text("#csv"); href == "" {
		t.Error("no CSV download link")
	}
	h.check("report")

	// Search a contact and see its consent timeline.
	p := fakestore.NewPerson(7, 3)
	h.do(chromedp.Navigate(app.BaseURL + "/console#/contacts"))
	h.waitJS("the contacts", `document.querySelector('#contacts')`)
	h.check("contacts")
	h.do(chromedp.SendKeys("#f-q", p.FirstName), chromedp.Click(`form[role="search"] button[type="submit"]`))
	h.waitJS("the search result", fmt.Sprintf(`location.hash.includes('q=') && [...document.querySelectorAll('#contacts tbody a')].some(a => a.textContent.includes(%q))`, p.FirstName))
	h.do(chromedp.Click(`#contacts tbody a`))
	h.waitJS("the contact page", `document.querySelector('#timeline') || document.querySelector('#history-title')`)
	h.check("contact")

	// Unsubscribe a subscribed contact: the status changes, the consent
	// timeline shows the hub's opt-out, and the hub may subscribe again
	// the person it unsubscribed itself.
	subscribed := h.subscribedWithPhone(key, 2)
	h.do(chromedp.Navigate(app.BaseURL + "/console#/contacts/" + subscribed[0]["id"].(string)))
	h.waitJS("a subscribed contact", `document.querySelector('#unsubscribe') && document.querySelector('h1 .badge').textContent === 'subscribed'`)
	h.do(chromedp.Click("#unsubscribe"))
	h.waitJS("the unsubscribe on the page", `document.querySelector('h1 .badge').textContent === 'unsubscribed' && document.activeElement.id === 'resubscribe' &&
		(t => t.includes('event: hub_opt_out') && t.includes('provider: hub') && t.includes('to: unsubscribed'))(document.querySelector('#timeline li').innerText)`)
	h.check("contact-unsubscribed")
	h.do(chromedp.Click("#resubscribe"))
	h.waitJS("the hub's re-subscribe", `document.querySelector('h1 .badge').textContent === 'subscribed' && document.querySelector('#unsubscribe') &&
		(t => t.includes('event: hub_opt_in') && t.includes('provider: hub') && t.includes('to: subscribed'))(document.querySelector('#timeline li').innerText)`)
	// A consumer's STOP (an inbound SMS through the provider's signed
	// webhook): the hub cannot lift it, and the page says so next to the
	// control.
	stopper := subscribed[1]
	hook := app.BaseURL + "/sms/inbound/twilio/" + tenantID
	resp, _, err := twilio.SendInbound(context.Background(), hook, app.PublicBaseURL+"/sms/inbound/twilio/"+tenantID, stopper["phone"].(string), sender, "STOP", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inbound STOP: %d", resp.StatusCode)
	}
	h.do(chromedp.Navigate(app.BaseURL + "/console#/contacts/" + stopper["id"].(string)))
	h.waitJS("the STOP on the contact page", `document.querySelector('h1 .badge').textContent === 'unsubscribed' && document.querySelector('#resubscribe') &&
		(t => t.includes('event: hub_opt_out') && t.includes('to: unsubscribed') && !t.includes('provider: hub'))(document.querySelector('#timeline li').innerText)`)
	h.do(chromedp.Click("#resubscribe"))
	h.waitJS("the refusal next to the control", `document.querySelector('#resubscribe + #subscription-error').textContent.includes('This person texted STOP') &&
		document.querySelector('#resubscribe').getAttribute('aria-describedby') === 'subscription-error'`)
	if status := h.contactStatus(key, stopper["id"].(string)); status != "unsubscribed" {
		t.Fatalf("after the refused re-subscribe the contact is %q", status)
	}
	h.check("contact-stop")

	// A phone's width: the same page, usable and accessible.
	h.do(chromedp.EmulateViewport(375, 812))
	h.do(chromedp.Navigate(app.BaseURL + "/console#/contacts"))
	h.waitJS("the contacts at a phone's width", `document.querySelector('#contacts') && document.documentElement.scrollWidth <= 375`)
	h.check("contacts-phone")
	h.do(chromedp.Navigate(app.BaseURL + "/console#/messaging"))
	h.waitJS("the Messaging page at a phone's width", `document.querySelector('#sms-current') && document.querySelector('#tpl-confirmation') && document.documentElement.scrollWidth <= 375`)
	h.check("messaging-phone")
	h.do(chromedp.EmulateViewport(1280, 900))

	h.do(chromedp.Navigate(app.BaseURL + "/console#/usage"))
	h.waitJS("the usage page", `document.querySelector('#credits-month') && document.querySelector('.chart')`)
	h.check("usage")

	// Install a WooCommerce store through the wizard: connect with its
	// keys, choose the consent option, preview with a dry run, activate;
	// the install then creates what the preview said it would.
	h.do(chromedp.Navigate(app.BaseURL + "/console#/"))
	h.waitJS("the Integrations page", `document.querySelector('#connect-woocommerce')`)
	h.do(chromedp.Click("#connect-woocommerce"))
	h.waitJS("the connect step", `document.querySelector('#keys-form')`)
	h.check("wizard-connect")
	ck, cs := woo.Credentials()
	h.do(chromedp.SendKeys(`[name="config.storeUrl"]`, woo.URL()), chromedp.SendKeys(`[name="config.consumerKey"]`, ck),
		chromedp.SendKeys(`[name="config.consumerSecret"]`, "cs_wrong"), chromedp.SendKeys(`[name="config.webhookSecret"]`, "whsec-woo"),
		chromedp.Click(`#keys-form button[type="submit"]`))
	h.waitJS("the platform's refusal next to the form", `document.querySelector('#keys-form [data-error-for="_form"]').textContent.includes('refused')`)
	h.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[name="config.consumerSecret"]').value = ''`),
		chromedp.SendKeys(`[name="config.consumerSecret"]`, cs), chromedp.Click(`#keys-form button[type="submit"]`))
	h.waitJS("the choose step", `document.querySelector('#wizard-form') && document.querySelector('#mode-inferred')`)
	h.do(chromedp.Click("#mode-inferred"))
	h.check("wizard-choose")
	h.do(chromedp.Click("#preview"))
	h.waitJS("the preview", `document.querySelector('#preview-summary')`)
	summary := h.text("#preview-summary")
	var wouldCreate int
	if _, err := fmt.Sscanf(summary, "This install will create %d contacts", &wouldCreate); err != nil || wouldCreate == 0 {
		t.Fatalf("preview %q: %v", summary, err)
	}
	h.check("wizard-preview")
	h.do(chromedp.Click("#activate"))
	h.waitJS("the new connection's install to finish", `location.hash.startsWith('#/connections/') && document.querySelector('#latest-sync') && document.querySelector('#latest-sync').innerText.includes('install sync, completed')`)
	created := h.text("#latest-sync")
	if !strings.Contains(created, fmt.Sprintf("%d created", wouldCreate)) {
		t.Errorf("the preview said %d contacts would be created; the install says %q", wouldCreate, created)
	}

	// Install Mailchimp through OAuth: Connect → Mailchimp's consent page
	// → back in the console on the draft → the consent option shows the
	// tenant's own confirmation text and its cost → preview → activate →
	// the install sync completes.
	h.do(chromedp.Navigate(app.BaseURL + "/console#/"))
	h.waitJS("the Integrations page", `document.querySelector('#connect-mailchimp')`)
	h.do(chromedp.Click("#connect-mailchimp"))
	h.waitJS("the connect step", `document.querySelector('#oauth-form')`)
	h.do(chromedp.Click(`#oauth-form button[type="submit"]`))
	h.waitJS("the draft's audience step after the consent page", `location.pathname === '/console' && location.search === '' && location.hash.startsWith('#/wizard/') &&
		document.querySelector('#audience-form [name="config.audienceId"]').selectedOptions[0].textContent === 'Newsletter (40 members)'`)
	h.check("wizard-oauth-audience")
	h.do(chromedp.Click("#choose-audience"))
	h.waitJS("the choose step of the audience", `document.querySelector('#wizard-form') && document.querySelector('[name="config.audienceId"]') && document.querySelector('#msg-confirmation')`)
	if got := h.text("#msg-confirmation"); !strings.Contains(got, confirmationText) || !strings.Contains(got, "2 credits each") {
		t.Errorf("the confirmation option shows %q, want the tenant's text %q and 2 credits each", got, confirmationText)
	}
	if got := h.text("#msg-double_opt_in_request"); !strings.Contains(got, "Reply Y or YES to confirm that you want to receive SMS messages from Console Co.") || !strings.Contains(got, "1 credit each") {
		t.Errorf("the double opt-in option shows %q, want the default text with the company and 1 credit each", got)
	}
	h.do(chromedp.Click("#mode-confirmation"))
	h.check("wizard-oauth-choose")
	h.do(chromedp.Click("#preview"))
	h.waitJS("the Mailchimp preview", `document.querySelector('#preview-summary')`)
	summary = h.text("#preview-summary")
	var mcCreate, mcUpdate, mcInvalid, messages, credits int
	if _, err := fmt.Sscanf(strings.ReplaceAll(summary, ",", ""), "This install will create %d contacts and update %d; %d records are invalid", &mcCreate, &mcUpdate, &mcInvalid); err != nil || mcCreate == 0 {
		t.Fatalf("Mailchimp preview %q: %v", summary, err)
	}
	if _, err := fmt.Sscanf(h.text("#preview-summary strong"), "It will send %d messages = %d credits.", &messages, &credits); err != nil || messages == 0 || credits != messages*confirmationCredits {
		t.Errorf("Mailchimp preview %q: %v; want %d credits a message", summary, err, confirmationCredits)
	}
	h.do(chromedp.Click("#activate"))
	h.waitJS("the Mailchimp install to finish", `location.hash.startsWith('#/connections/') && document.querySelector('#latest-sync') && document.querySelector('#latest-sync').innerText.includes('install sync, completed')`)
	if created := h.text("#latest-sync"); !strings.Contains(created, fmt.Sprintf("%d created", mcCreate)) {
		t.Errorf("the Mailchimp preview said %d contacts would be created; the install says %q", mcCreate, created)
	}
	if got := h.text("h1"); !strings.Contains(got, "Mailchimp") {
		t.Errorf("the installed connection's page is %q", got)
	}

	// Nothing but the sandbox's own origin was asked for, with one
	// exception: the OAuth install's two navigations — to Mailchimp's
	// consent page (the platform's, exactly the authorisation URL of its
	// app) and its redirect to our OAuth callback, which sends the browser
	// back to /console. Each is allowed once, and only as a navigation.
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.requests) == 0 {
		t.Fatal("no request recorded")
	}
	consentPage, callback := 0, 0
	for _, r := range h.requests {
		switch {
		case strings.HasPrefix(r.url, app.BaseURL+"/console") || strings.HasPrefix(r.url, app.BaseURL+"/v1/"):
		case r.kind == network.ResourceTypeDocument && strings.HasPrefix(r.url, mc.OAuthAuthorizeURL()+"?") && consentPage == 0:
			consentPage++
		case r.kind == network.ResourceTypeDocument && strings.HasPrefix(r.url, app.BaseURL+"/oauth/mailchimp/callback?") && callback == 0:
			callback++
		default:
			t.Errorf("the console asked for %s (%s)", r.url, r.kind)
		}
	}
	if consentPage != 1 || callback != 1 {
		t.Errorf("the OAuth install went to the consent page %d times and to the callback %d times, want once each", consentPage, callback)
	}
}
