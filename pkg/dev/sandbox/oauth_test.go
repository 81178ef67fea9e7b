package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// returnURL is the tenant's configured landing page: the test's browser
// stops there (it is not served).
const returnURL = "https://hub.example/integrations/installed"

type oauthStack struct {
	t        *testing.T
	app      *sandbox.App
	c        client
	sealer   *seal.Sealer
	key      string
	tenant   string
	shop     *shopifytest.Server
	woo      *woocommercetest.Server
	mc       *mailchimptest.Server
	kl       *klaviyotest.Server
	browser  *http.Client
	stopAtCB bool // the browser stops at our callback instead of following it
}

const storeSize = 30

// startOAuthStack starts the four platform fakes and a sandbox whose OAuth
// apps point at them, and a tenant with a return URL.
func startOAuthStack(t *testing.T) *oauthStack {
	t.Helper()
	o := &oauthStack{t: t}
	o.shop = shopifytest.NewServer(shopifytest.Options{Customers: storeSize, Seed: 71, RestoreRate: 100000, MaxAvailable: 100000})
	o.woo = woocommercetest.NewServer(woocommercetest.Options{Customers: storeSize, Seed: 72})
	o.mc = mailchimptest.NewServer(mailchimptest.Options{Members: storeSize, Seed: 73})
	o.kl = klaviyotest.NewServer(klaviyotest.Options{Profiles: storeSize, Seed: 74, PerSecond: -1, PerMinute: -1})
	t.Cleanup(func() { o.shop.Close(); o.woo.Close(); o.mc.Close(); o.kl.Close() })

	apps := oauth.Defaults()
	apps.Shopify = oauth.App{ClientID: shopifytest.OAuthClientID, ClientSecret: shopifytest.OAuthClientSecret,
		AuthURL: o.shop.OAuthAuthorizeURL(), TokenURL: o.shop.OAuthTokenURL(), APIBaseURL: o.shop.URL(), Scopes: apps.Shopify.Scopes}
	apps.Mailchimp = oauth.App{ClientID: mailchimptest.OAuthClientID, ClientSecret: mailchimptest.OAuthClientSecret,
		AuthURL: o.mc.OAuthAuthorizeURL(), TokenURL: o.mc.OAuthTokenURL(), MetadataURL: o.mc.OAuthMetadataURL()}
	apps.Klaviyo = oauth.App{ClientID: klaviyotest.OAuthClientID, ClientSecret: klaviyotest.OAuthClientSecret,
		AuthURL: o.kl.OAuthAuthorizeURL(), TokenURL: o.kl.OAuthTokenURL(), APIBaseURL: o.kl.URL(), Scopes: apps.Klaviyo.Scopes}

	s := stacktest.New(t)
	var err error
	if o.sealer, err = seal.FromEnv(func(string) string { return seal.NewKey() }); err != nil {
		t.Fatal(err)
	}
	o.app, err = sandbox.Start(context.Background(), sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: o.sealer, PageWorkers: 2, OAuth: apps,
		Names: awsenv.Names{Table: s.Table, PagesQueue: path.Base(s.PagesQueueURL), OutboxQueue: path.Base(s.OutboxQueueURL)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = o.app.Close(ctx)
	})
	o.c = client{t: t, base: o.app.BaseURL}
	o.key, o.tenant = o.c.newTenant("oauth")
	if code, out := o.c.call("PUT", "/v1/settings", o.key, map[string]string{"returnUrl": returnURL}); code != 200 || out["returnUrl"] != returnURL {
		t.Fatalf("settings: %d %v", code, out)
	}
	// The merchant's browser: it follows the platforms' and our redirects
	// and stops on the hub's page (or, with stopAtCB, on our callback).
	o.browser = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "hub.example" || (o.stopAtCB && strings.HasPrefix(req.URL.Path, "/oauth/") && req.URL.Host == strings.TrimPrefix(o.app.BaseURL, "http://")) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return o
}

// authorize asks the Hub API for an authorisation URL.
func (o *oauthStack) authorize(body map[string]any) string {
	o.t.Helper()
	code, out := o.c.call("POST", "/v1/connections/authorize", o.key, body)
	if code != 200 || out["authorizeUrl"] == nil {
		o.t.Fatalf("authorize %v: %d %v", body, code, out)
	}
	return out["authorizeUrl"].(string)
}

