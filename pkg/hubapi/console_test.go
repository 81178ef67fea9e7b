package hubapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/console"
	"github.com/contactsync/contactsync/pkg/hubapi"
)

// browser calls the handler as API Gateway would for a browser: cookies in
// the event's cookies list, no Authorization header.
func (a *api) browser(method, path string, cookies []string, headers map[string]string, body string, query map[string]string) apigw.Response {
	a.t.Helper()
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	resp, err := a.h.Handle(context.Background(), apigw.Request{
		RawPath: path, Body: body, Headers: h, Cookies: cookies, QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return resp
}

// sessionFrom returns the "name=value" part of the session Set-Cookie.
func sessionFrom(t *testing.T, resp apigw.Response) string {
	t.Helper()
	for _, c := range resp.Cookies {
		if strings.HasPrefix(c, hubapi.SessionCookie+"=") {
			for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Strict", "Path=/"} {
				if !strings.Contains(c, "; "+attr) {
					t.Errorf("session cookie %q lacks %s", c, attr)
				}
			}
			return strings.SplitN(c, ";", 2)[0]
		}
	}
	t.Fatalf("no session cookie in %d %v", resp.StatusCode, resp.Cookies)
	return ""
}

func TestConsole_SignInWithKeyThenCookieAndCSRF(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()

	if r := a.browser("POST", "/console/session", nil, nil, `{"apiKey":"t_nope.wrong"}`, nil); r.StatusCode != http.StatusUnauthorized || len(r.Cookies) != 0 {
		t.Fatalf("bad key: %d %v", r.StatusCode, r.Cookies)
	}
	r := a.browser("POST", "/console/session", nil, nil, `{"apiKey":"`+key+`"}`, nil)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("sign in: %d %s", r.StatusCode, r.Body)
	}
	cookie := sessionFrom(t, r)
	if strings.Contains(r.Body, key) || strings.Contains(cookie, strings.SplitN(key, ".", 2)[1]) {
		t.Fatal("the API key is echoed in the session or its cookie")
	}
	var sess struct {
		CSRF string `json:"csrfToken"`
	}
	if err := json.Unmarshal([]byte(r.Body), &sess); err != nil || sess.CSRF == "" {
		t.Fatalf("session body %s", r.Body)
	}

	// Reads work with the cookie alone.
	if r := a.browser("GET", "/v1/connections", []string{cookie}, nil, "", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("GET with cookie: %d %s", r.StatusCode, r.Body)
	}
	if r := a.browser("GET", "/console/session", []string{"other=1", cookie}, nil, "", nil); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, sess.CSRF) {
		t.Fatalf("GET /console/session: %d %s", r.StatusCode, r.Body)
	}
	// A write without the CSRF token (a forged cross-site form would have
	// no way to add it) is refused, and nothing is created.
	conn := `{"platform":"woocommerce","config":{"storeUrl":"https://shop.example.com","consumerKey":"ck","consumerSecret":"cs","webhookSecret":"w"}}`
	for _, hdr := range []map[string]string{nil, {hubapi.CSRFHeader: "wrong"}} {
		if r := a.browser("POST", "/v1/connections", []string{cookie}, hdr, conn, nil); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "csrf_failed") {
			t.Fatalf("write without a valid CSRF token (%v): %d %s", hdr, r.StatusCode, r.Body)
		}
	}
	if r := a.browser("GET", "/v1/connections", []string{cookie}, nil, "", nil); strings.Contains(r.Body, "woocommerce") {
		t.Fatal("a refused write created a connection")
	}
	if r := a.browser("PUT", "/v1/usage/cap", []string{cookie}, map[string]string{hubapi.CSRFHeader: sess.CSRF}, `{"monthlyCredits":5}`, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("write with the CSRF token: %d %s", r.StatusCode, r.Body)
	}
	// The admin routes never take a session.
	if r := a.browser("POST", "/admin/tenants", []string{cookie}, map[string]string{hubapi.CSRFHeader: sess.CSRF}, `{}`, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("admin route with a session: %d", r.StatusCode)
	}
	// A forged or other tenant's cookie value is nobody.
	for _, bad := range []string{hubapi.SessionCookie + "=" + strings.Replace(strings.SplitN(cookie, "=", 2)[1], ".", ".x", 1), hubapi.SessionCookie + "=", hubapi.SessionCookie + "=t_x"} {
		if r := a.browser("GET", "/v1/connections", []string{bad}, nil, "", nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("cookie %q: %d", bad, r.StatusCode)
		}
	}
	// Sign out ends the session on the server, not only in the browser.
	if r := a.browser("DELETE", "/console/session", []string{cookie}, map[string]string{hubapi.CSRFHeader: sess.CSRF}, "", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %d %s", r.StatusCode, r.Body)
	}
	if r := a.browser("GET", "/v1/connections", []string{cookie}, nil, "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after sign out: %d", r.StatusCode)
	}
}

