package sandbox_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
)

// startMailchimpHooks starts a sandbox whose Mailchimp OAuth app is mc's,
// with the test's scheduler clock; publicBase ("" = the sandbox itself)
// is where platforms are told to deliver.
func startMailchimpHooks(t *testing.T, mc *mailchimptest.Server, publicBase string) *hooksStack {
	t.Helper()
	h := &hooksStack{t: t, clock: &clock{}}
	apps := oauth.Defaults()
	apps.Mailchimp = oauth.App{ClientID: mailchimptest.OAuthClientID, ClientSecret: mailchimptest.OAuthClientSecret,
		AuthURL: mc.OAuthAuthorizeURL(), TokenURL: mc.OAuthTokenURL(), MetadataURL: mc.OAuthMetadataURL()}
	s := stacktest.New(t)
	sealer, err := seal.FromEnv(func(string) string { return seal.NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	h.app, err = sandbox.Start(context.Background(), sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: sealer, PageWorkers: 2, SchedulerNow: h.clock.now, OAuth: apps,
		PublicBaseURL: publicBase,
		Names:         awsenv.Names{Table: s.Table, PagesQueue: path.Base(s.PagesQueueURL), OutboxQueue: path.Base(s.OutboxQueueURL)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.app.Close(ctx)
	})
	h.c = client{t: t, base: h.app.BaseURL}
	h.key, h.tenant = h.c.newTenant("mailchimp hooks")
	if code, out := h.c.call("PUT", "/v1/settings", h.key, map[string]string{"returnUrl": returnURL}); code != 200 {
		t.Fatalf("settings: %d %v", code, out)
	}
	return h
}

// authorizeMailchimp runs the merchant's OAuth flow through mc's consent
// page and returns the draft connection's id.
func (h *hooksStack) authorizeMailchimp() string {
	h.t.Helper()
	code, out := h.c.call("POST", "/v1/connections/authorize", h.key, map[string]any{"platform": "mailchimp"})
	if code != 200 || out["authorizeUrl"] == nil {
		h.t.Fatalf("authorize: %d %v", code, out)
	}
	browser := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "hub.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(out["authorizeUrl"].(string))
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("connection") == "" {
		h.t.Fatalf("the browser ended on %d %v, want the return URL with ?connection=", resp.StatusCode, loc)
	}
	return loc.Query().Get("connection")
}

// ourWebhook returns the one webhook mc holds and checks it is the
// connection's: at hookURL (with its token), the events the connector
// handles, every source.
func ourWebhook(t *testing.T, mc *mailchimptest.Server, hookURL, when string) mailchimptest.Webhook {
	t.Helper()
	hooks := mc.Webhooks()
	if len(hooks) != 1 {
		t.Fatalf("%s: the audience holds %d webhooks, want 1: %+v", when, len(hooks), hooks)
	}
	w := hooks[0]
	wantEvents := map[string]bool{"subscribe": true, "unsubscribe": true, "profile": true, "upemail": true, "cleaned": false, "campaign": false}
	wantSources := map[string]bool{"user": true, "admin": true, "api": true}
	if w.URL != hookURL || !maps.Equal(w.Events, wantEvents) || !maps.Equal(w.Sources, wantSources) {
		t.Fatalf("%s: webhook %+v, want url %s, events %v, sources %v", when, w, hookURL, wantEvents, wantSources)
	}
	return w
}

// TestHooks_MailchimpListWebhookRegisteredDeliveredRepairedRemoved: an
// OAuth install's activation creates one list webhook on the chosen
// audience at the connection's URL with its token; the audience's own
// deliveries of member changes reach the contacts (and only the events
// and sources the webhook takes are delivered); disable removes it and
// enable re-creates it; a webhook deleted in Mailchimp is re-created by
// the daily check (repaired), one whose events were changed is PATCHed
// back; delete removes it.
func TestHooks_MailchimpListWebhookRegisteredDeliveredRepairedRemoved(t *testing.T) {
	t.Parallel()
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 5, Seed: 84, OtherAudiences: []string{"Newsletter"}})
	t.Cleanup(mc.Close)
	h := startMailchimpHooks(t, mc, "")

	id := h.authorizeMailchimp()
	code, opts := h.c.call("GET", "/v1/connections/"+id+"/options", h.key, nil)
	if code != 200 {
		t.Fatalf("options: %d %v", code, opts)
	}
	found := false
	for _, a := range opts["audiences"].(map[string]any)["items"].([]any) {
		found = found || a.(map[string]any)["id"] == mc.AudienceID()
	}
	if !found {
		t.Fatalf("options do not offer the audience %s: %v", mc.AudienceID(), opts["audiences"])
	}
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"audienceId": mc.AudienceID()}}); code != 200 || out["status"] != "draft" {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	if n := len(mc.Webhooks()); n != 0 {
		t.Fatalf("a draft registered %d webhooks", n)
	}
	code, out := h.c.call("POST", "/v1/connections/"+id+"/activate", h.key, nil)
	if code != 202 || out["syncId"] == nil {
		t.Fatalf("activate: %d %v", code, out)
	}
	if run := waitRun(t, h.app, h.tenant, out["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install %s (%s)", run.Status, run.Error)
	}
	code, conn := h.c.call("GET", "/v1/connections/"+id, h.key, nil)
	hookURL, _ := conn["webhookUrl"].(string)
	if code != 200 || !strings.Contains(hookURL, "?token=") {
		t.Fatalf("connection: %d %v", code, conn)
	}
	if wh := h.webhooks(id); wh["status"] != "ok" || wh["checkedAt"] == nil {
		t.Fatalf("webhooks after activation: %v", wh)
	}
	w := ourWebhook(t, mc, hookURL, "after activation")

	// Member changes reach the contacts through the audience's own
	// deliveries.
	if n := mc.ChangeProfile(mailchimptest.ByAdmin, 1, time.Now(), func(m map[string]any) { m["FNAME"], m["LNAME"] = "Zebediah", "Hookmonger" }); n != 1 {
		t.Fatalf("profile: %d deliveries answered 2xx, want 1 (pending %d)", n, mc.Pending())
	}
	if !h.contactNamed("Zebediah") {
		t.Fatal("the delivered profile did not reach the contact")
	}
	if _, n := mc.Subscribe(mailchimptest.ByAPI, time.Now(), "philippa.hook@example.com",
		map[string]any{"FNAME": "Philippa", "LNAME": "Hookway", "PHONE": "+61 412 555 014"}); n != 1 {
		t.Fatalf("subscribe: %d deliveries answered 2xx, want 1", n)
	}
	if !h.contactNamed("Philippa") {
		t.Fatal("the delivered subscribe did not make a contact")
	}
	if n := mc.ChangeEmail(mailchimptest.ByUser, 1, time.Now(), "zebediah.new@example.com"); n != 1 {
		t.Fatalf("upemail: %d deliveries answered 2xx, want 1", n)
	}
	if n := mc.Unsubscribe(mailchimptest.ByUser, 3, time.Now()); n != 1 {
		t.Fatalf("unsubscribe: %d deliveries answered 2xx, want 1", n)
	}
	if n := mc.Clean(mailchimptest.ByAdmin, 2, time.Now()); n != 0 || mc.Pending() != 0 {
		t.Fatalf("cleaned (not an event we take): %d delivered, %d pending", n, mc.Pending())
	}

	// Disable removes the webhook; enable makes it again.
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"enabled": false}); code != 200 {
		t.Fatalf("disable: %d %v", code, out)
	}
	if n := len(mc.Webhooks()); n != 0 {
		t.Fatalf("after disable the audience holds %d webhooks", n)
	}
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"enabled": true}); code != 200 || out["webhooks"].(map[string]any)["status"] != "ok" {
		t.Fatalf("enable: %d %v", code, out)
	}
	w = ourWebhook(t, mc, hookURL, "after enable")

	// Deleted in Mailchimp: the daily check makes it again (repaired).
	if !mc.DeleteWebhook(w.ID) {
		t.Fatal("delete in the fake")
	}
	h.dailyCheck()
	w = ourWebhook(t, mc, hookURL, "after the daily check")
	if wh := h.webhooks(id); wh["status"] != "repaired" {
		t.Fatalf("webhooks after the repair: %v", wh)
	}
	// Events changed in Mailchimp's admin: the check PATCHes ours back
	// onto the same webhook.
	mc.SetWebhookEvents(w.ID, map[string]bool{"subscribe": true})
	h.dailyCheck()
	if again := ourWebhook(t, mc, hookURL, "after the events were changed"); again.ID != w.ID {
		t.Fatalf("the changed webhook was replaced (%s, was %s), want it updated", again.ID, w.ID)
	}
	if wh := h.webhooks(id); wh["status"] != "repaired" {
		t.Fatalf("webhooks after the events repair: %v", wh)
	}
	h.dailyCheck()
	if wh := h.webhooks(id); wh["status"] != "ok" || len(mc.Webhooks()) != 1 {
		t.Fatalf("webhooks after a clean check: %v, %d webhooks", wh, len(mc.Webhooks()))
	}

	if code, out := h.c.call("DELETE", "/v1/connections/"+id, h.key, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if n := len(mc.Webhooks()); n != 0 {
		t.Fatalf("after delete the audience holds %d webhooks", n)
	}
}