// visit GETs u in the browser and returns the answer's status and
// Location (the last redirect it did not follow).
func (o *oauthStack) visit(u string) (int, *url.URL, map[string]any) {
	o.t.Helper()
	resp, err := o.browser.Get(u)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	loc, _ := resp.Location()
	return resp.StatusCode, loc, body
}

// install runs the whole browser flow and returns the new connection's id.
func (o *oauthStack) install(body map[string]any) string {
	o.t.Helper()
	code, loc, out := o.visit(o.authorize(body))
	if code != http.StatusFound || loc == nil || loc.Host != "hub.example" || loc.Query().Get("connection") == "" {
		o.t.Fatalf("%v: the browser ended on %d %v %v, want the return URL with ?connection=", body, code, loc, out)
	}
	return loc.Query().Get("connection")
}

func (o *oauthStack) storedConfig(id string) (store.Connection, map[string]string) {
	o.t.Helper()
	conn, err := o.app.Store.GetConnection(context.Background(), o.tenant, id)
	if err != nil {
		o.t.Fatal(err)
	}
	cfg, err := hubapi.OpenConfig(o.sealer, conn)
	if err != nil {
		o.t.Fatal(err)
	}
	return conn, cfg
}

func (o *oauthStack) connections() []any {
	o.t.Helper()
	code, out := o.c.call("GET", "/v1/connections", o.key, nil)
	if code != 200 {
		o.t.Fatalf("list: %d %v", code, out)
	}
	return out["items"].([]any)
}

// TestOAuth_InstallEachPlatform: for each platform, authorise → callback
// → a draft connection with sealed credentials (nothing synced, "sync
// now" refused) → PATCH → activate → the install sync completes against
// the fake.
func TestOAuth_InstallEachPlatform(t *testing.T) {
	t.Parallel()
	o := startOAuthStack(t)
	cases := []struct {
		body   map[string]any
		secret string // the credential the callback stored
		patch  map[string]any
	}{
		{map[string]any{"platform": "shopify", "shop": o.shop.Domain(), "label": "My shop"}, "accessToken", nil},
		{map[string]any{"platform": "woocommerce", "storeUrl": o.woo.URL()}, "consumerSecret", nil},
		{map[string]any{"platform": "mailchimp"}, "accessToken", map[string]any{"config": map[string]string{"audienceId": o.mc.AudienceID()}}},
		{map[string]any{"platform": "klaviyo"}, "refreshToken", nil},
	}
	for _, tc := range cases {
		platform := tc.body["platform"].(string)
		id := o.install(tc.body)
		conn, cfg := o.storedConfig(id)
		if conn.Status != store.StatusDraft || conn.Platform != platform || cfg[tc.secret] == "" || strings.Contains(string(conn.Config), cfg[tc.secret]) {
			t.Fatalf("%s: stored %+v (%s set: %v), want a draft with the credential sealed", platform, conn.Status, tc.secret, cfg[tc.secret] != "")
		}
		code, out := o.c.call("GET", "/v1/connections/"+id, o.key, nil)
		if code != 200 || out["status"] != "draft" {
			t.Fatalf("%s: GET %d %v", platform, code, out)
		}
		for k := range out["config"].(map[string]any) {
			if k == "accessToken" || k == "refreshToken" || k == "consumerSecret" || k == "consumerKey" || k == "webhookSecret" {
				t.Fatalf("%s: the API shows the secret %s", platform, k)
			}
		}
		if code, out := o.c.call("POST", "/v1/connections/"+id+"/syncs", o.key, nil); code != 409 || out["error"].(map[string]any)["code"] != "connection_draft" {
			t.Fatalf("%s: sync now of a draft: %d %v", platform, code, out)
		}
		if platform == "woocommerce" {
			// A draft takes no webhook in: acknowledged, nothing synced.
			cust, _ := o.woo.Customer(1)
			resp, err := o.woo.SendWebhook(context.Background(), out["webhookUrl"].(string), cfg["webhookSecret"], "customer.updated", cust)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), "connection_draft") {
				t.Fatalf("webhook to a draft: %d %s", resp.StatusCode, b)
			}
			if code, out := o.c.call("GET", "/v1/contacts?source=WooCommerce", o.key, nil); code != 200 || len(out["items"].([]any)) != 0 {
				t.Fatalf("contacts after a draft's webhook: %d %v", code, out)
			}
		}
		// Incomplete: activation names what is missing.
		if code, out := o.c.call("POST", "/v1/connections/"+id+"/activate", o.key, nil); code != 400 {
			t.Fatalf("%s: activating an unconfigured draft: %d %v", platform, code, out)
		}
		patch := map[string]any{"consentMode": "inferred", "defaultRegion": "AU"}
		for k, v := range tc.patch {
			patch[k] = v
		}
		if code, out := o.c.call("PATCH", "/v1/connections/"+id, o.key, patch); code != 200 || out["status"] != "draft" || out["consentMode"] != "inferred" {
			t.Fatalf("%s: PATCH %d %v", platform, code, out)
		}
		code, out = o.c.call("POST", "/v1/connections/"+id+"/activate", o.key, nil)
		if code != 202 || out["syncId"] == nil {
			t.Fatalf("%s: activate %d %v", platform, code, out)
		}
		run := waitRun(t, o.app, o.tenant, out["syncId"].(string))
		if run.Status != store.RunCompleted || run.Trigger != store.TriggerInstall || !run.Counts.AddsUp() || run.Counts.Seen != storeSize {
			t.Fatalf("%s: install %s %+v (%s), want completed with %d records", platform, run.Status, run.Counts, run.Error, storeSize)
		}
		if code, out := o.c.call("GET", "/v1/connections/"+id, o.key, nil); code != 200 || out["status"] != "active" {
			t.Fatalf("%s: after activation %d %v", platform, code, out)
		}
		if code, out := o.c.call("POST", "/v1/connections/"+id+"/activate", o.key, nil); code != 409 {
			t.Fatalf("%s: activating twice: %d %v", platform, code, out)
		}
	}
	if n := len(o.connections()); n != len(cases) {
		t.Fatalf("%d connections, want %d", n, len(cases))
	}
	// Pasted keys keep working: created active with its install started,
	// or as a draft when asked.
	ck, cs := o.woo.Credentials()
	paste := map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": o.woo.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec"}}
	if code, out := o.c.call("POST", "/v1/connections", o.key, paste); code != 201 || out["syncId"] == nil || out["status"] != "active" {
		t.Fatalf("pasted keys: %d %v", code, out)
	}
	paste["status"] = "draft"
	if code, out := o.c.call("POST", "/v1/connections", o.key, paste); code != 201 || out["syncId"] != nil || out["status"] != "draft" {
		t.Fatalf("pasted keys as a draft: %d %v", code, out)
	}
}

