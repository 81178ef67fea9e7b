package hubapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/apifn"
	"github.com/contactsync/contactsync/pkg/compose/bulksyncfn"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// composedAPI is the Hub API as the composition root builds it for the
// api function (its platform calls included), with the bulk-sync
// function polling the pages queue, on the embedded stack; fakes on
// loopback allowed.
func composedAPI(t *testing.T) *api {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	env := compose.Env{DynamoDB: s.DynamoDB, SQS: s.SQS, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/",
		AllowPrivateHosts: true, Names: awsenv.Names{Table: s.Table, PagesQueueURL: s.PagesQueueURL, OutboxQueueURL: s.OutboxQueueURL, PagesDLQURL: s.PagesDLQURL}}
	bs := bulksyncfn.New(env.For("bulksync"))
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: bs.Handle, Concurrency: 2, BatchSize: 5, RetryDelay: time.Second}).Run(ctx)
	return &api{t: t, h: apifn.New(env.For("api")), st: store.New(s.DynamoDB, s.Table)}
}

func connJSON(platform string, cfg map[string]string, extra string) string {
	b, _ := json.Marshal(cfg)
	return fmt.Sprintf(`{"platform":%q,"consentMode":"inferred","defaultRegion":"AU","enabled":false%s,"config":%s}`, platform, extra, b)
}

// platformFakes are one fake of each platform, with their good configs.
type platformFakes struct {
	woo  *woocommercetest.Server
	shop *shopifytest.Server
	mc   *mailchimptest.Server
	kl   *klaviyotest.Server
}

func newPlatformFakes(t *testing.T) *platformFakes {
	f := &platformFakes{
		woo:  woocommercetest.NewServer(woocommercetest.Options{Customers: 30, Seed: 3, RoleEvery: 4, GroupsMetaKey: "_wc_customer_tags"}),
		shop: shopifytest.NewServer(shopifytest.Options{Customers: 40, Seed: 3}),
		mc:   mailchimptest.NewServer(mailchimptest.Options{Members: 40, Seed: 3, OtherAudiences: []string{"Wholesale"}}),
		kl:   klaviyotest.NewServer(klaviyotest.Options{Profiles: 20, Seed: 3, Lists: 3, Segments: 2}),
	}
	t.Cleanup(func() { f.woo.Close(); f.shop.Close(); f.mc.Close(); f.kl.Close() })
	return f
}

func (f *platformFakes) config(platform string) map[string]string {
	switch platform {
	case "woocommerce":
		k, s := f.woo.Credentials()
		return map[string]string{"storeUrl": f.woo.URL(), "consumerKey": k, "consumerSecret": s, "webhookSecret": "whsec_woo"}
	case "shopify":
		return map[string]string{"shopDomain": f.shop.Domain(), "accessToken": f.shop.AccessToken(), "webhookSecret": "whsec_shop", "apiBaseUrl": f.shop.URL()}
	case "mailchimp":
		return map[string]string{"apiKey": f.mc.APIKey(), "audienceId": f.mc.AudienceID(), "apiBaseUrl": f.mc.URL()}
	default:
		return map[string]string{"privateApiKey": f.kl.APIKey(), "apiBaseUrl": f.kl.URL()}
	}
}

// with returns cfg with key set to value.
func with(cfg map[string]string, key, value string) map[string]string {
	out := map[string]string{}
	for k, v := range cfg {
		out[k] = v
	}
	out[key] = value
	return out
}

func (a *api) connectionCount(key string) int {
	a.t.Helper()
	code, out := a.do("GET", "/v1/connections", key, "", nil)
	if code != http.StatusOK {
		a.t.Fatalf("list connections: %d %v", code, out)
	}
	return len(out["items"].([]any))
}

// errorOf returns the error object of an answer.
func errorOf(out map[string]any) map[string]any {
	e, _ := out["error"].(map[string]any)
	return e
}

