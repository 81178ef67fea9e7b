package sandbox_test

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// Issue 17's acceptance for the platforms whose webhooks we register
// through their install: authorise (Shopify's authorization-code grant,
// WooCommerce's key-granting page) → options → PATCH the choices →
// activate → the platform holds exactly our subscriptions at the
// connection's URL → a customer changed in the platform reaches the
// contact through the platform's own delivery → delete → none left.

// hooks views the OAuth stack as a hooks stack (contactNamed, webhooks);
// its scheduler clock is not the sandbox's, so no dailyCheck.
func (o *oauthStack) hooks() *hooksStack {
	return &hooksStack{t: o.t, app: o.app, c: o.c, key: o.key, tenant: o.tenant}
}

// optionChoices returns the choices GET /options offers under name, by
// choice name.
func optionChoices(t *testing.T, opts map[string]any, name string) map[string]map[string]any {
	t.Helper()
	list, _ := opts[name].(map[string]any)
	items, _ := list["items"].([]any)
	if len(items) == 0 {
		t.Fatalf("options offer no %s: %v", name, opts)
	}
	out := map[string]map[string]any{}
	for _, it := range items {
		ch := it.(map[string]any)
		out[ch["name"].(string)] = ch
	}
	return out
}

// activated activates a configured draft, waits for its install sync and
// returns the connection as the API shows it.
func (o *oauthStack) activated(id string) (store.Run, map[string]any) {
	o.t.Helper()
	code, out := o.c.call("POST", "/v1/connections/"+id+"/activate", o.key, nil)
	if code != 202 || out["syncId"] == nil {
		o.t.Fatalf("activate: %d %v", code, out)
	}
	run := waitRun(o.t, o.app, o.tenant, out["syncId"].(string))
	if run.Status != store.RunCompleted || run.Trigger != store.TriggerInstall {
		o.t.Fatalf("install %s (%s)", run.Status, run.Error)
	}
	code, conn := o.c.call("GET", "/v1/connections/"+id, o.key, nil)
	if code != 200 || conn["status"] != "active" {
		o.t.Fatalf("after activation: %d %v", code, conn)
	}
	if wh, _ := conn["webhooks"].(map[string]any); wh == nil || wh["status"] != "ok" || wh["checkedAt"] == nil {
		o.t.Fatalf("webhooks after activation: %v, want ok with the time of the check", conn["webhooks"])
	}
	return run, conn
}

// contacts lists the tenant's contacts matching query (url-encoded pairs).
func (o *oauthStack) contacts(query url.Values) []any {
	o.t.Helper()
	code, out := o.c.call("GET", "/v1/contacts?"+query.Encode(), o.key, nil)
	if code != 200 {
		o.t.Fatalf("contacts %v: %d %v", query, code, out)
	}
	return out["items"].([]any)
}

