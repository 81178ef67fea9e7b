package connectors_test

// A fifth platform, FakeCRM, added by this test alone: its spec, a tiny
// client and its fake below, and one line in conformanceSpecs (the list
// the test's Registry and Hub API are built with). Neither pkg/connectors
// nor pkg/hubapi knows of it.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

const fakeCRM source.Platform = "fakecrm"

func fifthSpec() platform.Spec {
	return platform.Spec{
		Name:  fakeCRM,
		Label: "FakeCRM",
		Keys: []platform.Key{
			{Name: "baseUrl", Flags: platform.Required | platform.URL | platform.Credential},
			{Name: "apiKey", Flags: platform.Required | platform.Secret | platform.Credential},
			{Name: "webhookSecret", Flags: platform.Required | platform.Secret},
		},
		Hosts: func(cfg map[string]string, allowPrivate bool) map[string]string {
			if _, err := safehttp.CheckURL(cfg["baseUrl"], allowPrivate, func(h string) bool { return h == "api.fakecrm.example" }); err != nil {
				return map[string]string{"baseUrl": err.Error()}
			}
			return nil
		},
		New: func(cfg map[string]string, opts source.Options, env platform.Env) (platform.Client, error) {
			return &crmClient{base: strings.TrimRight(cfg["baseUrl"], "/"), key: cfg["apiKey"], opts: opts, hc: env.HTTP}, nil
		},
		Permanent: func(err error) bool {
			var he *crmError
			return errors.As(err, &he) && he.status < 500 && he.status != http.StatusTooManyRequests
		},
		Webhooks: func(platform.Builder) platform.Webhook { return crmWebhooks{} },
	}
}

// crmError is a FakeCRM answer that is not retried.
type crmError struct{ status int }

func (e *crmError) Error() string { return "fakecrm: HTTP " + strconv.Itoa(e.status) }

type crmContact struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c crmContact) record(opts source.Options) source.Record {
	return source.Record{Platform: fakeCRM, Label: cmpOr(opts.Label, "FakeCRM"), ConnectionID: opts.ConnectionID, ExternalID: c.ID,
		UpdatedAt: c.UpdatedAt, FirstName: c.FirstName, Emails: []string{c.Email}, Phones: []source.PhoneField{{Raw: c.Phone, Field: "phone"}}}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// crmClient pages GET /v1/contacts (fan-out by page number), retrying
// 429 (after Retry-After), 5xx and dropped connections.
type crmClient struct {
	base, key string
	opts      source.Options
	hc        *http.Client
}

func (c *crmClient) do(ctx context.Context, method, path string, out any) error {
	var last error
	for attempt := 1; attempt <= 8; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		resp, err := c.hc.Do(req)
		wait := time.Duration(attempt) * 5 * time.Millisecond
		switch {
		case err != nil:
			last = err
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			resp.Body.Close()
			last = &crmError{resp.StatusCode}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				wait = max(wait, time.Duration(s)*time.Second)
			}
		case resp.StatusCode >= 400:
			resp.Body.Close()
			return &crmError{resp.StatusCode}
		default:
			defer resp.Body.Close()
			if out == nil {
				return nil
			}
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				last = err // a body cut short
				break
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return fmt.Errorf("fakecrm: gave up: %w", last)
}

type crmPage struct {
	Contacts []crmContact `json:"contacts"`
	Pages    int          `json:"pages"`
}

func (c *crmClient) plan(ctx context.Context, q url.Values) (source.Plan, error) {
	q.Set("page", "1")
	var p crmPage
	if err := c.do(ctx, http.MethodGet, "/v1/contacts?"+q.Encode(), &p); err != nil {
		return source.Plan{}, err
	}
	plan := source.Plan{Total: -1}
	for n := 1; n <= p.Pages; n++ {
		q.Set("page", strconv.Itoa(n))
		plan.Fanout = append(plan.Fanout, source.Cursor(q.Encode()))
	}
	return plan, nil
}

func (c *crmClient) PlanBulk(ctx context.Context) (source.Plan, error) {
	return c.plan(ctx, url.Values{})
}

func (c *crmClient) PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error) {
	return c.plan(ctx, url.Values{"updated_since": {since.UTC().Format(time.RFC3339)}})
}

func (c *crmClient) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	var p crmPage
	if err := c.do(ctx, http.MethodGet, "/v1/contacts?"+string(cur), &p); err != nil {
		return source.Page{}, err
	}
	var page source.Page
	for _, ct := range p.Contacts {
		page.Records = append(page.Records, ct.record(c.opts))
	}
	return page, nil
}