func TestAPI_CreateWithRejectedCredentialsIs422AndStoresNothing(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	f := newPlatformFakes(t)
	cases := []struct {
		platform, field, bad, reason string
	}{
		{"woocommerce", "consumerKey", "ck_0123456789abcdef0123456789abcdef01234567", "woocommerce_rest_cannot_view"},
		{"shopify", "accessToken", "shpat_99999999999999999999999999999999", "Invalid API key or access token"},
		{"mailchimp", "apiKey", "ffffffffffffffffffffffffffffffff-us6", "API Key Invalid"},
		{"mailchimp", "audienceId", "nosuchlist", "audience nosuchlist not found"},
		{"klaviyo", "privateApiKey", "pk_live_0123456789abcdef0123456789", "not_authenticated"},
	}
	for _, tc := range cases {
		body := connJSON(tc.platform, with(f.config(tc.platform), tc.field, tc.bad), "")
		code, out := a.do("POST", "/v1/connections", key, body, nil)
		raw, _ := json.Marshal(out)
		e := errorOf(out)
		if code != http.StatusUnprocessableEntity || e["code"] != "credentials_rejected" || !strings.Contains(fmt.Sprint(e["reason"]), tc.reason) {
			t.Errorf("%s with a bad %s: %d %s, want 422 credentials_rejected naming %q", tc.platform, tc.field, code, raw, tc.reason)
		}
		if tc.field != "audienceId" && strings.Contains(string(raw), tc.bad) {
			t.Errorf("%s: the answer echoes the rejected secret: %s", tc.platform, raw)
		}
	}
	// A host that does not answer: 502, nothing stored.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	code, out := a.do("POST", "/v1/connections", key, connJSON("woocommerce", with(f.config("woocommerce"), "storeUrl", gone.URL), ""), nil)
	if code != http.StatusBadGateway || errorOf(out)["code"] != "platform_unreachable" || errorOf(out)["reason"] == "" {
		t.Errorf("unreachable store: %d %v, want 502 platform_unreachable with a reason", code, out)
	}
	if n := a.connectionCount(key); n != 0 {
		t.Fatalf("%d connections stored after refused creates, want 0", n)
	}

	// The good credentials of each platform are accepted.
	for _, p := range []string{"woocommerce", "shopify", "mailchimp", "klaviyo"} {
		if code, out := a.do("POST", "/v1/connections", key, connJSON(p, f.config(p), ""), nil); code != http.StatusCreated {
			t.Fatalf("%s with good credentials: %d %v", p, code, out)
		}
	}
	// A PATCH that changes credentials is checked too; the stored
	// connection keeps the good ones.
	code, list := a.do("GET", "/v1/connections", key, "", nil)
	var wooID string
	for _, it := range list["items"].([]any) {
		if c := it.(map[string]any); c["platform"] == "woocommerce" {
			wooID = c["id"].(string)
		}
	}
	if code != http.StatusOK || wooID == "" {
		t.Fatalf("list: %d %v", code, list)
	}
	code, out = a.do("PATCH", "/v1/connections/"+wooID, key, `{"label":"Renamed","config":{"consumerSecret":"cs_wrong"}}`, nil)
	if code != http.StatusUnprocessableEntity || errorOf(out)["code"] != "credentials_rejected" {
		t.Fatalf("patch with a bad secret: %d %v", code, out)
	}
	if code, got := a.do("GET", "/v1/connections/"+wooID, key, "", nil); code != http.StatusOK || got["label"] != "WooCommerce" {
		t.Fatalf("after a refused patch: %d %v, want the connection unchanged", code, got)
	}
	// A patch that changes no credential makes no platform call.
	before := f.woo.Requests()
	if code, out := a.do("PATCH", "/v1/connections/"+wooID, key, `{"label":"Renamed"}`, nil); code != http.StatusOK || f.woo.Requests() != before {
		t.Fatalf("label patch: %d %v, %d store requests", code, out, f.woo.Requests()-before)
	}
}

