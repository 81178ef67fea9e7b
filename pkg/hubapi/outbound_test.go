package hubapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

func newAPIAllowing(t *testing.T, allowPrivate bool) *api {
	t.Helper()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", AllowPrivateHosts: allowPrivate,
		Starter: syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour},
	})
	return &api{t: t, h: h, st: st}
}

// badField asserts a 400 whose fields name field.
func badField(t *testing.T, what string, code int, out map[string]any, field string) {
	t.Helper()
	e, _ := out["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	if code != http.StatusBadRequest || fields[field] == nil {
		raw, _ := json.Marshal(out)
		t.Errorf("%s: %d %s, want 400 naming %s", what, code, raw, field)
	}
}

func conn(platform string, cfg map[string]string) string {
	b, _ := json.Marshal(map[string]any{"platform": platform, "consentMode": "inferred", "defaultRegion": "US", "config": cfg})
	return string(b)
}

// Connections and SMS providers may only point our workers at the
// platform's own hosts over https: private, loopback and link-local
// targets, plain http and foreign hosts are refused with a 400 naming the
// field, on create, PATCH and PUT.
func TestAPI_OutboundHostsRefused(t *testing.T) {
	t.Parallel()
	a := newAPIAllowing(t, false)
	key := a.tenant()
	shop := map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "t", "webhookSecret": "w"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for kk, vv := range base {
			if kk != k {
				m[kk] = vv
			}
		}
		return m
	}
	woo := map[string]string{"storeUrl": "https://shop.example.com", "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"}
	for _, tc := range []struct {
		name, platform string
		cfg            map[string]string
		field          string
	}{
		{"shopify loopback base", "shopify", with(shop, "apiBaseUrl", "http://127.0.0.1:8080"), "config.apiBaseUrl"},
		{"shopify metadata base", "shopify", with(shop, "apiBaseUrl", "https://169.254.169.254"), "config.apiBaseUrl"},
		{"shopify foreign base", "shopify", with(shop, "apiBaseUrl", "https://attacker.example.com"), "config.apiBaseUrl"},
		{"shopify domain", "shopify", with(shop, "shopDomain", "internal.corp"), "config.shopDomain"},
		{"woo loopback", "woocommerce", with(woo, "storeUrl", "https://127.0.0.1"), "config.storeUrl"},
		{"woo ipv6 loopback", "woocommerce", with(woo, "storeUrl", "https://[::1]:8443"), "config.storeUrl"},
		{"woo localhost", "woocommerce", with(woo, "storeUrl", "https://localhost"), "config.storeUrl"},
		{"woo http", "woocommerce", with(woo, "storeUrl", "http://shop.example.com"), "config.storeUrl"},
		{"mailchimp dc", "mailchimp", map[string]string{"apiKey": "k-169.254.169.254", "audienceId": "a"}, "config.apiKey"},
		{"mailchimp base", "mailchimp", map[string]string{"apiKey": "k-us6", "audienceId": "a", "apiBaseUrl": "https://10.0.0.1"}, "config.apiBaseUrl"},
		{"klaviyo base", "klaviyo", map[string]string{"privateApiKey": "pk", "apiBaseUrl": "https://evil.example.com"}, "config.apiBaseUrl"},
	} {
		code, out := a.do("POST", "/v1/connections", key, conn(tc.platform, tc.cfg), nil)
		badField(t, "create "+tc.name, code, out, tc.field)
	}
	// A good connection cannot be patched to a private host either.
	code, created := a.do("POST", "/v1/connections", key, conn("woocommerce", woo), nil)
	if code != http.StatusCreated {
		t.Fatalf("create woo: %d %v", code, created)
	}
	code, out := a.do("PATCH", "/v1/connections/"+created["id"].(string), key, `{"config":{"storeUrl":"https://[::ffff:169.254.169.254]"}}`, nil)
	badField(t, "patch storeUrl", code, out, "config.storeUrl")

	for _, tc := range []struct{ provider, creds, base string }{
		{"twilio", `{"accountSid":"AC1","authToken":"tok"}`, "http://127.0.0.1:9"},
		{"twilio", `{"accountSid":"AC1","authToken":"tok"}`, "https://api.twilio.com.attacker.io"},
		{"sinch", `{"servicePlanId":"p","apiToken":"t"}`, "https://169.254.169.254"},
		{"messagemedia", `{"apiKey":"k","apiSecret":"s"}`, "https://localhost"},
	} {
		body := `{"provider":"` + tc.provider + `","sender":"+15005550006","companyName":"Acme","apiBaseUrl":"` + tc.base + `","credentials":` + tc.creds + `}`
		code, out := a.do("PUT", "/v1/sms-provider", key, body, nil)
		badField(t, "provider "+tc.provider+" "+tc.base, code, out, "apiBaseUrl")
	}
	code, out = a.do("PUT", "/v1/sms-provider", key, `{"provider":"sinch","sender":"+15005550006","companyName":"Acme","apiBaseUrl":"https://eu.sms.api.sinch.com","credentials":{"servicePlanId":"p","apiToken":"t"}}`, nil)
	if code != http.StatusOK {
		t.Errorf("sinch EU region: %d %v", code, out)
	}
}

// With the explicit local setting, the fakes on loopback are accepted.
func TestAPI_OutboundHostsAllowedForFakes(t *testing.T) {
	t.Parallel()
	a := newAPIAllowing(t, true)
	key := a.tenant()
	code, out := a.do("POST", "/v1/connections", key, conn("woocommerce", map[string]string{"storeUrl": "http://127.0.0.1:8080/woo", "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"}), nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	code, out = a.do("PUT", "/v1/sms-provider", key, `{"provider":"twilio","sender":"+15005550006","companyName":"Acme","apiBaseUrl":"http://127.0.0.1:8080/twilio","credentials":{"accountSid":"AC1","authToken":"tok"}}`, nil)
	if code != http.StatusOK {
		t.Fatalf("put provider: %d %v", code, out)
	}
}