// TestHooksInstall_ShopifyOAuthSubscribesDeliversAndRemoves: a shop
// installed through Shopify's consent page offers its customer tags and
// segments; the chosen ones scope the install; activation subscribes the
// connection to every topic of shopify.WebhookTopics at its URL, and
// nothing else; the shop's own customers/update delivery (signed with the
// app's secret, which the install stored) reaches the contact; after
// app/uninstalled a new authorisation of the connection subscribes it
// again (webhooks ok, not repaired: the uninstall removed them); delete
// removes every subscription.
func TestHooksInstall_ShopifyOAuthSubscribesDeliversAndRemoves(t *testing.T) {
	t.Parallel()
	o := startOAuthStack(t)
	h := o.hooks()
	shop := o.shop
	shop.SetTags(1, []string{"SMS Club"})
	shop.SetTags(2, []string{"SMS Club", "Wholesale"})
	segment := shop.AddSegment("Big spenders", 3, 4)

	id := o.install(map[string]any{"platform": "shopify", "shop": shop.Domain()})
	if n := len(shop.Subscriptions()); n != 0 {
		t.Fatalf("an authorised draft subscribed to %d topics", n)
	}
	code, opts := o.c.call("GET", "/v1/connections/"+id+"/options", o.key, nil)
	if code != 200 {
		t.Fatalf("options: %d %v", code, opts)
	}
	tags := optionChoices(t, opts, "tags")
	if tags["SMS Club"] == nil || tags["Wholesale"] == nil {
		t.Fatalf("options do not offer the shop's customer tags: %v", opts["tags"])
	}
	if seg := optionChoices(t, opts, "segments")["Big spenders"]; seg == nil || seg["id"] != segment {
		t.Fatalf("options do not offer the segment %s: %v", segment, opts["segments"])
	}
	if code, out := o.c.call("PATCH", "/v1/connections/"+id, o.key, map[string]any{"consentMode": "inferred", "defaultRegion": "AU",
		"selectedTags": []string{"SMS Club", "Big spenders"}}); code != 200 || out["status"] != "draft" {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	if n := len(shop.Subscriptions()); n != 0 {
		t.Fatalf("a configured draft subscribed to %d topics", n)
	}
	// The choice scopes the install: the tag's two customers and the
	// segment's two members, each in its group.
	run, conn := o.activated(id)
	if run.Counts.Seen != 4 {
		t.Fatalf("the install saw %d records, want the 4 customers chosen", run.Counts.Seen)
	}
	inGroup := func(group string) int { return len(o.contacts(url.Values{"group": {group}})) }
	if all, club, big := len(o.contacts(url.Values{})), inGroup("Shopify - SMS Club"), inGroup("Shopify - Big spenders"); all != 4 || club != 2 || big != 2 {
		t.Fatalf("%d contacts, %d in the tag's group, %d in the segment's, want 4, 2, 2", all, club, big)
	}
	hookURL := conn["webhookUrl"].(string)
	want := slices.Sorted(slices.Values(shopify.WebhookTopics))
	if got := shopifySubs(shop, hookURL); !slices.Equal(got, want) {
		t.Fatalf("the shop holds %v at %s, want %v", got, hookURL, want)
	}
	if n := len(shop.Subscriptions()); n != len(want) {
		t.Fatalf("the shop holds %d subscriptions, want %d", n, len(want))
	}

	// A customer changed in the shop reaches the contact through the
	// shop's own delivery.
	if n := shop.UpdateCustomer(1, time.Now(), func(first, last *string) { *first, *last = "Ottoline", "Grantwell" }); n != 1 {
		t.Fatalf("%d deliveries answered 2xx, want 1 (pending %d)", n, shop.Pending())
	}
	if !h.contactNamed("Ottoline") {
		t.Fatal("the delivered customers/update did not reach the contact")
	}
	if got := o.contacts(url.Values{"q": {"Ottoline"}, "group": {"Shopify - SMS Club"}}); len(got) != 1 || len(o.contacts(url.Values{})) != 4 {
		t.Fatalf("the delivery did not land on the tagged customer's contact: %v", got)
	}

	// The merchant uninstalls the app (the shop delivers app/uninstalled
	// and drops the app's subscriptions) and installs it again from the
	// hub: the same connection is active again and subscribed again.
	if n := shop.Uninstall(); n != 1 {
		t.Fatalf("app/uninstalled answered 2xx %d times, want 1", n)
	}
	if code, out := o.c.call("GET", "/v1/connections/"+id, o.key, nil); code != 200 || out["status"] != "disconnected" {
		t.Fatalf("after app/uninstalled: %d %v", code, out)
	}
	if again := o.install(map[string]any{"platform": "shopify", "shop": shop.Domain(), "connectionId": id}); again != id {
		t.Fatalf("the re-install landed on %s, want %s", again, id)
	}
	if code, out := o.c.call("GET", "/v1/connections/"+id, o.key, nil); code != 200 || out["status"] != "active" {
		t.Fatalf("after the re-install: %d %v", code, out)
	}
	if wh := h.webhooks(id); wh["status"] != "ok" {
		t.Fatalf("webhooks after the re-install: %v", wh)
	}
	if got := shopifySubs(shop, hookURL); !slices.Equal(got, want) || len(shop.Subscriptions()) != len(want) {
		t.Fatalf("after the re-install the shop holds %v at %s (%d in all), want %v", got, hookURL, len(shop.Subscriptions()), want)
	}
	if n := shop.UpdateCustomer(2, time.Now(), func(first, last *string) { *first, *last = "Peregrine", "Reinstall" }); n != 1 || !h.contactNamed("Peregrine") {
		t.Fatalf("a delivery after the re-install: %d answered 2xx (pending %d)", n, shop.Pending())
	}

	if code, out := o.c.call("DELETE", "/v1/connections/"+id, o.key, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if subs := shop.Subscriptions(); len(subs) != 0 {
		t.Fatalf("after delete the shop holds %v", subs)
	}
}

// TestHooksInstall_WooCommerceKeyGrantSubscribesDeliversAndRemoves: a
// store installed through /wc-auth/v1/authorize (the store POSTs the keys
// to our callback) offers the roles and meta keys its customers carry,
// counted; the chosen meta keys configure the connection; activation
// creates one webhook per topic of woocommerce.WebhookTopics at the
// connection's URL, signed with the secret the install generated, and
// nothing else; the store's own customer.updated delivery reaches the
// contact (its groups read from the chosen meta key); delete removes every
// webhook.
func TestHooksInstall_WooCommerceKeyGrantSubscribesDeliversAndRemoves(t *testing.T) {
	t.Parallel()
	o := startOAuthStack(t)
	h := o.hooks()
	// A store as one runs: SMS consent in a meta key, tags from a tagging
	// plugin in another, every fifth customer a wholesale customer.
	const consentKey, groupsKey = "sms_opt_in", "wc_customer_tags"
	woo := woocommercetest.NewServer(woocommercetest.Options{Customers: storeSize, Seed: 86, ConsentMetaKey: consentKey, GroupsMetaKey: groupsKey, RoleEvery: 5})
	t.Cleanup(woo.Close)
	roles, keys := map[string]int{}, map[string]int{}
	for i := range int64(storeSize) {
		c, _ := woo.Customer(i + 1)
		roles[c.Role]++
		for _, m := range c.MetaData {
			keys[m.Key]++
		}
	}

	id := o.install(map[string]any{"platform": "woocommerce", "storeUrl": woo.URL()})
	if got := woo.AuthDeliveries(); !slices.Equal(got, []int{200}) {
		t.Fatalf("the store's key deliveries were answered %v, want one 200", got)
	}
	if n := len(woo.Webhooks()); n != 0 {
		t.Fatalf("an authorised draft created %d webhooks", n)
	}
	code, opts := o.c.call("GET", "/v1/connections/"+id+"/options", o.key, nil)
	if code != 200 {
		t.Fatalf("options: %d %v", code, opts)
	}
	counts := func(name string) map[string]int {
		out := map[string]int{}
		for n, ch := range optionChoices(t, opts, name) {
			c, _ := ch["count"].(float64)
			out[n] = int(c)
		}
		return out
	}
	if got := counts("roles"); !maps.Equal(got, roles) {
		t.Fatalf("options offer the roles %v, the store's customers have %v", got, roles)
	}
	if got := counts("metaKeys"); !maps.Equal(got, keys) {
		t.Fatalf("options offer the meta keys %v, the store's customers have %v", got, keys)
	}
	if opts["sampled"] != float64(storeSize) {
		t.Fatalf("options sampled %v customers, want %d", opts["sampled"], storeSize)
	}
	if code, out := o.c.call("PATCH", "/v1/connections/"+id, o.key, map[string]any{"consentMode": "explicit", "defaultRegion": "AU",
		"config": map[string]string{"smsConsentMetaKey": consentKey, "groupsMetaKey": groupsKey}}); code != 200 || out["status"] != "draft" {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	if n := len(woo.Webhooks()); n != 0 {
		t.Fatalf("a configured draft created %d webhooks", n)
	}
	run, conn := o.activated(id)
	if run.Counts.Seen != storeSize {
		t.Fatalf("the install saw %d records, want %d", run.Counts.Seen, storeSize)
	}
	hookURL := conn["webhookUrl"].(string)
	_, cfg := o.storedConfig(id)
	if cfg["webhookSecret"] == "" || cfg["smsConsentMetaKey"] != consentKey || cfg["groupsMetaKey"] != groupsKey {
		t.Fatalf("stored config: secret set %v, meta keys %q %q", cfg["webhookSecret"] != "", cfg["smsConsentMetaKey"], cfg["groupsMetaKey"])
	}
	var topics []string
	for _, w := range woo.Webhooks() {
		if w.DeliveryURL != hookURL || w.Status != "active" || woo.WebhookSecret(w.ID) != cfg["webhookSecret"] {
			t.Fatalf("webhook %+v (secret ours: %v), want active at %s", w, woo.WebhookSecret(w.ID) == cfg["webhookSecret"], hookURL)
		}
		topics = append(topics, w.Topic)
	}
	slices.Sort(topics)
	if want := slices.Sorted(slices.Values(woocommerce.WebhookTopics)); !slices.Equal(topics, want) {
		t.Fatalf("the store holds %v, want %v", topics, want)
	}

	// A customer changed in the store reaches the contact through the
	// store's own delivery, with the groups of the chosen meta key.
	if n := woo.UpdateCustomer(1, time.Now(), func(c *woocommerce.Customer) {
		c.FirstName, c.LastName = "Rosalind", "Keygrant"
		for i, m := range c.MetaData {
			if m.Key == groupsKey {
				c.MetaData[i].Value = json.RawMessage(`["Hooked"]`)
			}
		}
	}); n != 1 {
		t.Fatalf("%d deliveries answered 2xx, want 1 (pending %d)", n, woo.Pending())
	}
	if !h.contactNamed("Rosalind") {
		t.Fatal("the delivered customer.updated did not reach the contact")
	}
	got := o.contacts(url.Values{"q": {"Rosalind"}})
	if len(got) != 1 || !slices.Equal(got[0].(map[string]any)["groups"].([]any), []any{"WooCommerce - Hooked"}) {
		t.Fatalf("contact after the delivery: %v, want the groups of the chosen meta key", got)
	}

	if code, out := o.c.call("DELETE", "/v1/connections/"+id, o.key, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if hooks := woo.Webhooks(); len(hooks) != 0 {
		t.Fatalf("after delete the store holds %v", hooks)
	}
}