// choiceNames returns a choices list's names and counts by name.
func choiceNames(t *testing.T, out map[string]any, list string) (map[string]int, bool) {
	t.Helper()
	l, ok := out[list].(map[string]any)
	if !ok {
		t.Fatalf("options have no %s: %v", list, out)
	}
	names := map[string]int{}
	for _, it := range l["items"].([]any) {
		c := it.(map[string]any)
		n, _ := c["count"].(float64)
		names[c["name"].(string)] = int(n)
	}
	return names, l["truncated"] == true
}

func TestAPI_InstallOptionsOfEachPlatform(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	f := newPlatformFakes(t)
	f.mc.AddSavedSegment("Signed up this month", 7)
	for i := range 1001 {
		f.shop.AddSegment(fmt.Sprintf("Segment %04d", i))
	}
	ids := map[string]string{}
	for _, p := range []string{"woocommerce", "shopify", "mailchimp", "klaviyo"} {
		code, out := a.do("POST", "/v1/connections", key, connJSON(p, f.config(p), ""), nil)
		if code != http.StatusCreated {
			t.Fatalf("%s: %d %v", p, code, out)
		}
		ids[p] = out["id"].(string)
	}
	options := func(p string) map[string]any {
		t.Helper()
		code, out := a.do("GET", "/v1/connections/"+ids[p]+"/options", key, "", nil)
		if code != http.StatusOK || out["platform"] != p {
			t.Fatalf("%s options: %d %v", p, code, out)
		}
		return out
	}

	// WooCommerce: roles and meta keys seen, counted in the sample.
	woo := options("woocommerce")
	roles, _ := choiceNames(t, woo, "roles")
	if roles["wholesale_customer"] != 30/4 || roles["customer"] != 30-30/4 {
		t.Errorf("woocommerce roles = %v, want 7 wholesale_customer and 23 customer", roles)
	}
	tagged := 0
	for i := range 30 {
		if len(fakestore.NewPerson(3, i).Tags) > 0 {
			tagged++
		}
	}
	if keys, _ := choiceNames(t, woo, "metaKeys"); keys["_wc_customer_tags"] != tagged || woo["sampled"] != float64(30) {
		t.Errorf("woocommerce meta keys = %v (sampled %v), want _wc_customer_tags on %d", keys, woo["sampled"], tagged)
	}

	// Mailchimp: audiences, tags and saved segments with member counts.
	mc := options("mailchimp")
	if aud, _ := choiceNames(t, mc, "audiences"); len(aud) != 2 || aud["Demo audience"] != 40 {
		t.Errorf("mailchimp audiences = %v, want the audience (40 members) and Wholesale", aud)
	}
	wantTags := map[string]int{}
	for i := range 40 {
		for _, tag := range fakestore.NewPerson(3, i).Tags {
			wantTags[tag]++
		}
	}
	if tags, _ := choiceNames(t, mc, "tags"); fmt.Sprint(tags) != fmt.Sprint(wantTags) {
		t.Errorf("mailchimp tags = %v, want %v", tags, wantTags)
	}
	if segs, _ := choiceNames(t, mc, "segments"); len(segs) != 1 || segs["Signed up this month"] != 7 {
		t.Errorf("mailchimp segments = %v", segs)
	}

	// Klaviyo: lists and segments.
	kl := options("klaviyo")
	lists, _ := choiceNames(t, kl, "lists")
	segs, _ := choiceNames(t, kl, "segments")
	if len(lists) != 3 || len(segs) != 2 {
		t.Errorf("klaviyo lists %v segments %v, want 3 and 2", lists, segs)
	}

	// Shopify: the customers' tags, and segments cut at 1,000.
	shop := options("shopify")
	shopTags := map[string]bool{}
	for i := range 40 {
		for _, tag := range fakestore.NewPerson(3, i).Tags {
			shopTags[tag] = true
		}
	}
	if tags, truncated := choiceNames(t, shop, "tags"); len(tags) != len(shopTags) || truncated {
		t.Errorf("shopify tags = %v, want the %d tags customers carry", tags, len(shopTags))
	}
	if segs, truncated := choiceNames(t, shop, "segments"); len(segs) != 1000 || !truncated {
		t.Errorf("shopify segments: %d (truncated %v), want 1000 and truncated", len(segs), truncated)
	}

	// Another tenant cannot read them; an unknown connection is 404.
	other := a.tenant()
	if code, _ := a.do("GET", "/v1/connections/"+ids["woocommerce"]+"/options", other, "", nil); code != http.StatusNotFound {
		t.Errorf("another tenant's options: %d, want 404", code)
	}
}