func (c *crmClient) WriteBackOptOut(ctx context.Context, externalID, _ string) error {
	return c.do(ctx, http.MethodPost, "/v1/contacts/"+url.PathEscape(externalID)+"/sms_opt_out", nil)
}

// CheckCredentials (source.CredentialChecker) asks GET /v1/me.
func (c *crmClient) CheckCredentials(ctx context.Context) error {
	err := c.do(ctx, http.MethodGet, "/v1/me", nil)
	var he *crmError
	switch {
	case errors.As(err, &he) && he.status == http.StatusUnauthorized:
		return &source.CredentialsRejectedError{Reason: "the API key was refused"}
	case err != nil:
		return &source.PlatformError{Reason: "the API could not be reached"}
	}
	return nil
}

// crmWebhooks checks X-FakeCRM-Signature, the hex HMAC-SHA256 of the body.
type crmWebhooks struct{}

func (crmWebhooks) Verify(cfg map[string]string, d source.Delivery) error {
	got, err := hex.DecodeString(http.Header(d.Header).Get("X-FakeCRM-Signature"))
	if err != nil || !hmac.Equal(got, crmSign(cfg["webhookSecret"], d.Body)) {
		return errors.New("fakecrm: bad signature")
	}
	return nil
}

func (crmWebhooks) Parse(_ map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error) {
	var body struct {
		ID      string     `json:"id"`
		Contact crmContact `json:"contact"`
	}
	if err := json.Unmarshal(d.Body, &body); err != nil || body.ID == "" || body.Contact.ID == "" {
		return source.Webhook{}, errors.New("fakecrm: malformed delivery")
	}
	return source.Webhook{DeliveryID: body.ID, Topic: "contact.updated", Records: []source.Record{body.Contact.record(opts)}}, nil
}

