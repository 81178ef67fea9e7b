package hubapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

const admin = "admin-token-for-tests"

type api struct {
	t  testing.TB
	h  *hubapi.Handler
	st *store.Store
}

func newAPI(t testing.TB) *api {
	t.Helper()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/",
		Starter: syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour},
	})
	return &api{t: t, h: h, st: st}
}

func (a *api) do(method, path, token, body string, query map[string]string) (int, map[string]any) {
	a.t.Helper()
	req := apigw.Request{
		RawPath: path, Body: body, QueryStringParameters: query,
		Headers:        map[string]string{"authorization": "Bearer " + token, "content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
	}
	resp, err := a.h.Handle(context.Background(), req)
	if err != nil {
		a.t.Fatal(err)
	}
	var out map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			a.t.Fatalf("%s %s: body %q is not JSON", method, path, resp.Body)
		}
	}
	return resp.StatusCode, out
}

// raw calls the handler and returns the status and body as they are.
func (a *api) raw(method, path, token string) (int, string) {
	a.t.Helper()
	resp, err := a.h.Handle(context.Background(), apigw.Request{
		RawPath: path, Headers: map[string]string{"authorization": "Bearer " + token},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Body
}

func (a *api) tenant() string {
	a.t.Helper()
	code, out := a.do("POST", "/admin/tenants", admin, `{"name":"Acme"}`, nil)
	if code != http.StatusCreated {
		a.t.Fatalf("create tenant: %d %v", code, out)
	}
	return out["apiKey"].(string)
}

const shopifyConn = `{"platform":"shopify","consentMode":"double_opt_in","defaultRegion":"AU",
 "config":{"shopDomain":"acme.myshopify.com","accessToken":"shpat_secret","webhookSecret":"whsec"}}`

func TestAPI_ConnectionLifecycleAndSecretsNeverReturned(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	code, conn := a.do("POST", "/v1/connections", key, shopifyConn, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, conn)
	}
	id := conn["id"].(string)
	if conn["syncId"] == "" || !strings.HasPrefix(conn["webhookUrl"].(string), "https://hooks.example.com/webhooks/shopify/"+id) {
		t.Errorf("create response = %v", conn)
	}
	code, got := a.do("GET", "/v1/connections/"+id, key, "", nil)
	raw, _ := json.Marshal(got)
	if code != 200 || strings.Contains(string(raw), "shpat_secret") || strings.Contains(string(raw), "whsec") {
		t.Fatalf("get: %d %s (secrets must never be returned)", code, raw)
	}
	if got["config"].(map[string]any)["shopDomain"] != "acme.myshopify.com" {
		t.Errorf("public config missing: %v", got["config"])
	}
	// The install sync is running: a manual sync gets 409 with its id.
	code, busy := a.do("POST", "/v1/connections/"+id+"/syncs", key, "", nil)
	if code != http.StatusConflict || busy["error"].(map[string]any)["syncId"] != conn["syncId"] {
		t.Fatalf("second sync: %d %v", code, busy)
	}
	code, patched := a.do("PATCH", "/v1/connections/"+id, key, `{"label":"Main","consentMode":"inferred"}`, nil)
	if code != 200 || patched["label"] != "Main" || patched["consentMode"] != "inferred" {
		t.Fatalf("patch: %d %v", code, patched)
	}
	code, syncs := a.do("GET", "/v1/syncs", key, "", map[string]string{"connectionId": id})
	if code != 200 || len(syncs["items"].([]any)) != 1 {
		t.Fatalf("list syncs: %d %v", code, syncs)
	}
	code, s := a.do("GET", "/v1/syncs/"+conn["syncId"].(string), key, "", nil)
	if code != 200 || s["status"] != "running" || s["trigger"] != "install" {
		t.Fatalf("get sync: %d %v", code, s)
	}
	if code, _ := a.do("DELETE", "/v1/connections/"+id, key, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := a.do("GET", "/v1/connections/"+id, key, "", nil); code != http.StatusNotFound {
		t.Fatalf("get after delete: %d", code)
	}
}

func TestAPI_ValidationNamesFields(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	code, out := a.do("POST", "/v1/connections", key, `{"platform":"shopify","consentMode":"sometimes","defaultRegion":"australia","config":{"shopDomain":"x"}}`, nil)
	fields, _ := out["error"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"consentMode", "defaultRegion", "config.accessToken", "config.webhookSecret"} {
		if fields[f] == nil {
			t.Errorf("field %s not reported: %v", f, out)
		}
	}
	if code != 400 {
		t.Errorf("status %d", code)
	}
	for _, body := range []string{`{`, `{"platform":1}`, `{"nope":true}`, `{} {}`} {
		if code, out := a.do("POST", "/v1/connections", key, body, nil); code != 400 || out["error"] == nil {
			t.Errorf("body %s: %d %v", body, code, out)
		}
	}
	if code, _ := a.do("GET", "/v1/connections", key, "", map[string]string{"limit": "101"}); code != 400 {
		t.Errorf("limit 101: %d", code)
	}
	if code, _ := a.do("POST", "/v1/connections", key, strings.Repeat(" ", hubapi.MaxBody+1), nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", code)
	}
}

func TestAPI_AuthAndTenantIsolation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	keyA, keyB := a.tenant(), a.tenant()
	_, conn := a.do("POST", "/v1/connections", keyA, shopifyConn, nil)
	id, syncID := conn["id"].(string), conn["syncId"].(string)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/connections/" + id}, {"PATCH", "/v1/connections/" + id}, {"DELETE", "/v1/connections/" + id},
		{"POST", "/v1/connections/" + id + "/syncs"}, {"GET", "/v1/syncs/" + syncID}, {"GET", "/v1/syncs/" + syncID + "/report"},
	} {
		body := ""
		if tc.method == "PATCH" {
			body = `{"label":"x"}`
		}
		if code, out := a.do(tc.method, tc.path, keyB, body, nil); code != http.StatusNotFound {
			t.Errorf("tenant B %s %s = %d %v, want 404", tc.method, tc.path, code, out)
		}
	}
	// A contact of tenant A, through the real merge path.
	tenantA := strings.SplitN(keyA, ".", 2)[0]
	applied, err := a.st.ApplyRecord(context.Background(), store.Target{TenantID: tenantA, Conn: merge.Connection{ID: id, Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}},
		source.Record{Platform: source.Shopify, Label: "Shopify", ConnectionID: id, ExternalID: "1", UpdatedAt: time.Now(), FirstName: "Ann",
			Emails: []string{"ann@example.com"}, Phones: []source.PhoneField{{Raw: "0412 345 678"}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cid := applied.Decision.ContactID
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/contacts/" + cid, ""}, {"DELETE", "/v1/contacts/" + cid, ""},
		{"PUT", "/v1/contacts/" + cid + "/subscription", `{"status":"unsubscribed"}`}, {"GET", "/v1/contacts/" + cid + "/history", ""},
	} {
		if code, out := a.do(tc.method, tc.path, keyB, tc.body, nil); code != http.StatusNotFound {
			t.Errorf("tenant B %s %s = %d %v, want 404", tc.method, tc.path, code, out)
		}
	}
	if code, out := a.do("GET", "/v1/contacts", keyB, "", map[string]string{"q": "ann"}); code != 200 || len(out["items"].([]any)) != 0 {
		t.Errorf("tenant B lists tenant A's contacts: %v", out)
	}
	if code, out := a.do("GET", "/v1/contacts/"+cid, keyA, "", nil); code != 200 || out["firstName"] != "Ann" || out["status"] != "subscribed" {
		t.Errorf("tenant A reads its contact: %d %v", code, out)
	}
	if code, csv := a.raw("GET", "/v1/contacts/export", keyB); code != 200 || strings.Contains(csv, "ann@example.com") || strings.Count(csv, "\n") != 1 {
		t.Errorf("tenant B's export: %d %q", code, csv)
	}
	if code, csv := a.raw("GET", "/v1/contacts/export", keyA); code != 200 || !strings.Contains(csv, "ann@example.com") || !strings.HasPrefix(csv, "id,firstName") {
		t.Errorf("tenant A's export: %d %q", code, csv)
	}
	if code, out := a.do("GET", "/v1/groups", keyB, "", nil); code != 200 || len(out["items"].([]any)) != 0 {
		t.Errorf("tenant B lists groups: %v", out)
	}
	if code, out := a.do("GET", "/v1/connections", keyB, "", nil); code != 200 || len(out["items"].([]any)) != 0 {
		t.Errorf("tenant B lists %v", out)
	}
	if code, out := a.do("GET", "/v1/syncs", keyB, "", nil); code != 200 || len(out["items"].([]any)) != 0 {
		t.Errorf("tenant B lists syncs %v", out)
	}
	for _, bad := range []string{"", "garbage", keyA + "x", admin} {
		if code, _ := a.do("GET", "/v1/connections", bad, "", nil); code != http.StatusUnauthorized {
			t.Errorf("key %q: %d, want 401", bad, code)
		}
	}
	if code, _ := a.do("POST", "/admin/tenants", keyA, "", nil); code != http.StatusUnauthorized {
		t.Errorf("tenant key on admin route: %d", code)
	}
	if code, _ := a.do("GET", "/v1/nothing", keyA, "", nil); code != http.StatusNotFound {
		t.Errorf("unknown route: %d", code)
	}
	if code, _ := a.do("PUT", "/v1/connections", keyA, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("wrong method: %d", code)
	}
}

func TestAPI_SMSProvider(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	code, out := a.do("PUT", "/v1/sms-provider", key, `{"provider":"twilio","sender":"+15005550006","companyName":"Acme","credentials":{"accountSid":"AC1","authToken":"tok"}}`, nil)
	raw, _ := json.Marshal(out)
	if code != 200 || strings.Contains(string(raw), "tok") {
		t.Fatalf("put provider: %d %s", code, raw)
	}
	code, out = a.do("PUT", "/v1/sms-provider", key, `{"provider":"pigeon","credentials":{}}`, nil)
	if code != 400 || out["error"].(map[string]any)["fields"].(map[string]any)["provider"] == nil {
		t.Fatalf("bad provider: %d %v", code, out)
	}
}