// TestOAuth_BadCallbacksCreateNothing: a wrong HMAC, a shop that is not
// *.myshopify.com, an unknown, altered or replayed state, a missing code
// and a refusal answer 400/401 (JSON) or send the browser back with an
// error, and create no connection.
func TestOAuth_BadCallbacksCreateNothing(t *testing.T) {
	t.Parallel()
	o := startOAuthStack(t)
	o.stopAtCB = true
	// callback returns the callback URL the platform sent the browser to.
	callback := func(body map[string]any) *url.URL {
		t.Helper()
		code, loc, out := o.visit(o.authorize(body))
		if code != http.StatusFound || loc == nil || !strings.HasPrefix(loc.Path, "/oauth/") {
			t.Fatalf("the platform did not send the browser to our callback: %d %v %v", code, loc, out)
		}
		return loc
	}
	resign := func(u *url.URL, change func(url.Values)) string {
		q := u.Query()
		change(q)
		q.Set("hmac", shopifytest.CallbackHMAC(shopifytest.OAuthClientSecret, q))
		v := *u
		v.RawQuery = q.Encode()
		return v.String()
	}
	wantJSON := func(what, u string, status int, code string) {
		t.Helper()
		got, _, out := o.visit(u)
		e, _ := out["error"].(map[string]any)
		if got != status || e == nil || e["code"] != code {
			t.Fatalf("%s: %d %v, want %d %s", what, got, out, status, code)
		}
	}
	wantBack := func(what, u, code string) {
		t.Helper()
		got, loc, out := o.visit(u)
		if got != http.StatusFound || loc == nil || loc.Host != "hub.example" || loc.Query().Get("error") != code || loc.Query().Get("connection") != "" {
			t.Fatalf("%s: %d %v %v, want the return URL with error=%s", what, got, loc, out, code)
		}
	}
	shopBody := map[string]any{"platform": "shopify", "shop": o.shop.Domain()}

	cb := callback(shopBody)
	wrong := cb.Query()
	wrong.Set("hmac", strings.Repeat("0", 64))
	bad := *cb
	bad.RawQuery = wrong.Encode()
	wantJSON("wrong HMAC", bad.String(), 401, "bad_signature")
	wantJSON("altered code under the old HMAC", strings.Replace(cb.String(), "code=", "code=x", 1), 401, "bad_signature")
	wantJSON("a shop that is not *.myshopify.com", resign(cb, func(q url.Values) { q.Set("shop", "evil.example.com") }), 400, "invalid_shop")
	wantJSON("unknown state", resign(cb, func(q url.Values) { q.Set("state", o.tenant+".bm90LWEtc3RhdGU") }), 400, "invalid_state")
	wantJSON("no state", resign(cb, func(q url.Values) { q.Del("state") }), 400, "invalid_state")
	// The genuine callback still works once; its replay does not.
	o.stopAtCB = false
	code, loc, _ := o.visit(cb.String())
	if code != http.StatusFound || loc.Query().Get("connection") == "" {
		t.Fatalf("the genuine callback: %d %v", code, loc)
	}
	wantJSON("replayed callback", cb.String(), 400, "invalid_state")
	o.stopAtCB = true

	cb = callback(shopBody)
	wantJSON("another shop than the one installed", resign(cb, func(q url.Values) { q.Set("shop", "other.myshopify.com") }), 400, "invalid_shop")
	wantJSON("a state a callback for another shop used", cb.String(), 400, "invalid_state")

	cb = callback(shopBody)
	wantBack("missing code", resign(cb, func(q url.Values) { q.Del("code") }), "missing_code")
	wantJSON("a state used by a failed callback", cb.String(), 400, "invalid_state")

	// A state from another platform's authorisation.
	mcb := callback(map[string]any{"platform": "mailchimp"})
	wantJSON("a Mailchimp state at the Shopify callback", resign(cb, func(q url.Values) { q.Set("state", mcb.Query().Get("state")) }), 400, "invalid_state")
	// The merchant refuses.
	o.stopAtCB = false
	o.kl.OAuth().Deny(true)
	code, loc, _ = o.visit(o.authorize(map[string]any{"platform": "klaviyo"}))
	if code != http.StatusFound || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("klaviyo refusal: %d %v", code, loc)
	}
	o.woo.DenyAuth(true)
	code, loc, _ = o.visit(o.authorize(map[string]any{"platform": "woocommerce", "storeUrl": o.woo.URL()}))
	if code != http.StatusFound || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("woocommerce refusal: %d %v", code, loc)
	}
	// WooCommerce's key delivery with a forged or replayed user_id.
	for _, userID := range []string{"", o.tenant + ".Zm9yZ2Vk", mcb.Query().Get("state")} {
		body, _ := json.Marshal(map[string]any{"key_id": 1, "user_id": userID, "consumer_key": "ck_x", "consumer_secret": "cs_x", "key_permissions": "read_write"})
		resp, err := http.Post(o.app.BaseURL+"/oauth/woocommerce/callback", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("key delivery with user_id %q: %d, want 400", userID, resp.StatusCode)
		}
	}
	wantJSON("a callback of no platform", o.app.BaseURL+"/oauth/nope/callback?state=x", 404, "not_found")

	if n := len(o.connections()); n != 1 {
		t.Fatalf("%d connections after the bad callbacks, want only the genuine one", n)
	}
	// Authorise checks its input.
	for _, body := range []map[string]any{
		{"platform": "shopify", "shop": "evil.example.com"},
		{"platform": "shopify"},
		{"platform": "woocommerce", "storeUrl": "ftp://store.example"},
		{"platform": "woocommerce", "storeUrl": o.woo.URL() + "/?x=1"},
		{"platform": "klaviyo", "returnUrl": "http://hub.example/x"},
		{"platform": "klaviyo", "returnUrl": "https://elsewhere.example/x"},
		{"platform": "nope"},
	} {
		if code, out := o.c.call("POST", "/v1/connections/authorize", o.key, body); code != 400 {
			t.Fatalf("authorize %v: %d %v, want 400", body, code, out)
		}
	}
}