func crmSign(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// crmFake serves FakeCRM's API: 50 contacts a page, Bearer keys, faults
// injected in turn (429 with Retry-After, 503, a dropped connection)
// every faultEvery requests.
type crmFake struct {
	*httptest.Server
	key        string
	faultEvery int

	mu       sync.Mutex
	requests int
	contacts []crmContact
	optOuts  []string
}

func newCRMFake(t *testing.T, n, faultEvery int) *crmFake {
	f := &crmFake{key: "crm_key", faultEvery: faultEvery}
	for i := range n {
		f.contacts = append(f.contacts, crmContact{ID: "c" + strconv.Itoa(i+1), FirstName: "Person " + strconv.Itoa(i+1),
			Email: fmt.Sprintf("p%d@example.com", i+1), Phone: fmt.Sprintf("+6141200%04d", i+1), UpdatedAt: fakestore.Epoch.Add(-time.Duration(i) * time.Hour)})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/me", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /v1/contacts", f.list)
	mux.HandleFunc("POST /v1/contacts/{id}/sms_opt_out", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.optOuts = append(f.optOuts, r.PathValue("id"))
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		n := f.requests
		f.mu.Unlock()
		if f.faultEvery > 0 && n%f.faultEvery == 0 {
			switch (n / f.faultEvery) % 3 {
			case 0:
				w.Header().Set("Retry-After", "0")
				http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
			case 1:
				http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
			default:
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			}
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+f.key {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *crmFake) list(w http.ResponseWriter, r *http.Request) {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	since, serr := time.Parse(time.RFC3339, cmpOr(r.URL.Query().Get("updated_since"), "0001-01-01T00:00:00Z"))
	if err != nil || page < 1 || serr != nil {
		http.Error(w, `{"error":"bad query"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	var match []crmContact
	for _, c := range f.contacts {
		if c.UpdatedAt.After(since) {
			match = append(match, c)
		}
	}
	f.mu.Unlock()
	const size = 50
	out := crmPage{Contacts: []crmContact{}, Pages: max(1, (len(match)+size-1)/size)}
	if from := (page - 1) * size; from < len(match) {
		out.Contacts = match[from:min(from+size, len(match))]
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *crmFake) deliver(t *testing.T, hookURL, secret string, n int) {
	f.mu.Lock()
	body, _ := json.Marshal(map[string]any{"id": "d-" + strconv.Itoa(n), "contact": f.contacts[n-1]})
	f.mu.Unlock()
	req, _ := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
	req.Header.Set("X-FakeCRM-Signature", hex.EncodeToString(crmSign(secret, body)))
	resp, err := http.DefaultClient.Do(req)
	delivered(t, resp, err)
}

func fifthContender() contender {
	return contender{spec: fifthSpec(), start: func(t *testing.T, n int, faults bool) fake {
		every := 0
		if faults {
			every = 2
		}
		f := newCRMFake(t, n, every)
		cfg := map[string]string{"baseUrl": f.URL, "apiKey": f.key, "webhookSecret": "whsec_crm"}
		return fake{
			cfg: cfg, badCreds: with(cfg, "apiKey", "wrong"),
			touch: func(n int, at time.Time, first string) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.contacts[n-1].FirstName, f.contacts[n-1].UpdatedAt = first, at
			},
			deliver: func(t *testing.T, url string, n int) { f.deliver(t, url, cfg["webhookSecret"], n) },
			writeBack: func(*testing.T) (string, string, func() bool) {
				return "c2", "+61412000002", func() bool {
					f.mu.Lock()
					defer f.mu.Unlock()
					return len(f.optOuts) == 1 && f.optOuts[0] == "c2"
				}
			},
			transient: []error{&crmError{http.StatusTooManyRequests}, &crmError{http.StatusServiceUnavailable}},
		}
	}}
}

// The fifth platform is created through the Hub API's validation, from
// its spec alone: required and unknown keys, secrets never returned, its
// hosts and its credential check.
func TestFifthPlatform_CreatedThroughTheHubAPI(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	specs := conformanceSpecs()
	h := hubapi.New(hubapi.Deps{Store: st, Sealer: sealer, AdminToken: "admin", PublicBaseURL: "https://hooks.example.com",
		Starter:           syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour},
		AllowPrivateHosts: true, Specs: specs,
		Platforms: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true, Specs: specs}})
	call := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		resp, err := h.Handle(context.Background(), apigw.Request{RawPath: path, Body: body,
			Headers:        map[string]string{"authorization": "Bearer " + token, "content-type": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp.StatusCode, out
	}
	code, tenant := call("POST", "/admin/tenants", "admin", `{"name":"Acme"}`)
	if code != http.StatusCreated {
		t.Fatalf("tenant: %d %v", code, tenant)
	}
	key := tenant["apiKey"].(string)
	f := newCRMFake(t, 3, 0)
	conn := func(cfg string) string {
		return `{"platform":"fakecrm","consentMode":"explicit","defaultRegion":"AU","config":` + cfg + `}`
	}
	invalid := func(body, field, want string) {
		t.Helper()
		code, out := call("POST", "/v1/connections", key, body)
		e, _ := out["error"].(map[string]any)
		fields, _ := e["fields"].(map[string]any)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(fields[field]), want) {
			t.Fatalf("%s: %d %v, want 400 with %s %q", body, code, out, field, want)
		}
	}
	invalid(conn(`{"baseUrl":"`+f.URL+`","webhookSecret":"w"}`), "config.apiKey", "required")
	invalid(conn(`{"baseUrl":"`+f.URL+`","apiKey":"k","webhookSecret":"w","storeUrl":"x"}`), "config.storeUrl", "unknown field for fakecrm")
	invalid(conn(`{"baseUrl":"ftp://x","apiKey":"k","webhookSecret":"w"}`), "config.baseUrl", "http(s) URL")
	invalid(`{"platform":"nope","consentMode":"explicit","defaultRegion":"AU"}`, "platform", "fakecrm")
	if code, out := call("POST", "/v1/connections", key, conn(`{"baseUrl":"`+f.URL+`","apiKey":"wrong","webhookSecret":"w"}`)); code != http.StatusUnprocessableEntity {
		t.Fatalf("refused key: %d %v, want 422", code, out)
	}
	code, out := call("POST", "/v1/connections", key, conn(`{"baseUrl":"`+f.URL+`","apiKey":"`+f.key+`","webhookSecret":"whsec_crm"}`))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	raw, _ := json.Marshal(out)
	if out["label"] != "FakeCRM" || out["config"].(map[string]any)["baseUrl"] != f.URL ||
		strings.Contains(string(raw), f.key) || strings.Contains(string(raw), "whsec_crm") ||
		!strings.HasPrefix(out["webhookUrl"].(string), "https://hooks.example.com/webhooks/fakecrm/") {
		t.Fatalf("created: %s", raw)
	}
}
