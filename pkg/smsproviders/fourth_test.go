package smsproviders_test

// A fourth SMS provider, FakeSMS, added by this test alone: its spec, a
// tiny client and its fake below, and one line in conformanceSpecs (the
// list the test's Registry and Hub API are built with). Neither
// pkg/smsproviders nor pkg/hubapi knows of it.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
	"github.com/contactsync/contactsync/pkg/store"
)

const fakeSMS sms.Provider = "fakesms"

// fsSignature is FakeSMS's inbound signature header: hex HMAC-SHA256 of
// the body under the signing secret.
const fsSignature = "X-Fakesms-Signature"

func fsSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func fourthSpec() sms.Spec {
	return sms.Spec{
		Name:    fakeSMS,
		Keys:    []sms.Key{{Name: "apiKey", Required: true, Secret: true}, {Name: "signingSecret", Required: true, Secret: true}},
		APIHost: func(h string) bool { return h == "api.fakesms.example" },
		Inbound: func(c map[string]string, r sms.Request) (sms.Inbound, error) {
			got, _ := hex.DecodeString(r.Header.Get(fsSignature))
			want, _ := hex.DecodeString(fsSign(c["signingSecret"], r.Body))
			if c["signingSecret"] == "" || !hmac.Equal(got, want) {
				return sms.Inbound{}, sms.ErrInvalidSignature
			}
			var m struct{ ID, From, To, Text string }
			if json.Unmarshal(r.Body, &m) != nil || m.ID == "" || !strings.HasPrefix(m.From, "+") {
				return sms.Inbound{}, sms.ErrMalformed
			}
			return sms.Inbound{Provider: fakeSMS, MessageID: m.ID, From: m.From, To: m.To, Text: m.Text}, nil
		},
		Answer: sms.Answer{Status: http.StatusAccepted, ContentType: "text/plain", Body: "ok"},
		New: func(s sms.Settings, hc *http.Client) sms.Sender {
			base := s.APIBaseURL
			if base == "" {
				base = "https://api.fakesms.example"
			}
			return &fsClient{base: base, key: s.Credentials["apiKey"], api: sms.API(fakeSMS, hc)}
		},
		Setup: func(ctx context.Context, sender sms.Sender, s sms.Settings) (sms.InboundSetup, error) {
			c := sender.(*fsClient)
			if _, err := c.call(ctx, http.MethodGet, "/v1/account", nil, false); err != nil {
				return sms.InboundSetup{}, sms.CheckError("FakeSMS", err, []int{http.StatusUnauthorized}, c.key)
			}
			if _, err := c.call(ctx, http.MethodPut, "/v1/inbound", map[string]string{"url": s.InboundURL}, false); err != nil {
				return sms.InboundSetup{ManualStep: "Set the inbound URL to " + s.InboundURL + " in FakeSMS.", Reason: sms.Reason("FakeSMS", err)}, nil
			}
			return sms.InboundSetup{Configured: true, How: "set the account's inbound URL"}, nil
		},
	}
}

// fsClient is FakeSMS's client, on the shared HTTP layer (sms.API).
type fsClient struct {
	base, key string
	api       *httpx.Client
}

func (c *fsClient) call(ctx context.Context, method, path string, body any, once bool) (*httpx.Response, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	return c.api.Do(ctx, httpx.Request{Once: once, Decode: httpx.Fields("code", "message"),
		New: httpx.Build(method, c.base+path, raw, "application/json", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+c.key) })})
}

func (c *fsClient) Send(ctx context.Context, m sms.Message) (sms.SendResult, error) {
	resp, err := c.call(ctx, http.MethodPost, "/v1/messages", map[string]string{"to": m.To, "from": m.From, "text": m.Text, "ref": m.Reference}, true)
	if err != nil {
		return sms.SendResult{}, err
	}
	var out struct{ ID string }
	_ = json.Unmarshal(resp.Body, &out)
	return sms.SendResult{ProviderMessageID: out.ID}, nil
}

func (c *fsClient) Find(ctx context.Context, m sms.Message, _ time.Time) (string, bool, error) {
	resp, err := c.call(ctx, http.MethodGet, "/v1/messages?ref="+url.QueryEscape(m.Reference), nil, false)
	if err != nil {
		return "", false, err
	}
	var out struct{ Messages []struct{ ID string } }
	if err := json.Unmarshal(resp.Body, &out); err != nil || len(out.Messages) == 0 {
		return "", false, err
	}
	return out.Messages[0].ID, true, nil
}

// fsFake serves FakeSMS's API: the account, its inbound URL, sends and
// their lookup by reference, with faults; and posts signed inbound texts.
type fsFake struct {
	fakeapi.Base
	key     string
	mu      sync.Mutex
	refs    []string // of each message sent
	inbound string
}

