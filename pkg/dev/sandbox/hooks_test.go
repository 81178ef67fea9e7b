package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// clock is the scheduler's clock, moved on by the test.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type hooksStack struct {
	t      *testing.T
	app    *sandbox.App
	c      client
	key    string
	tenant string
	clock  *clock
}

func startHooksStack(t *testing.T) *hooksStack {
	t.Helper()
	h := &hooksStack{t: t, clock: &clock{}}
	s := stacktest.New(t)
	sealer, err := seal.FromEnv(func(string) string { return seal.NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	h.app, err = sandbox.Start(context.Background(), sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: sealer, PageWorkers: 2, SchedulerNow: h.clock.now,
		Names: awsenv.Names{Table: s.Table, PagesQueue: path.Base(s.PagesQueueURL), OutboxQueue: path.Base(s.OutboxQueueURL)},
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
	h.key, h.tenant = h.c.newTenant("hooks")
	return h
}

// create makes a connection with pasted keys (active at once) and waits
// for its install sync.
func (h *hooksStack) create(platform string, cfg map[string]string) map[string]any {
	h.t.Helper()
	code, out := h.c.call("POST", "/v1/connections", h.key, map[string]any{"platform": platform, "consentMode": "inferred", "defaultRegion": "AU", "config": cfg})
	if code != 201 || out["syncId"] == nil {
		h.t.Fatalf("%s: create %d %v", platform, code, out)
	}
	if wh, _ := out["webhooks"].(map[string]any); wh == nil || wh["status"] != "ok" || wh["checkedAt"] == nil {
		h.t.Fatalf("%s: created with webhooks %v, want ok with the time of the check", platform, out["webhooks"])
	}
	if run := waitRun(h.t, h.app, h.tenant, out["syncId"].(string)); run.Status != store.RunCompleted {
		h.t.Fatalf("%s: install %s (%s)", platform, run.Status, run.Error)
	}
	return out
}

func (h *hooksStack) webhooks(id string) map[string]any {
	h.t.Helper()
	code, out := h.c.call("GET", "/v1/connections/"+id, h.key, nil)
	if code != 200 {
		h.t.Fatalf("GET connection: %d %v", code, out)
	}
	wh, _ := out["webhooks"].(map[string]any)
	return wh
}

// contactNamed reports whether a contact's name starts with name.
func (h *hooksStack) contactNamed(name string) bool {
	h.t.Helper()
	code, out := h.c.call("GET", "/v1/contacts?q="+url.QueryEscape(name), h.key, nil)
	if code != 200 {
		h.t.Fatalf("contacts: %d %v", code, out)
	}
	return len(out["items"].([]any)) > 0
}

// dailyCheck moves the scheduler's clock a day on and ticks.
func (h *hooksStack) dailyCheck() {
	h.t.Helper()
	h.clock.advance(25 * time.Hour)
	if _, err := h.app.Tick(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func shopifySubs(shop *shopifytest.Server, uri string) []string {
	var topics []string
	for _, s := range shop.Subscriptions() {
		if s.URI == uri {
			topics = append(topics, s.Topic)
		}
	}
	slices.Sort(topics)
	return topics
}

// TestHooks_ShopifySubscriptionsRegisteredDeliveredRepairedRemoved:
// activation subscribes the connection to every topic its handler takes,
// at its webhook URL; the shop's own signed delivery reaches the contact;
// disable removes them and enable re-creates them; a subscription the shop
// dropped is re-created by the daily check (repaired); delete removes
// them; app/uninstalled disconnects a connection.
func TestHooks_ShopifySubscriptionsRegisteredDeliveredRepairedRemoved(t *testing.T) {
	t.Parallel()
	h := startHooksStack(t)
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 5, Seed: 81, RestoreRate: 100000, MaxAvailable: 100000})
	t.Cleanup(shop.Close)
	cfg := map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": shopifytest.OAuthClientSecret,
		"apiBaseUrl": shop.URL(), "bulkOperations": "false"}
	conn := h.create("shopify", cfg)
	id, hookURL := conn["id"].(string), conn["webhookUrl"].(string)
	want := slices.Sorted(slices.Values(shopify.WebhookTopics))
	if got := shopifySubs(shop, hookURL); !slices.Equal(got, want) {
		t.Fatalf("the shop holds %v at %s, want %v", got, hookURL, want)
	}
	if n := len(shop.Subscriptions()); n != len(want) {
		t.Fatalf("the shop holds %d subscriptions, want %d", n, len(want))
	}

	// A customer changed in the shop reaches the contact through the
	// shop's own delivery.
	if n := shop.UpdateCustomer(1, time.Now(), func(first, last *string) { *first, *last = "Quintessa", "Hookfield" }); n != 1 {
		t.Fatalf("%d deliveries answered 2xx, want 1 (pending %d)", n, shop.Pending())
	}
	if !h.contactNamed("Quintessa") {
		t.Fatal("the delivered customers/update did not reach the contact")
	}

	// Disable removes our subscriptions; enable re-creates them.
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"enabled": false}); code != 200 {
		t.Fatalf("disable: %d %v", code, out)
	}
	if got := shopifySubs(shop, hookURL); len(got) != 0 {
		t.Fatalf("after disable the shop still holds %v", got)
	}
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"enabled": true}); code != 200 || out["webhooks"].(map[string]any)["status"] != "ok" {
		t.Fatalf("enable: %d %v", code, out)
	}
	if got := shopifySubs(shop, hookURL); !slices.Equal(got, want) {
		t.Fatalf("after enable the shop holds %v", got)
	}

	// The shop drops a subscription: the daily check re-creates it, and
	// only it (no duplicates).
	for _, s := range shop.Subscriptions() {
		if s.Topic == "CUSTOMERS_UPDATE" && !shop.DeleteSubscription(s.ID) {
			t.Fatal("delete in the fake")
		}
	}
	h.dailyCheck()
	if got := shopifySubs(shop, hookURL); !slices.Equal(got, want) {
		t.Fatalf("after the daily check the shop holds %v, want %v", got, want)
	}
	if wh := h.webhooks(id); wh["status"] != "repaired" {
		t.Fatalf("webhooks after the repair: %v", wh)
	}
	h.dailyCheck() // nothing missing: ok, nothing created
	if wh := h.webhooks(id); wh["status"] != "ok" || len(shop.Subscriptions()) != len(want) {
		t.Fatalf("webhooks after a clean check: %v, %d subscriptions", wh, len(shop.Subscriptions()))
	}

	// Delete removes them.
	if code, out := h.c.call("DELETE", "/v1/connections/"+id, h.key, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if n := len(shop.Subscriptions()); n != 0 {
		t.Fatalf("after delete the shop holds %d subscriptions", n)
	}

	// app/uninstalled disconnects the connection: data kept, no more
	// calls (sync now refused, the scheduler skips it).
	conn = h.create("shopify", cfg)
	id = conn["id"].(string)
	// Every shop's deliveries are signed with the one app secret: another
	// shop's app/uninstalled (its signed body names it) changes nothing.
	resp, err := shop.SendWebhook(context.Background(), conn["webhookUrl"].(string), shopifytest.OAuthClientSecret, "app/uninstalled",
		map[string]any{"id": 1, "name": "Other", "myshopify_domain": "other-shop.myshopify.com"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, out := h.c.call("GET", "/v1/connections/"+id, h.key, nil); resp.StatusCode != 400 || out["status"] != "active" {
		t.Fatalf("another shop's app/uninstalled: %d, then %d %v", resp.StatusCode, code, out)
	}
	if n := shop.Uninstall(); n != 1 {
		t.Fatalf("app/uninstalled answered 2xx %d times, want 1", n)
	}
	code, out := h.c.call("GET", "/v1/connections/"+id, h.key, nil)
	if code != 200 || out["status"] != "disconnected" {
		t.Fatalf("after app/uninstalled: %d %v", code, out)
	}
	if code, out := h.c.call("POST", "/v1/connections/"+id+"/syncs", h.key, nil); code != 409 || out["error"].(map[string]any)["code"] != "connection_disconnected" {
		t.Fatalf("sync now of a disconnected connection: %d %v", code, out)
	}
	if !h.contactNamed("Quintessa") {
		t.Fatal("the disconnected connection's contacts are gone")
	}
	var sum scheduler.Summary
	sum, err = h.app.Tick(context.Background())
	if err != nil || sum.Started != 0 || sum.WebhooksChecked != 0 {
		t.Fatalf("tick after the uninstall: %+v %v, want nothing started or checked", sum, err)
	}
}

// TestHooks_WooCommerceWebhooksRegisteredDeliveredRepairedRemoved: the
// same for WooCommerce, whose webhooks carry our secret, and whose store
// disables a failing webhook (re-activated by the daily check).
func TestHooks_WooCommerceWebhooksRegisteredDeliveredRepairedRemoved(t *testing.T) {
	t.Parallel()
	h := startHooksStack(t)
	woo := woocommercetest.NewServer(woocommercetest.Options{Customers: 5, Seed: 82})
	t.Cleanup(woo.Close)
	ck, cs := woo.Credentials()
	conn := h.create("woocommerce", map[string]string{"storeUrl": woo.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec-hooks-test"})
	id, hookURL := conn["id"].(string), conn["webhookUrl"].(string)
	check := func(when string) {
		t.Helper()
		var topics []string
		for _, w := range woo.Webhooks() {
			if w.DeliveryURL != hookURL || w.Status != "active" || woo.WebhookSecret(w.ID) != "whsec-hooks-test" {
				t.Fatalf("%s: webhook %+v (secret ours: %v)", when, w, woo.WebhookSecret(w.ID) == "whsec-hooks-test")
			}
			topics = append(topics, w.Topic)
		}
		slices.Sort(topics)
		if want := slices.Sorted(slices.Values(woocommerce.WebhookTopics)); !slices.Equal(topics, want) {
			t.Fatalf("%s: the store holds %v, want %v", when, topics, want)
		}
	}
	check("after create")

	if n := woo.UpdateCustomer(1, time.Now(), func(c *woocommerce.Customer) { c.FirstName, c.LastName = "Wilhelmina", "Hookwood" }); n != 1 {
		t.Fatalf("%d deliveries answered 2xx, want 1 (pending %d)", n, woo.Pending())
	}
	if !h.contactNamed("Wilhelmina") {
		t.Fatal("the delivered customer.updated did not reach the contact")
	}

	// A new webhook secret: the store's webhooks are made again with it.
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"config": map[string]string{"webhookSecret": "whsec-rotated"}}); code != 200 {
		t.Fatalf("rotate: %d %v", code, out)
	}
	for _, w := range woo.Webhooks() {
		if woo.WebhookSecret(w.ID) != "whsec-rotated" {
			t.Fatalf("webhook %d still signs with the old secret", w.ID)
		}
	}
	if n := woo.UpdateCustomer(1, time.Now().Add(time.Minute), func(c *woocommerce.Customer) { c.FirstName = "Rotatia" }); n != 1 || !h.contactNamed("Rotatia") {
		t.Fatalf("a delivery after the rotation: %d answered 2xx", n)
	}
	if code, out := h.c.call("PATCH", "/v1/connections/"+id, h.key, map[string]any{"config": map[string]string{"webhookSecret": "whsec-hooks-test"}}); code != 200 {
		t.Fatalf("rotate back: %d %v", code, out)
	}
	check("after rotating back")

	// The store disabled one (failures) and lost another: the daily check
	// re-activates and re-creates them.
	hooks := woo.Webhooks()
	woo.SetWebhookStatus(hooks[0].ID, "disabled")
	woo.DeleteWebhook(hooks[1].ID)
	h.dailyCheck()
	check("after the daily check")
	if wh := h.webhooks(id); wh["status"] != "repaired" {
		t.Fatalf("webhooks after the repair: %v", wh)
	}

	if code, out := h.c.call("DELETE", "/v1/connections/"+id, h.key, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if n := len(woo.Webhooks()); n != 0 {
		t.Fatalf("after delete the store holds %d webhooks", n)
	}

	// A draft registers nothing; its activation does.
	code, out := h.c.call("POST", "/v1/connections", h.key, map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU", "status": "draft",
		"config": map[string]string{"storeUrl": woo.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec-hooks-test"}})
	if code != 201 || out["status"] != "draft" || out["webhooks"] != nil || len(woo.Webhooks()) != 0 {
		t.Fatalf("draft: %d %v, %d webhooks", code, out, len(woo.Webhooks()))
	}
	id, hookURL = out["id"].(string), out["webhookUrl"].(string)
	if code, out := h.c.call("POST", "/v1/connections/"+id+"/activate", h.key, nil); code != 202 {
		t.Fatalf("activate: %d %v", code, out)
	}
	check("after activation")
	if wh := h.webhooks(id); wh["status"] != "ok" {
		t.Fatalf("webhooks after activation: %v", wh)
	}
}

// TestHooks_RefusedSubscriptionsShowFailingAndNotifyOnce: a store that
// refuses our webhooks does not fail the install; the connection shows
// webhooks failing with the reason, and connection.webhooks_failing is
// made once while it stays failing.
func TestHooks_RefusedSubscriptionsShowFailingAndNotifyOnce(t *testing.T) {
	t.Parallel()
	h := startHooksStack(t)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(rcv.Close)
	if code, out := h.c.call("PUT", "/v1/notifications/endpoint", h.key, map[string]string{"url": rcv.URL + "/events"}); code != 200 && code != 201 {
		t.Fatalf("notification endpoint: %d %v", code, out)
	}
	woo := woocommercetest.NewServer(woocommercetest.Options{Customers: 3, Seed: 83, RefuseWebhooks: true})
	t.Cleanup(woo.Close)
	ck, cs := woo.Credentials()
	code, out := h.c.call("POST", "/v1/connections", h.key, map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": woo.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec-refused"}})
	if code != 201 || out["syncId"] == nil {
		t.Fatalf("create: %d %v", code, out)
	}
	if run := waitRun(t, h.app, h.tenant, out["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install %s (%s): a refused webhook must not fail it", run.Status, run.Error)
	}
	id := out["id"].(string)
	wh := h.webhooks(id)
	if wh["status"] != "failing" || !strings.Contains(wh["reason"].(string), "unauthorized") || strings.Contains(wh["reason"].(string), cs) {
		t.Fatalf("webhooks %v, want failing with the reason", wh)
	}
	h.dailyCheck()
	h.dailyCheck()
	if wh := h.webhooks(id); wh["status"] != "failing" {
		t.Fatalf("webhooks after two checks: %v", wh)
	}
	code, notes := h.c.call("GET", "/v1/notifications", h.key, nil)
	if code != 200 {
		t.Fatalf("notifications: %d %v", code, notes)
	}
	n := 0
	for _, it := range notes["items"].([]any) {
		if it.(map[string]any)["type"] == "connection.webhooks_failing" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d connection.webhooks_failing notifications, want 1: %v", n, notes)
	}
}