// TestHooks_MailchimpRefusedWebhookShowsFailing: when Mailchimp refuses
// the webhook (our URL does not pass its GET check), the install still
// completes and the connection shows webhooks failing with Mailchimp's
// reason, without the URL's token.
func TestHooks_MailchimpRefusedWebhookShowsFailing(t *testing.T) {
	t.Parallel()
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 3, Seed: 85})
	t.Cleanup(mc.Close)
	// The public address answers 404: not where our webhook routes are.
	dead := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(dead.Close)
	h := startMailchimpHooks(t, mc, dead.URL)
	code, out := h.c.call("POST", "/v1/connections", h.key, map[string]any{"platform": "mailchimp", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"apiKey": mc.APIKey(), "audienceId": mc.AudienceID(), "apiBaseUrl": mc.URL()}})
	if code != 201 || out["syncId"] == nil {
		t.Fatalf("create: %d %v", code, out)
	}
	if run := waitRun(t, h.app, h.tenant, out["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install %s (%s): a refused webhook must not fail it", run.Status, run.Error)
	}
	_, token, _ := strings.Cut(out["webhookUrl"].(string), "?token=")
	wh := h.webhooks(out["id"].(string))
	reason, _ := wh["reason"].(string)
	if wh["status"] != "failing" || !strings.Contains(reason, "verify the URL") || !strings.Contains(reason, "HTTP 404") || token == "" || strings.Contains(reason, token) {
		t.Fatalf("webhooks %v, want failing with Mailchimp's reason and no token", wh)
	}
	if n := len(mc.Webhooks()); n != 0 {
		t.Fatalf("the audience holds %d webhooks", n)
	}
}