// TestOAuth_KlaviyoRefreshAndReauthorization: an expired Klaviyo token is
// refreshed before use (the fake no longer accepts the old one) and the
// new one is sealed and stored; a revoked refresh token ends the run with
// needs_reauthorization, which the API shows, "sync now" and the scheduler
// respect; a new authorisation clears it.
func TestOAuth_KlaviyoRefreshAndReauthorization(t *testing.T) {
	t.Parallel()
	o := startOAuthStack(t)
	ctx := context.Background()
	id := o.install(map[string]any{"platform": "klaviyo"})
	if code, out := o.c.call("PATCH", "/v1/connections/"+id, o.key, map[string]any{"consentMode": "inferred", "defaultRegion": "AU"}); code != 200 {
		t.Fatalf("PATCH %d %v", code, out)
	}
	code, out := o.c.call("POST", "/v1/connections/"+id+"/activate", o.key, map[string]any{"dryRun": false})
	if code != 202 {
		t.Fatalf("activate %d %v", code, out)
	}
	if run := waitRun(t, o.app, o.tenant, out["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install: %+v", run)
	}
	if n := o.kl.OAuth().Refreshes(); n != 0 {
		t.Fatalf("%d refreshes of a fresh token", n)
	}
	// expire makes the stored token expired, and the fake refuse it.
	expire := func() {
		t.Helper()
		for {
			conn, cfg := o.storedConfig(id)
			cfg["tokenExpiry"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			raw, _ := json.Marshal(cfg)
			conn.Config = o.sealer.Seal(o.tenant, raw)
			if _, err := o.app.Store.UpdateConnection(ctx, conn); errors.Is(err, store.ErrConflict) {
				continue // the install's end marked it synced meanwhile
			} else if err != nil {
				t.Fatal(err)
			}
			break
		}
		o.kl.OAuth().ExpireAccessTokens()
	}
	sync := func() store.Run {
		t.Helper()
		code, out := o.c.call("POST", "/v1/connections/"+id+"/syncs", o.key, nil)
		if code != 202 {
			t.Fatalf("sync now: %d %v", code, out)
		}
		return waitRun(t, o.app, o.tenant, out["syncId"].(string))
	}
	_, before := o.storedConfig(id)
	expire()
	if run := sync(); run.Status != store.RunCompleted || run.Counts.Seen != storeSize {
		t.Fatalf("sync with an expired token: %s %+v (%s)", run.Status, run.Counts, run.Error)
	}
	_, after := o.storedConfig(id)
	expiry, _ := time.Parse(time.RFC3339Nano, after["tokenExpiry"])
	if o.kl.OAuth().Refreshes() != 1 || after["accessToken"] == before["accessToken"] || !expiry.After(time.Now()) {
		t.Fatalf("refreshes %d, token changed %v, expiry %v: want one refresh, stored", o.kl.OAuth().Refreshes(), after["accessToken"] != before["accessToken"], expiry)
	}

	o.kl.OAuth().RevokeRefreshTokens()
	expire()
	run := sync()
	if run.Status != store.RunFailed || !strings.Contains(run.Error, "needs_reauthorization") {
		t.Fatalf("sync with a revoked refresh token: %s (%s), want failed with needs_reauthorization", run.Status, run.Error)
	}
	if code, out := o.c.call("GET", "/v1/connections/"+id, o.key, nil); code != 200 || out["status"] != "needs_reauthorization" {
		t.Fatalf("GET after the refusal: %d %v", code, out)
	}
	if code, out := o.c.call("POST", "/v1/connections/"+id+"/syncs", o.key, nil); code != 409 || out["error"].(map[string]any)["code"] != "needs_reauthorization" {
		t.Fatalf("sync now: %d %v", code, out)
	}
	due := func() bool {
		found := false
		err := o.app.Store.ListDueConnections(ctx, time.Now().Add(30*24*time.Hour), func(d store.DueConnection) error {
			found = found || d.ConnectionID == id
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	if due() {
		t.Fatal("the scheduler would still sync a connection that needs re-authorisation")
	}
	// A new authorisation of the same connection clears it.
	if again := o.install(map[string]any{"platform": "klaviyo", "connectionId": id}); again != id {
		t.Fatalf("re-authorisation landed on %s, want %s", again, id)
	}
	if code, out := o.c.call("GET", "/v1/connections/"+id, o.key, nil); code != 200 || out["status"] != "active" {
		t.Fatalf("GET after re-authorisation: %d %v", code, out)
	}
	if !due() {
		t.Fatal("the re-authorised connection is not back in the scheduler's index")
	}
	if run := sync(); run.Status != store.RunCompleted {
		t.Fatalf("sync after re-authorisation: %s (%s)", run.Status, run.Error)
	}
	if n := len(o.connections()); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}