func TestConsole_SignInLinkIsSingleUse(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	code, out := a.do("POST", "/v1/console/links", key, `{"ttlSeconds":120}`, nil)
	if code != http.StatusCreated {
		t.Fatalf("create link: %d %v", code, out)
	}
	u, err := url.Parse(out["url"].(string))
	if err != nil || !strings.HasPrefix(out["url"].(string), "https://hooks.example.com/console/login?token=") {
		t.Fatalf("link %v %v", out["url"], err)
	}
	token := u.Query().Get("token")
	if code, _ := a.do("POST", "/v1/console/links", key, `{"ttlSeconds":999999}`, nil); code != http.StatusBadRequest {
		t.Fatalf("a link for days: %d", code)
	}
	// Two browsers open the same link at once: one session.
	var wg sync.WaitGroup
	results := make([]apigw.Response, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = a.browser("GET", "/console/login", nil, nil, "", map[string]string{"token": token})
		}()
	}
	wg.Wait()
	sessions := 0
	for _, r := range results {
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", r.StatusCode)
		}
		if len(r.Cookies) == 1 && r.Headers["Location"] == "/console#/" {
			sessions++
			cookie := sessionFrom(t, r)
			if r := a.browser("GET", "/v1/contacts", []string{cookie}, nil, "", nil); r.StatusCode != http.StatusOK {
				t.Fatalf("the link's session cannot read: %d", r.StatusCode)
			}
		} else if r.Headers["Location"] != "/console#/signin/link-invalid" || len(r.Cookies) != 0 {
			t.Fatalf("a used link: %v %v", r.Headers, r.Cookies)
		}
	}
	if sessions != 1 {
		t.Fatalf("%d sessions from one link, want 1", sessions)
	}
	for _, bad := range []string{"", "nonsense", "t_abc.def"} {
		if r := a.browser("GET", "/console/login", nil, nil, "", map[string]string{"token": bad}); r.Headers["Location"] != "/console#/signin/link-invalid" || len(r.Cookies) != 0 {
			t.Fatalf("token %q: %d %v", bad, r.StatusCode, r.Headers)
		}
	}
}

func TestConsole_AssetsWithStrictHeaders(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := a.browser("GET", "/console", nil, nil, "", nil)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Headers["Content-Type"], "text/html") || !strings.Contains(r.Body, `src="/console/app.js"`) {
		t.Fatalf("page: %d %v", r.StatusCode, r.Headers)
	}
	if r.Headers["Content-Security-Policy"] != console.CSP || !strings.Contains(console.CSP, "script-src 'self'") || strings.Contains(console.CSP, "unsafe") {
		t.Fatalf("CSP %q", r.Headers["Content-Security-Policy"])
	}
	if strings.Contains(r.Body, "<script>") || strings.Contains(r.Body, "style=") {
		t.Fatal("the page has inline script or style")
	}
	total := 0
	assets, err := os.ReadDir("../console/assets") // what pkg/console embeds
	if err != nil || len(assets) == 0 {
		t.Fatalf("console assets: %v", err)
	}
	for _, asset := range assets {
		name := asset.Name()
		r := a.browser("GET", "/console/"+name, nil, nil, "", nil)
		if r.StatusCode != http.StatusOK || r.Headers["X-Content-Type-Options"] != "nosniff" {
			t.Fatalf("%s: %d %v", name, r.StatusCode, r.Headers)
		}
		if strings.HasSuffix(name, ".js") {
			total += len(r.Body)
			// The SVG namespace is a name, not an address.
			body := strings.ReplaceAll(r.Body, "'http://www.w3.org/2000/svg'", "")
			if strings.Contains(body, "innerHTML") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
				t.Errorf("%s uses innerHTML or names another origin", name)
			}
		}
	}
	if total == 0 || total > 100_000 {
		t.Fatalf("%d bytes of script, want some and under 100 KB", total)
	}
	for _, bad := range []string{"..", ".env", "nope.js", "app.go", "%2e%2e"} {
		if r := a.browser("GET", "/console/"+bad, nil, nil, "", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("asset %q: %d", bad, r.StatusCode)
		}
	}
}

func TestAPI_SyncsStatusFilterIsValidated(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	if code, out := a.do("GET", "/v1/syncs", key, "", map[string]string{"status": "done; DROP"}); code != http.StatusBadRequest {
		t.Fatalf("bad status filter: %d %v", code, out)
	}
	if code, out := a.do("GET", "/v1/syncs", key, "", map[string]string{"status": "running"}); code != http.StatusOK {
		t.Fatalf("running filter: %d %v", code, out)
	}
}

// TestConsole_WizardReturnsToTheConsole: an OAuth install started from the
// console comes back to the console's own page, whatever the tenant's
// settings say; any other return URL must be on the settings' origin.
func TestConsole_WizardReturnsToTheConsole(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	start := func(returnURL string) (int, map[string]any) {
		return a.do("POST", "/v1/connections/authorize", key, `{"platform":"woocommerce","storeUrl":"https://shop.example.com","returnUrl":"`+returnURL+`"}`, nil)
	}
	if code, out := a.do("PUT", "/v1/settings", key, `{"returnUrl":"https://hub.example.com/installed"}`, nil); code != http.StatusOK {
		t.Fatalf("settings: %d %v", code, out)
	}
	if code, out := start("https://hooks.example.com/console"); code != http.StatusOK || !strings.Contains(out["authorizeUrl"].(string), "/wc-auth/v1/authorize?") {
		t.Fatalf("the console's own page: %d %v", code, out)
	}
	for _, other := range []string{"https://evil.example.com/console", "https://hooks.example.com/console/x", "https://hooks.example.com/console?next=x"} {
		if code, out := start(other); code != http.StatusBadRequest {
			t.Fatalf("%s: %d %v", other, code, out)
		}
	}
}
