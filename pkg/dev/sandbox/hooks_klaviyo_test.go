package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
)

// klaviyoHooksStack is a sandbox whose Klaviyo OAuth app points at one
// fake account, with the scheduler's clock in the test's hands.
type klaviyoHooksStack struct {
	*hooksStack
	kl      *klaviyotest.Server
	sealer  *seal.Sealer
	browser *http.Client
	seed    int64
	size    int
}

func startKlaviyoHooksStack(t *testing.T, seed int64, size int) *klaviyoHooksStack {
	t.Helper()
	k := &klaviyoHooksStack{hooksStack: &hooksStack{t: t, clock: &clock{}}, seed: seed, size: size}
	// The hub listens on plain http; Klaviyo itself wants https. The
	// account's per-minute window is opened: the test makes more Webhooks
	// API calls in a minute than one account's install would (the window
	// is covered in pkg/klaviyo); the 1/s burst window stays.
	k.kl = klaviyotest.NewServer(klaviyotest.Options{Profiles: size, Seed: seed, PerSecond: -1, PerMinute: -1, HookPerMinute: -1, AllowHTTPEndpoints: true})
	t.Cleanup(k.kl.Close)
	apps := oauth.Defaults()
	apps.Klaviyo = oauth.App{ClientID: klaviyotest.OAuthClientID, ClientSecret: klaviyotest.OAuthClientSecret,
		AuthURL: k.kl.OAuthAuthorizeURL(), TokenURL: k.kl.OAuthTokenURL(), APIBaseURL: k.kl.URL(), Scopes: apps.Klaviyo.Scopes}
	s := stacktest.New(t)
	var err error
	if k.sealer, err = seal.FromEnv(func(string) string { return seal.NewKey() }); err != nil {
		t.Fatal(err)
	}
	k.app, err = sandbox.Start(context.Background(), sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: k.sealer, PageWorkers: 2, OAuth: apps, SchedulerNow: k.clock.now,
		Names: awsenv.Names{Table: s.Table, PagesQueue: path.Base(s.PagesQueueURL), OutboxQueue: path.Base(s.OutboxQueueURL)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = k.app.Close(ctx)
	})
	k.c = client{t: t, base: k.app.BaseURL}
	k.key, k.tenant = k.c.newTenant("klaviyo-hooks")
	if code, out := k.c.call("PUT", "/v1/settings", k.key, map[string]string{"returnUrl": returnURL}); code != 200 {
		t.Fatalf("settings: %d %v", code, out)
	}
	k.browser = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "hub.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return k
}

