package connectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// plain opens configs stored unsealed (the registry's sealing is not
// under test here).
type plain struct{}

func (plain) Open(_ string, sealed []byte) ([]byte, error) { return sealed, nil }

func connection(t *testing.T, id, platform string, cfg map[string]string) store.Connection {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return store.Connection{TenantID: "t1", ID: id, Platform: platform, Config: raw, Version: 1}
}

// counter is a server that counts the requests reaching it.
func counter(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// fetch plans a connection and fetches its first page.
func fetch(ctx context.Context, r *connectors.Registry, conn store.Connection) error {
	src, err := r.Source(ctx, conn)
	if err != nil {
		return err
	}
	plan, err := src.PlanBulk(ctx)
	if err != nil {
		return err
	}
	for _, cur := range plan.Fanout {
		if _, err := src.FetchPage(ctx, cur); err != nil {
			return err
		}
	}
	return nil
}

// Without the local setting, a connection pointing at a private, loopback
// or link-local host, over http or https, or at a host that is not the
// platform's, gets no client: a permanent error, and no request leaves.
func TestRegistryRefusesPrivateHosts(t *testing.T) {
	srv, hits := counter(t, nil)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	shop := func(base string) map[string]string {
		return map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "tok", "webhookSecret": "w", "apiBaseUrl": base}
	}
	woo := func(u string) map[string]string {
		return map[string]string{"storeUrl": u, "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"}
	}
	cases := []struct {
		platform string
		cfg      map[string]string
	}{
		{"shopify", shop(srv.URL)},
		{"shopify", shop("https://127.0.0.1:" + port)},
		{"shopify", shop("https://169.254.169.254")},
		{"shopify", shop("https://[::1]:" + port)},
		{"shopify", shop("https://localhost:" + port)},
		{"shopify", map[string]string{"shopDomain": "127.0.0.1:" + port, "accessToken": "tok", "webhookSecret": "w"}},
		{"woocommerce", woo(srv.URL)},
		{"woocommerce", woo("https://[::ffff:127.0.0.1]:" + port)},
		{"woocommerce", woo("https://169.254.169.254/latest/meta-data")},
		{"mailchimp", map[string]string{"apiKey": "k-us6", "audienceId": "a", "apiBaseUrl": srv.URL}},
		{"mailchimp", map[string]string{"apiKey": "k-127.0.0.1:" + port, "audienceId": "a"}},
		{"klaviyo", map[string]string{"privateApiKey": "pk", "apiBaseUrl": srv.URL}},
	}
	r := &connectors.Registry{Opener: plain{}}
	for i, tc := range cases {
		err := fetch(context.Background(), r, connection(t, "c"+string(rune('a'+i)), tc.platform, tc.cfg))
		if !errors.Is(err, connectors.ErrForbiddenHost) || !errors.Is(err, source.ErrPermanent) {
			t.Errorf("%s %v: %v, want a permanent ErrForbiddenHost", tc.platform, tc.cfg, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the private host", n)
	}
}

// Every platform client follows no redirect: a 3xx to another host is a
// permanent error, and the other host (with the access token) sees nothing.
func TestRegistryFollowsNoRedirect(t *testing.T) {
	target, targetHits := counter(t, nil)
	front, _ := counter(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	r := &connectors.Registry{Opener: plain{}, AllowPrivateHosts: true}
	for i, tc := range []struct {
		platform string
		cfg      map[string]string
	}{
		{"shopify", map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "tok", "webhookSecret": "w", "apiBaseUrl": front.URL}},
		{"woocommerce", map[string]string{"storeUrl": front.URL, "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"}},
		{"mailchimp", map[string]string{"apiKey": "k-us6", "audienceId": "a", "apiBaseUrl": front.URL}},
		{"klaviyo", map[string]string{"privateApiKey": "pk", "apiBaseUrl": front.URL}},
	} {
		err := fetch(context.Background(), r, connection(t, "r"+string(rune('a'+i)), tc.platform, tc.cfg))
		if !errors.Is(err, source.ErrPermanent) {
			t.Errorf("%s: %v, want a permanent error", tc.platform, err)
		}
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("%d requests followed a redirect", n)
	}
}

// With the local setting, fakes on loopback over http are reachable.
func TestRegistryAllowsFakesWhenSet(t *testing.T) {
	srv, hits := counter(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"customers":{"pageInfo":{"hasNextPage":false},"nodes":[]}}}`))
	})
	r := &connectors.Registry{Opener: plain{}, AllowPrivateHosts: true}
	err := fetch(context.Background(), r, connection(t, "ok", "shopify", map[string]string{"shopDomain": "acme.myshopify.com", "accessToken": "tok", "webhookSecret": "w", "apiBaseUrl": srv.URL, "bulkOperations": "false"}))
	if err != nil || hits.Load() == 0 {
		t.Fatalf("fetch: %v after %d requests", err, hits.Load())
	}
}

// A platform's error answer does not reach the error text (which a sync
// records and GET /v1/syncs/{id} shows): status and error code at most.
func TestErrorsCarryNoResponseBody(t *testing.T) {
	const marker = "tenant-controlled-body-text"
	for i, tc := range []struct {
		platform string
		status   int
		body     string
	}{
		{"shopify", http.StatusBadRequest, `{"errors":"` + marker + `"}`},
		{"shopify", http.StatusOK, `{"errors":[{"message":"` + marker + `","extensions":{"code":"BAD_REQUEST"}}]}`},
		{"woocommerce", http.StatusBadRequest, `{"code":"woocommerce_rest_bad","message":"` + marker + `"}`},
		{"mailchimp", http.StatusBadRequest, `{"title":"Invalid","detail":"` + marker + `"}`},
		{"klaviyo", http.StatusBadRequest, `{"errors":[{"code":"invalid","title":"` + marker + `","detail":"` + marker + `"}]}`},
	} {
		srv, _ := counter(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		})
		cfg := map[string]map[string]string{
			"shopify":     {"shopDomain": "acme.myshopify.com", "accessToken": "tok", "webhookSecret": "w", "apiBaseUrl": srv.URL, "bulkOperations": "false"},
			"woocommerce": {"storeUrl": srv.URL, "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"},
			"mailchimp":   {"apiKey": "k-us6", "audienceId": "a", "apiBaseUrl": srv.URL},
			"klaviyo":     {"privateApiKey": "pk", "apiBaseUrl": srv.URL},
		}[tc.platform]
		r := &connectors.Registry{Opener: plain{}, AllowPrivateHosts: true}
		err := fetch(context.Background(), r, connection(t, "e"+string(rune('a'+i)), tc.platform, cfg))
		if err == nil || strings.Contains(err.Error(), marker) {
			t.Errorf("%s %d: error %v, want one without the answer's text", tc.platform, tc.status, err)
		}
	}
}

// An answer longer than a client's documented cap (64 MiB at most) is
// refused, not read: a permanent error after one request. (Reading an
// answer of unannounced length stops at the cap: safehttp's TestReadBody.)
func TestOversizedAnswersAreRefused(t *testing.T) {
	for i, platform := range []string{"shopify", "woocommerce", "mailchimp", "klaviyo"} {
		srv, hits := counter(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-WP-Total", "1")
			w.Header().Set("X-WP-TotalPages", "1")
			w.Header().Set("Content-Length", strconv.Itoa(1<<30)) // a gigabyte announced
			_, _ = w.Write([]byte("{"))
		})
		cfg := map[string]map[string]string{
			"shopify":     {"shopDomain": "acme.myshopify.com", "accessToken": "tok", "webhookSecret": "w", "apiBaseUrl": srv.URL, "bulkOperations": "false"},
			"woocommerce": {"storeUrl": srv.URL, "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"},
			"mailchimp":   {"apiKey": "k-us6", "audienceId": "a", "apiBaseUrl": srv.URL},
			"klaviyo":     {"privateApiKey": "pk", "apiBaseUrl": srv.URL},
		}[platform]
		r := &connectors.Registry{Opener: plain{}, AllowPrivateHosts: true}
		err := fetch(context.Background(), r, connection(t, "big"+string(rune('a'+i)), platform, cfg))
		if !errors.Is(err, safehttp.ErrBodyTooLarge) || !errors.Is(err, source.ErrPermanent) {
			t.Errorf("%s: %v, want a permanent ErrBodyTooLarge", platform, err)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("%s: %d requests, want 1 (no retry)", platform, n)
		}
	}
}
