package hubapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// newOAuthAPI is newAPI with OAuth apps configured and a clock the test
// moves (the Klaviyo and Mailchimp endpoints are never reached here).
func newOAuthAPI(t testing.TB, skew *atomic.Int64) *api {
	t.Helper()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	apps := oauth.Defaults()
	apps.Mailchimp.ClientID, apps.Mailchimp.ClientSecret = "mc-id", "mc-secret"
	apps.Klaviyo.ClientID, apps.Klaviyo.ClientSecret = "kl-id", "kl-secret"
	apps.Shopify.ClientID, apps.Shopify.ClientSecret = "sh-id", "sh-secret"
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/",
		Starter: syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour},
		OAuth:   apps, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
	})
	return &api{t: t, h: h, st: st}
}

// callback calls a public callback with a raw query.
func (a *api) callback(platform, rawQuery string) (int, string, map[string]string) {
	a.t.Helper()
	path := "/oauth/" + platform + "/callback"
	resp, err := a.h.Handle(context.Background(), apigw.Request{
		RawPath: path, RawQueryString: rawQuery,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Body, resp.Headers
}

// TestAPI_OAuthStateExpires: a callback after the state's lifetime (10
// minutes) answers 400 state_expired, uses the state up and creates
// nothing; the authorisation URLs carry what each platform requires.
func TestAPI_OAuthStateExpires(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	a := newOAuthAPI(t, &skew)
	key := a.tenant()
	if code, out := a.do("PUT", "/v1/settings", key, `{"returnUrl":"http://hub.example/x"}`, nil); code != 400 {
		t.Fatalf("an http return URL: %d %v", code, out)
	}
	if code, out := a.do("POST", "/v1/connections/authorize", key, `{"platform":"mailchimp"}`, nil); code != 400 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "invalid") {
		t.Fatalf("authorize without a return URL: %d %v", code, out)
	}
	if code, out := a.do("PUT", "/v1/settings", key, `{"returnUrl":"https://hub.example/installed"}`, nil); code != 200 {
		t.Fatalf("settings: %d %v", code, out)
	}
	authorize := func(body string) *url.URL {
		t.Helper()
		code, out := a.do("POST", "/v1/connections/authorize", key, body, nil)
		if code != 200 {
			t.Fatalf("authorize %s: %d %v", body, code, out)
		}
		u, err := url.Parse(out["authorizeUrl"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	kl := authorize(`{"platform":"klaviyo"}`).Query()
	if kl.Get("code_challenge_method") != "S256" || kl.Get("code_challenge") == "" || kl.Get("redirect_uri") != "https://hooks.example.com/oauth/klaviyo/callback" || kl.Get("client_id") != "kl-id" {
		t.Fatalf("klaviyo authorisation URL lacks PKCE or our callback: %v", kl)
	}
	sh := authorize(`{"platform":"shopify","shop":"acme.myshopify.com"}`)
	if sh.Host != "acme.myshopify.com" || sh.Path != "/admin/oauth/authorize" || sh.Query().Get("scope") == "" || sh.Query().Get("state") == "" {
		t.Fatalf("shopify install URL: %v", sh)
	}
	mc := authorize(`{"platform":"mailchimp"}`).Query()
	skew.Store(int64(oauth.DefaultStateTTL + time.Second))
	code, body, _ := a.callback("mailchimp", url.Values{"code": {"c"}, "state": {mc.Get("state")}}.Encode())
	if code != 400 || !strings.Contains(body, "state_expired") {
		t.Fatalf("expired state: %d %s", code, body)
	}
	skew.Store(0)
	if code, body, _ := a.callback("mailchimp", url.Values{"code": {"c"}, "state": {mc.Get("state")}}.Encode()); code != 400 || !strings.Contains(body, "invalid_state") {
		t.Fatalf("an expired state used again: %d %s", code, body)
	}
	// A state altered by one character does not open.
	st := kl.Get("state")
	altered := st[:len(st)-2] + map[bool]string{true: "A", false: "B"}[st[len(st)-2] != 'A'] + st[len(st)-1:]
	if code, body, _ := a.callback("klaviyo", url.Values{"code": {"c"}, "state": {altered}}.Encode()); code != 400 || !strings.Contains(body, "invalid_state") {
		t.Fatalf("altered state: %d %s", code, body)
	}
	// The merchant refused: back to the return URL with the error.
	code, _, headers := a.callback("klaviyo", url.Values{"error": {"access_denied"}, "state": {st}}.Encode())
	if code != http.StatusFound || headers["Location"] != "https://hub.example/installed?error=access_denied" {
		t.Fatalf("refusal: %d %v", code, headers)
	}
	if code, out := a.do("GET", "/v1/connections", key, "", nil); code != 200 || len(out["items"].([]any)) != 0 {
		t.Fatalf("connections after failed callbacks: %d %v", code, out)
	}
}

// TestAPI_PastedKeyClearsNeedsReauthorization: a Klaviyo connection whose
// token the platform refused comes back with a pasted private key, and
// meanwhile "sync now" answers 409 needs_reauthorization.
func TestAPI_PastedKeyClearsNeedsReauthorization(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	a := newOAuthAPI(t, &skew)
	key := a.tenant()
	code, out := a.do("POST", "/v1/connections", key, `{"platform":"klaviyo","consentMode":"inferred","defaultRegion":"AU","status":"draft",
	 "config":{"privateApiKey":"pk_old"}}`, nil)
	if code != 201 || out["status"] != "draft" || out["syncId"] != nil {
		t.Fatalf("create draft: %d %v", code, out)
	}
	id := out["id"].(string)
	tenant, _ := store.TenantOfConnection(id)
	// A draft is never marked (it stays a draft until activated).
	if err := a.st.MarkNeedsReauthorization(context.Background(), tenant, id); err != nil {
		t.Fatal(err)
	}
	if code, out := a.do("GET", "/v1/connections/"+id, key, "", nil); code != 200 || out["status"] != "draft" {
		t.Fatalf("GET draft: %d %v", code, out)
	}
	if code, out := a.do("POST", "/v1/connections/"+id+"/activate", key, "", nil); code != 202 {
		t.Fatalf("activate: %d %v", code, out)
	}
	if err := a.st.MarkNeedsReauthorization(context.Background(), tenant, id); err != nil {
		t.Fatal(err)
	}
	if code, out := a.do("GET", "/v1/connections/"+id, key, "", nil); code != 200 || out["status"] != "needs_reauthorization" {
		t.Fatalf("GET: %d %v", code, out)
	}
	if code, out := a.do("POST", "/v1/connections/"+id+"/syncs", key, "", nil); code != 409 || out["error"].(map[string]any)["code"] != "needs_reauthorization" {
		t.Fatalf("sync now: %d %v", code, out)
	}
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"config":{"refreshToken":"x"}}`, nil); code != 400 {
		t.Fatalf("a client-set refresh token: %d %v", code, out)
	}
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"status":"active"}`, nil); code != 400 {
		t.Fatalf("PATCH status: %d %v", code, out)
	}
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"config":{"privateApiKey":"pk_new"}}`, nil); code != 200 || out["status"] != "active" {
		t.Fatalf("PATCH a new private key: %d %v", code, out)
	}
	// The install run activation started still holds the lock (no worker
	// runs here): "sync now" is refused for that, not for the token.
	if code, out := a.do("POST", "/v1/connections/"+id+"/syncs", key, "", nil); code != 409 || out["error"].(map[string]any)["code"] != "sync_in_progress" {
		t.Fatalf("sync now after the new key: %d %v", code, out)
	}
}

// FuzzOAuthCallbacks sends arbitrary queries and bodies to the public
// callbacks: never a 5xx, and every answer is a redirect or the JSON error
// shape. Explore with
// go test -run '^$' -fuzz FuzzOAuthCallbacks -fuzztime 10s ./pkg/hubapi/
func FuzzOAuthCallbacks(f *testing.F) {
	var skew atomic.Int64
	a := newOAuthAPI(f, &skew)
	key := a.tenant()
	if code, _ := a.do("PUT", "/v1/settings", key, `{"returnUrl":"https://hub.example/installed"}`, nil); code != 200 {
		f.Fatal("settings")
	}
	code, out := a.do("POST", "/v1/connections/authorize", key, `{"platform":"klaviyo"}`, nil)
	if code != 200 {
		f.Fatal("authorize")
	}
	u, _ := url.Parse(out["authorizeUrl"].(string))
	state := u.Query().Get("state")
	for _, s := range []struct{ platform, method, query, body string }{
		{"klaviyo", "GET", "code=x&state=" + url.QueryEscape(state), ""},
		{"klaviyo", "GET", "error=access_denied&state=" + url.QueryEscape(state), ""},
		{"shopify", "GET", "shop=a.myshopify.com&hmac=00&state=x", ""},
		{"shopify", "GET", "%zz", ""},
		{"woocommerce", "GET", "success=1&user_id=" + url.QueryEscape(state), ""},
		{"woocommerce", "POST", "", `{"user_id":"` + state + `","consumer_key":"ck","consumer_secret":"cs"}`},
		{"woocommerce", "POST", "", `{"user_id":5}`},
		{"mailchimp", "GET", "state=" + strings.Repeat("a.", 400), ""},
		{"nope", "POST", "", "{}"},
	} {
		f.Add(s.platform, s.method, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, platform, method, query, body string) {
		if method != "GET" {
			method = "POST"
		}
		path := "/oauth/" + url.PathEscape(platform) + "/callback"
		resp, err := a.h.Handle(context.Background(), apigw.Request{
			RawPath: path, RawQueryString: query, Body: body,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s?%s: %d %s", method, path, query, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode == http.StatusFound {
			if !strings.HasPrefix(resp.Headers["Location"], "https://hub.example/installed?") {
				t.Fatalf("redirect to %q", resp.Headers["Location"])
			}
			return
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if resp.StatusCode >= 400 && (json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code == "") {
			t.Fatalf("%d %q is not the error shape", resp.StatusCode, resp.Body)
		}
	})
}
