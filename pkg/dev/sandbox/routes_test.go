package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/routes"
	"github.com/contactsync/contactsync/pkg/seal"
)

// startSandbox hosts the handlers on the test's own table and queues.
func startSandbox(t *testing.T) *sandbox.App {
	t.Helper()
	s := stacktest.New(t)
	sealer, err := seal.FromEnv(func(string) string { return seal.NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	app, err := sandbox.Start(ctx, sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: sealer, PageWorkers: 1,
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
	return app
}

// TestSandbox_ServesExactlyTheDeployedRoutes: every route of the table
// reaches its function's handler (unauthenticated Hub API calls get the
// handler's 401, not a router's 404), and a route the table does not have
// gets API Gateway's 404, as on AWS — no catch-all hides it.
func TestSandbox_ServesExactlyTheDeployedRoutes(t *testing.T) {
	t.Parallel()
	app := startSandbox(t)
	do := func(method, p string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, app.BaseURL+p, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	concrete := strings.NewReplacer("{id}", "x1", "{platform}", "shopify", "{connectionId}", "t_a.c_b", "{provider}", "twilio", "{tenantId}", "t_a", "{asset}", "app.js")
	for _, r := range routes.All() {
		code, body := do(r.Method, concrete.Replace(r.Path))
		switch r.Function {
		case routes.API:
			if r.Path == routes.OAuthCallbackPath {
				// Public: the state authenticates it; the handler's own
				// error, not the router's 404.
				if code < 400 || code >= 500 || !strings.Contains(body, `"code":`) {
					t.Errorf("%s: %d %s, want the handler's JSON error", r.Key(), code, body)
				}
				continue
			}
			if r.Public() {
				// The console's page, an asset, the sign-in form's POST
				// ({} is not a key: 400) and a sign-in link (303 to the form).
				if code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusSeeOther {
					t.Errorf("%s: %d %s, want the console's own answer", r.Key(), code, body)
				}
				continue
			}
			if code != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want the Hub API's 401", r.Key(), code, body)
			}
		case routes.Webhook, routes.Inbound:
			if r.Method == http.MethodGet {
				// A GET on a webhook URL (Mailchimp's URL check) answers
				// alike whether the connection exists or not.
				if code != http.StatusOK {
					t.Errorf("%s: %d %s, want the handler's 200", r.Key(), code, body)
				}
				continue
			}
			// Unknown connection / tenant: the handler's own 404 body.
			if code != http.StatusNotFound || !strings.Contains(body, `"code":"not_found"`) {
				t.Errorf("%s: %d %s, want the handler's not_found", r.Key(), code, body)
			}
		case routes.Health:
			if code != http.StatusOK {
				t.Errorf("%s: %d %s", r.Key(), code, body)
			}
		}
	}
	for _, k := range []string{"POST /v1/syncs", "GET /v1/unknown", "PUT /v1/connections/x1", "DELETE /webhooks/shopify/t_a.c_b", "GET /sms/inbound/twilio/t_a", "GET /admin/tenants"} {
		method, p, _ := strings.Cut(k, " ")
		if code, body := do(method, p); code != http.StatusNotFound || body != `{"message":"Not Found"}` {
			t.Errorf("%s (not deployed): %d %s, want API Gateway's 404", k, code, body)
		}
	}
}