// install authorises the app in the merchant's browser (PKCE), checks the
// connection's options, configures and activates the draft, waits for
// its install sync, and returns the connection.
func (k *klaviyoHooksStack) install() map[string]any {
	t := k.t
	t.Helper()
	code, out := k.c.call("POST", "/v1/connections/authorize", k.key, map[string]any{"platform": "klaviyo"})
	if code != 200 || out["authorizeUrl"] == nil {
		t.Fatalf("authorize: %d %v", code, out)
	}
	if u, _ := url.Parse(out["authorizeUrl"].(string)); u.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("no PKCE challenge in %s", u)
	}
	resp, err := k.browser.Get(out["authorizeUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("connection") == "" {
		t.Fatalf("the browser ended on %d %v", resp.StatusCode, loc)
	}
	id := loc.Query().Get("connection")
	if code, out := k.c.call("GET", "/v1/connections/"+id+"/options", k.key, nil); code != 200 {
		t.Fatalf("options: %d %v", code, out)
	}
	if code, out := k.c.call("PATCH", "/v1/connections/"+id, k.key, map[string]any{"consentMode": "inferred", "defaultRegion": "AU"}); code != 200 {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	code, out = k.c.call("POST", "/v1/connections/"+id+"/activate", k.key, map[string]any{"dryRun": false})
	if code != 202 || out["syncId"] == nil {
		t.Fatalf("activate: %d %v", code, out)
	}
	if run := waitRun(t, k.app, k.tenant, out["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install: %s (%s)", run.Status, run.Error)
	}
	code, conn := k.c.call("GET", "/v1/connections/"+id, k.key, nil)
	if code != 200 {
		t.Fatalf("GET connection: %d %v", code, conn)
	}
	return conn
}

// ours checks that the account holds one enabled webhook per topic we
// handle, at hookURL, signing with the connection's webhook secret, and
// nothing else.
func (k *klaviyoHooksStack) ours(when, id, hookURL string) {
	t := k.t
	t.Helper()
	conn, err := k.app.Store.GetConnection(context.Background(), k.tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := hubapi.OpenConfig(k.sealer, conn)
	if err != nil || cfg["webhookSecret"] == "" {
		t.Fatalf("the connection has no webhook secret (%v)", err)
	}
	var topics []string
	for _, w := range k.kl.Webhooks() {
		if w.EndpointURL != hookURL || !w.Enabled || w.Secret != cfg["webhookSecret"] || len(w.Topics) != 1 {
			t.Fatalf("%s: webhook %+v (secret ours: %v)", when, w, w.Secret == cfg["webhookSecret"])
		}
		topics = append(topics, w.Topics[0])
	}
	slices.Sort(topics)
	if want := slices.Sorted(slices.Values(klaviyo.WebhookTopics)); !slices.Equal(topics, want) {
		t.Fatalf("%s: the account holds %v, want %v", when, topics, want)
	}
}

// subscriber is a profile (1-based) with a phone, subscribed to SMS, and
// its email.
func (k *klaviyoHooksStack) subscriber() (int, string) {
	n, emails := k.subscribers(1)
	return n[0], emails[0]
}

// subscribers are the first count profiles (1-based) with a distinct
// phone, subscribed to SMS, and their distinct emails.
func (k *klaviyoHooksStack) subscribers(count int) ([]int, []string) {
	var ns []int
	var emails, phones []string
	for i := 0; i < k.size && len(ns) < count; i++ {
		p := fakestore.NewPerson(k.seed, i)
		email := strings.TrimSpace(p.Email)
		if p.E164 != "" && p.Consent == "subscribed" && email != "" && !slices.Contains(phones, p.E164) && !slices.Contains(emails, email) {
			ns, emails, phones = append(ns, i+1), append(emails, email), append(phones, p.E164)
		}
	}
	if len(ns) < count {
		k.t.Fatalf("%d SMS subscribers with an email in the fake account, want %d", len(ns), count)
	}
	return ns, emails
}

// status is the contact's consent status, found by email.
func (k *klaviyoHooksStack) status(email string) string {
	k.t.Helper()
	code, out := k.c.call("GET", "/v1/contacts?q="+url.QueryEscape(email), k.key, nil)
	if code != 200 {
		k.t.Fatalf("contacts: %d %v", code, out)
	}
	items := out["items"].([]any)
	if len(items) != 1 {
		k.t.Fatalf("%d contacts for %s", len(items), email)
	}
	return items[0].(map[string]any)["status"].(string)
}

// TestHooks_KlaviyoWebhooksRegisteredDeliveredRepairedRemoved: an OAuth
// install's activation creates one webhook per topic we handle at the
// connection's URL, signing with its secret; a consent change in the
// account reaches the contact through the account's own delivery (an
// SMS consent event, as Klaviyo sends it), and so does a second one
// through the same webhook (its deliveries all carry the webhook's id);
// disable removes them and enable re-creates them; one deleted in the
// account is re-created by the daily check (repaired); delete removes
// them.
func TestHooks_KlaviyoWebhooksRegisteredDeliveredRepairedRemoved(t *testing.T) {
	t.Parallel()
	k := startKlaviyoHooksStack(t, 92, 8)
	conn := k.install()
	id, hookURL := conn["id"].(string), conn["webhookUrl"].(string)
	if wh, _ := conn["webhooks"].(map[string]any); wh == nil || wh["status"] != "ok" {
		t.Fatalf("webhooks after activation: %v", conn["webhooks"])
	}
	k.ours("after activation", id, hookURL)

	ns, emails := k.subscribers(2)
	for _, email := range emails {
		if s := k.status(email); s != "subscribed" {
			t.Fatalf("%s is %s after the install, want subscribed", email, s)
		}
	}
	// Two consent changes, one after the other, through the one
	// unsubscribe webhook: each reaches its contact. (Taken as the
	// delivery id, the webhook's id would drop the second as a duplicate.)
	// The second event names its profile only by id (whether Klaviyo
	// includes the profile is unconfirmed): it speaks for the number of
	// the contact the profile is linked to.
	for i, n := range ns {
		k.kl.SetEventsIncludeProfile(i == 0)
		if got := k.kl.SetSMSConsent(n, "UNSUBSCRIBED", time.Now()); got != 1 {
			t.Fatalf("%d deliveries answered 2xx, want 1 (pending %d)", got, k.kl.Pending())
		}
		if s := k.status(emails[i]); s != "unsubscribed" {
			t.Fatalf("after the delivered unsubscribe %s is %s (change %d through the webhook)", emails[i], s, i+1)
		}
	}

	if code, out := k.c.call("PATCH", "/v1/connections/"+id, k.key, map[string]any{"enabled": false}); code != 200 {
		t.Fatalf("disable: %d %v", code, out)
	}
	if hooks := k.kl.Webhooks(); len(hooks) != 0 {
		t.Fatalf("after disable the account holds %+v", hooks)
	}
	if code, out := k.c.call("PATCH", "/v1/connections/"+id, k.key, map[string]any{"enabled": true}); code != 200 || out["webhooks"].(map[string]any)["status"] != "ok" {
		t.Fatalf("enable: %d %v", code, out)
	}
	k.ours("after enable", id, hookURL)

	// The merchant deletes one in Klaviyo: the daily check re-creates it.
	if hooks := k.kl.Webhooks(); !k.kl.DeleteWebhook(hooks[0].ID) {
		t.Fatal("delete in the fake")
	}
	k.dailyCheck()
	k.ours("after the daily check", id, hookURL)
	if wh := k.webhooks(id); wh["status"] != "repaired" {
		t.Fatalf("webhooks after the repair: %v", wh)
	}

	// A new webhook secret re-creates them with it; a re-authorisation
	// keeps the secret (the webhooks still sign with it).
	if code, out := k.c.call("PATCH", "/v1/connections/"+id, k.key, map[string]any{"config": map[string]string{"webhookSecret": "whsec-rotated-klaviyo"}}); code != 200 {
		t.Fatalf("rotate: %d %v", code, out)
	}
	k.ours("after rotating the secret", id, hookURL)
	if hooks := k.kl.Webhooks(); hooks[0].Secret != "whsec-rotated-klaviyo" {
		t.Fatalf("after the rotation the webhooks sign with another secret")
	}
	code, out := k.c.call("POST", "/v1/connections/authorize", k.key, map[string]any{"platform": "klaviyo", "connectionId": id})
	if code != 200 {
		t.Fatalf("re-authorize: %d %v", code, out)
	}
	resp, err := k.browser.Get(out["authorizeUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := resp.Location(); loc == nil || loc.Query().Get("connection") != id {
		t.Fatalf("re-authorisation ended on %d %v", resp.StatusCode, loc)
	}
	k.ours("after re-authorising", id, hookURL)

	if code, out := k.c.call("DELETE", "/v1/connections/"+id, k.key, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if hooks := k.kl.Webhooks(); len(hooks) != 0 {
		t.Fatalf("after delete the account holds %+v", hooks)
	}
}

// TestHooks_KlaviyoAccountWithoutWebhooksIsUnavailable: an account
// without the Webhooks API (no Advanced KDP) activates and syncs; its
// connection shows webhooks unavailable with the reason, no
// connection.webhooks_failing is made, and a consent change arrives with
// the daily sync instead.
func TestHooks_KlaviyoAccountWithoutWebhooksIsUnavailable(t *testing.T) {
	t.Parallel()
	k := startKlaviyoHooksStack(t, 93, 8)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(rcv.Close)
	if code, out := k.c.call("PUT", "/v1/notifications/endpoint", k.key, map[string]string{"url": rcv.URL + "/events"}); code != 200 && code != 201 {
		t.Fatalf("notification endpoint: %d %v", code, out)
	}
	k.kl.SetWebhookAccess(false)
	conn := k.install()
	id := conn["id"].(string)
	wh, _ := conn["webhooks"].(map[string]any)
	if wh == nil || wh["status"] != "unavailable" || !strings.Contains(wh["reason"].(string), "Advanced KDP") || wh["checkedAt"] == nil {
		t.Fatalf("webhooks %v, want unavailable naming Advanced KDP", conn["webhooks"])
	}

	n, email := k.subscriber()
	if got := k.kl.SetSMSConsent(n, "UNSUBSCRIBED", time.Now()); got != 0 {
		t.Fatalf("%d deliveries from an account without webhooks", got)
	}
	k.dailyCheck() // the daily sync is due, and the webhooks' daily check
	for deadline := time.Now().Add(90 * time.Second); k.status(email) != "unsubscribed"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the daily sync did not bring %s's unsubscribe", email)
		}
	}
	if wh := k.webhooks(id); wh["status"] != "unavailable" {
		t.Fatalf("webhooks after the daily check: %v", wh)
	}
	if hooks := k.kl.Webhooks(); len(hooks) != 0 {
		t.Fatalf("the account holds %+v", hooks)
	}
	code, notes := k.c.call("GET", "/v1/notifications", k.key, nil)
	if code != 200 {
		t.Fatalf("notifications: %d %v", code, notes)
	}
	activated := false
	for _, it := range notes["items"].([]any) {
		switch it.(map[string]any)["type"] {
		case "connection.webhooks_failing":
			t.Fatalf("an account without webhooks made %v", it)
		case "connection.activated":
			activated = true
		}
	}
	if !activated {
		t.Fatalf("no connection.activated among %v: are notifications recorded?", notes)
	}
}

// TestHooks_KlaviyoPastedKeyGetsAWebhookSecret: a connection created with
// a pasted private key and no webhook secret gets one, and its webhooks
// sign with it.
func TestHooks_KlaviyoPastedKeyGetsAWebhookSecret(t *testing.T) {
	t.Parallel()
	k := startKlaviyoHooksStack(t, 94, 4)
	conn := k.create("klaviyo", map[string]string{"privateApiKey": k.kl.APIKey(), "apiBaseUrl": k.kl.URL()})
	k.ours("after create", conn["id"].(string), conn["webhookUrl"].(string))
}