func newFSFake(t *testing.T) *fsFake {
	f := &fsFake{key: "fs_key_conformance"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/account", func(w http.ResponseWriter, _ *http.Request) { fakeapi.JSON(w, 200, map[string]string{"id": "acct"}) })
	mux.HandleFunc("PUT /v1/inbound", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ URL string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.inbound = b.URL
		f.mu.Unlock()
		fakeapi.JSON(w, 200, map[string]string{"url": b.URL})
	})
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Ref string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		if f.Inject(w, func(int) any { return map[string]string{"code": "unavailable", "message": "try again"} }) {
			return
		}
		f.mu.Lock()
		f.refs = append(f.refs, b.Ref)
		id := fmt.Sprintf("fm_%d", len(f.refs))
		f.mu.Unlock()
		if !f.Hang(r) {
			fakeapi.JSON(w, http.StatusCreated, map[string]string{"id": id})
		}
	})
	mux.HandleFunc("GET /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var found []map[string]string
		for i, ref := range f.refs {
			if ref == r.URL.Query().Get("ref") {
				found = append(found, map[string]string{"id": fmt.Sprintf("fm_%d", i+1)})
			}
		}
		fakeapi.JSON(w, 200, map[string]any{"messages": found})
	})
	f.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fakeapi.Equal(r.Header.Get("Authorization"), "Bearer "+f.key) {
			fakeapi.JSON(w, http.StatusUnauthorized, map[string]string{"code": "unauthorized", "message": "Bad API key"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fsFake) pointed() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inbound
}

func (f *fsFake) sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.refs)
}

func (f *fsFake) post(t *testing.T, u, secret, from, text string) {
	body, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("in_%d", time.Now().UnixNano()), "from": from, "to": "FakeSMS", "text": text})
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(fsSignature, fsSign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	delivered(t, resp, err)
}

func fourthContender() contender {
	return contender{spec: fourthSpec(), start: func(t *testing.T) fake {
		f := newFSFake(t)
		return fake{
			settings: sms.Settings{Provider: fakeSMS, Sender: "FakeSMS", APIBaseURL: f.URL(),
				Credentials: map[string]string{"apiKey": f.key, "signingSecret": "fs_signing_secret"}},
			badKey: "apiKey",
			fail:   func() { f.FailNext(1, http.StatusServiceUnavailable) },
			hang:   func() { f.HangNext(1) },
			sent:   f.sent,
			deliver: func(t *testing.T, u string, creds map[string]string, from, text string) {
				f.post(t, u, creds["signingSecret"], from, text)
			},
			pointed: f.pointed,
		}
	}}
}

// The fourth provider is set up through the Hub API's PUT
// /v1/sms-provider from its spec alone: required and unknown credentials,
// its hosts, the credential check (422) and the inbound set-up.
func TestFourthProvider_SetUpThroughTheHubAPI(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	specs := conformanceSpecs()
	reg := smsproviders.Registry{Specs: specs}
	h := hubapi.New(hubapi.Deps{Store: st, Sealer: sealer, AdminToken: "admin", PublicBaseURL: "https://hooks.example.com",
		AllowPrivateHosts: true, SMSProviders: specs,
		SMSSetup: func(ctx context.Context, s sms.Settings) (sms.InboundSetup, error) {
			return reg.Setup(ctx, s, nil, true)
		}})
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
	f := newFSFake(t)
	put := func(base string, creds map[string]string) (int, map[string]any) {
		b, _ := json.Marshal(map[string]any{"provider": "fakesms", "sender": "FakeSMS", "companyName": "Acme", "apiBaseUrl": base, "credentials": creds})
		return call("PUT", "/v1/sms-provider", key, string(b))
	}
	invalid := func(code int, out map[string]any, field, want string) {
		t.Helper()
		e, _ := out["error"].(map[string]any)
		fields, _ := e["fields"].(map[string]any)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(fields[field]), want) {
			t.Fatalf("%d %v, want 400 with %s %q", code, out, field, want)
		}
	}
	code, out := put(f.URL(), map[string]string{"apiKey": f.key})
	invalid(code, out, "credentials.signingSecret", "required")
	code, out = put(f.URL(), map[string]string{"apiKey": f.key, "signingSecret": "s", "authToken": "x"})
	invalid(code, out, "credentials.authToken", "unknown field for fakesms")
	code, out = put("ftp://x", map[string]string{"apiKey": f.key, "signingSecret": "s"})
	invalid(code, out, "apiBaseUrl", "http(s) URL")
	code, out = call("PUT", "/v1/sms-provider", key, `{"provider":"nope","sender":"x","companyName":"Acme","credentials":{}}`)
	invalid(code, out, "provider", "fakesms")
	code, out = put(f.URL(), map[string]string{"apiKey": "wrong_key_value_1234", "signingSecret": "s"})
	if e, _ := out["error"].(map[string]any); code != http.StatusUnprocessableEntity || e["code"] != "credentials_rejected" ||
		!strings.Contains(fmt.Sprint(e["reason"]), "Bad API key") || strings.Contains(fmt.Sprint(out), "wrong_key_value_1234") {
		t.Fatalf("refused key: %d %v, want 422 credentials_rejected with FakeSMS's reason", code, out)
	}
	code, out = put(f.URL(), map[string]string{"apiKey": f.key, "signingSecret": "fs_signing_secret"})
	in, _ := out["inbound"].(map[string]any)
	if code != http.StatusOK || in["configured"] != true || f.pointed() != out["inboundUrl"] ||
		!strings.HasPrefix(fmt.Sprint(out["inboundUrl"]), "https://hooks.example.com/sms/inbound/fakesms/") || strings.Contains(fmt.Sprint(out), "fs_signing_secret") {
		t.Fatalf("set up: %d %v; the fake posts to %q", code, out, f.pointed())
	}
}