func TestAPI_InstallOptionsPlatformFailureIs502WithTheReason(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	// The store accepts the check (request 1) and refuses the listing
	// (request 2).
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 3, FailEvery: 2, FailStatus: http.StatusUnauthorized})
	defer shop.Close()
	k, s := shop.Credentials()
	code, out := a.do("POST", "/v1/connections", key, connJSON("woocommerce",
		map[string]string{"storeUrl": shop.URL(), "consumerKey": k, "consumerSecret": s, "webhookSecret": "w"}, ""), nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	code, out = a.do("GET", "/v1/connections/"+out["id"].(string)+"/options", key, "", nil)
	raw, _ := json.Marshal(out)
	if code != http.StatusBadGateway || errorOf(out)["code"] != "platform_rejected" || errorOf(out)["reason"] == "" || strings.Contains(string(raw), s) {
		t.Fatalf("options of a refusing store: %d %s, want 502 platform_rejected with a reason and no secret", code, raw)
	}
}

// TestInstall_WooCommerceRolesMetaGroupsAndEveryPastGuest: a store whose
// customers carry roles and a tags meta key, and more guest orders
// (interleaved with registered customers' orders) than several pages
// hold: every customer gets its role and tags as groups, every past
// guest lands in "WooCommerce - Guests", and a customer who loses its
// role and tags loses the groups on the next sync.
func TestInstall_WooCommerceRolesMetaGroupsAndEveryPastGuest(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	const customers, guests = 40, 260
	const seed = 21
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Guests: guests, CustomerOrders: guests, Seed: seed,
		RoleEvery: 5, GroupsMetaKey: "_wc_customer_tags"})
	defer shop.Close()
	k, s := shop.Credentials()
	code, conn := a.do("POST", "/v1/connections", key, `{"platform":"woocommerce","consentMode":"inferred","defaultRegion":"AU","config":`+
		mustJSON(map[string]string{"storeUrl": shop.URL(), "consumerKey": k, "consumerSecret": s, "webhookSecret": "w", "groupsMetaKey": "_wc_customer_tags"})+`}`, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, conn)
	}
	run := a.waitSync(key, conn["syncId"].(string))
	seen := 0.0
	for _, n := range run["counts"].(map[string]any) {
		seen += n.(float64)
	}
	if run["status"] != "completed" || seen != customers+guests {
		t.Fatalf("install = %v, want completed with %d records seen", run, customers+guests)
	}

	// The guests: every distinct valid identity among the guest orders.
	guestIDs := map[string]bool{}
	for i := range guests {
		p := fakestore.NewPerson(seed, customers+i)
		ph, _ := phone.Normalize(p.Phone, p.Country, "AU")
		em, _ := email.Normalize(p.Email)
		if ph != "" || em != "" {
			guestIDs[ph+"|"+em] = true
		}
	}
	if n := a.groupSize(key, "WooCommerce - Guests"); n < len(guestIDs)*9/10 || n > len(guestIDs) {
		t.Errorf("%d contacts in WooCommerce - Guests, want the %d guests (some may share a contact with a customer)", n, len(guestIDs))
	}
	// The last guests (on the last order page) are there.
	checked := 0
	for i := guests - 1; i >= 0 && checked < 3; i-- {
		p := fakestore.NewPerson(seed, customers+i)
		ph, _ := phone.Normalize(p.Phone, p.Country, "AU")
		if em, _ := email.Normalize(p.Email); em != "" && ph != "" {
			checked++
			if !a.contactHasGroup(key, em, "WooCommerce - Guests") {
				t.Errorf("guest order %d (on the last page) is not in WooCommerce - Guests", i+1)
			}
		}
	}

	// Roles and tags.
	if n := a.groupSize(key, "WooCommerce - wholesale_customer"); n != customers/5 {
		t.Errorf("%d contacts in WooCommerce - wholesale_customer, want %d", n, customers/5)
	}
	var tagged fakestore.Person
	tagCount := map[string]int{}
	taggedID, taggedEmail := int64(0), ""
	for i := range customers {
		p := fakestore.NewPerson(seed, i)
		for _, tag := range p.Tags {
			tagCount[tag]++
		}
		ph, _ := phone.Normalize(p.Phone, p.Country, "AU")
		if em, _ := email.Normalize(p.Email); taggedID == 0 && ph != "" && em != "" && len(p.Tags) > 0 && (i+1)%5 == 0 {
			tagged, taggedID, taggedEmail = p, int64(i+1), em
		}
	}
	for tag, n := range tagCount {
		if got := a.groupSize(key, "WooCommerce - "+tag); got < n*9/10 || got > n {
			t.Errorf("group WooCommerce - %s has %d contacts, want about %d", tag, got, n)
		}
	}
	if taggedID == 0 {
		t.Fatal("the fake has no wholesale customer with tags and a phone")
	}
	if !a.contactHasGroup(key, taggedEmail, "WooCommerce - wholesale_customer") || !a.contactHasGroup(key, taggedEmail, "WooCommerce - "+tagged.Tags[0]) {
		t.Fatalf("customer %d lacks its role or tag group", taggedID)
	}

	// The customer loses its role and tags: the next sync removes both.
	shop.Update(taggedID, time.Now(), func(c *woocommerce.Customer) {
		c.Role = woocommerce.DefaultRole
		c.MetaData = nil
	})
	code, started := a.do("POST", "/v1/connections/"+conn["id"].(string)+"/syncs", key, "", nil)
	if code != http.StatusAccepted {
		t.Fatalf("sync now: %d %v", code, started)
	}
	if again := a.waitSync(key, started["syncId"].(string)); again["status"] != "completed" {
		t.Fatalf("second sync = %v", again)
	}
	if a.contactHasGroup(key, taggedEmail, "WooCommerce - wholesale_customer") || a.contactHasGroup(key, taggedEmail, "WooCommerce - "+tagged.Tags[0]) {
		t.Errorf("customer %d kept a group it left", taggedID)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// groupSize counts the contacts GET /v1/contacts?group= lists.
func (a *api) groupSize(key, group string) int {
	a.t.Helper()
	n, cursor := 0, ""
	for {
		q := map[string]string{"group": group, "limit": "100"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		code, out := a.do("GET", "/v1/contacts", key, "", q)
		if code != http.StatusOK {
			a.t.Fatalf("list contacts of %s: %d %v", group, code, out)
		}
		n += len(out["items"].([]any))
		next, _ := out["nextCursor"].(string)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// contactHasGroup reports whether the contact with email em (normalised)
// is in group.
func (a *api) contactHasGroup(key, em, group string) bool {
	a.t.Helper()
	code, out := a.do("GET", "/v1/contacts", key, "", map[string]string{"q": em})
	if code != http.StatusOK {
		a.t.Fatalf("find contact %s: %d %v", em, code, out)
	}
	for _, it := range out["items"].([]any) {
		c := it.(map[string]any)
		if c["email"] != em {
			continue
		}
		for _, g := range c["groups"].([]any) {
			if g == group {
				return true
			}
		}
		return false
	}
	a.t.Fatalf("no contact with email %s: %v", em, out)
	return false
}
