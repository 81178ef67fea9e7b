package connectors_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// delivered fails the test unless the fake's delivery was answered 2xx.
func delivered(t *testing.T, resp *http.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("delivery answered %d", resp.StatusCode)
	}
}

func with(cfg map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range cfg {
		if key != k {
			out[key] = val
		}
	}
	return out
}

func shopifyContender() contender {
	return contender{spec: shopify.Spec(), start: func(t *testing.T, n int, faults bool) fake {
		opts := shopifytest.Options{Customers: n, Seed: 11, RestoreRate: 1e6, MaxAvailable: 1e6, BulkDelay: -1}
		if faults {
			// 503s, 429s with Retry-After, and result downloads cut halfway.
			opts.FailEvery, opts.TooManyEvery, opts.CutEvery = 5, 7, 2
		}
		s := shopifytest.NewServer(opts)
		t.Cleanup(s.Close)
		cfg := map[string]string{"shopDomain": s.Domain(), "accessToken": s.AccessToken(), "webhookSecret": shopifytest.OAuthClientSecret, "apiBaseUrl": s.URL()}
		return fake{
			cfg: cfg, badCreds: with(cfg, "accessToken", "wrong"),
			touch: func(n int, at time.Time, first string) { s.Update(n, at, func(f, _ *string) { *f = first }) },
			deliver: func(t *testing.T, url string, n int) {
				resp, err := s.SendWebhook(context.Background(), url, cfg["webhookSecret"], "customers/update", s.CustomerPayload(n))
				delivered(t, resp, err)
			},
			writeBack: func(*testing.T) (string, string, func() bool) {
				s.SetSMSConsent(1, "+61412345678", "SUBSCRIBED", time.Now())
				id := strconv.FormatInt(shopifytest.BaseID+1, 10)
				return id, "+61412345678", func() bool { return slices.Contains(s.WriteBacks(), "gid://shopify/Customer/"+id) }
			},
			transient: []error{&httpx.Error{Platform: "shopify", Status: http.StatusTooManyRequests}, fmt.Errorf("page: %w", &httpx.Error{Platform: "shopify", Status: http.StatusServiceUnavailable})},
		}
	}}
}

func wooContender() contender {
	return contender{spec: woocommerce.Spec(), start: func(t *testing.T, n int, faults bool) fake {
		opts := woocommercetest.Options{Customers: n, Seed: 12, ConsentMetaKey: "sms_consent"}
		if faults {
			opts.FailEvery, opts.FailStatus = 2, http.StatusTooManyRequests // with Retry-After
		}
		s := woocommercetest.NewServer(opts)
		t.Cleanup(s.Close)
		key, secret := s.Credentials()
		cfg := map[string]string{"storeUrl": s.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "whsec_woo", "smsConsentMetaKey": "sms_consent"}
		return fake{
			cfg: cfg, badCreds: with(cfg, "consumerSecret", "wrong"),
			touch: func(n int, at time.Time, first string) {
				s.Update(int64(n), at, func(c *woocommerce.Customer) { c.FirstName = first })
			},
			deliver: func(t *testing.T, url string, n int) {
				cust, _ := s.Customer(int64(n))
				resp, err := s.SendWebhook(context.Background(), url, cfg["webhookSecret"], "customer.updated", cust)
				delivered(t, resp, err)
			},
			writeBack: func(*testing.T) (string, string, func() bool) {
				return "4", "+61412345678", func() bool {
					wb := s.WriteBacks()
					return len(wb) == 1 && wb[0].CustomerID == 4 && wb[0].Meta["sms_consent"] == "no"
				}
			},
			transient: []error{&httpx.Error{Platform: "woocommerce", Status: http.StatusTooManyRequests}, &httpx.Error{Platform: "woocommerce", Status: http.StatusBadGateway}},
		}
	}}
}

func mailchimpContender() contender {
	return contender{spec: mailchimp.Spec(), start: func(t *testing.T, n int, faults bool) fake {
		opts := mailchimptest.Options{Members: n, Seed: 13}
		if faults {
			opts.FailEvery = 2 // 503
		}
		s := mailchimptest.NewServer(opts)
		t.Cleanup(s.Close)
		cfg := map[string]string{"apiKey": s.APIKey(), "audienceId": s.AudienceID(), "apiBaseUrl": s.URL(), "webhookToken": "tok_conformance"}
		return fake{
			cfg: cfg, badCreds: with(cfg, "apiKey", "wrong-us6"),
			touch: func(n int, at time.Time, first string) {
				s.Update(n, at, func(m map[string]any) { m["merge_fields"].(map[string]any)["FNAME"] = first })
			},
			deliver: func(t *testing.T, url string, n int) {
				resp, err := s.SendWebhook(context.Background(), url+"?token="+cfg["webhookToken"], "profile", n)
				delivered(t, resp, err)
			},
			// Mailchimp's API cannot take an SMS opt-out.
			transient: []error{&httpx.Error{Platform: "mailchimp", Status: http.StatusTooManyRequests}, &httpx.Error{Platform: "mailchimp", Status: http.StatusServiceUnavailable}},
		}
	}}
}

func klaviyoContender() contender {
	return contender{spec: klaviyo.Spec(), start: func(t *testing.T, n int, faults bool) fake {
		opts := klaviyotest.Options{Profiles: n, Seed: 14, PerSecond: -1, PerMinute: -1}
		if faults {
			// 503s, and a per-second limit answered 429 with Retry-After.
			opts.FailEvery, opts.PerSecond = 2, 2
		}
		s := klaviyotest.NewServer(opts)
		t.Cleanup(s.Close)
		cfg := map[string]string{"privateApiKey": s.APIKey(), "apiBaseUrl": s.URL(), "webhookSecret": "whsec_klaviyo"}
		return fake{
			cfg: cfg, badCreds: with(cfg, "privateApiKey", "wrong"),
			touch: func(n int, at time.Time, first string) {
				s.Update(n, at, func(attrs map[string]any) { attrs["first_name"] = first })
			},
			deliver: func(t *testing.T, url string, n int) {
				resp, err := s.SendWebhook(context.Background(), url, cfg["webhookSecret"], "profile:updated", n, time.Now())
				delivered(t, resp, err)
			},
			writeBack: func(*testing.T) (string, string, func() bool) {
				return "01K", "+61412345678", func() bool { return slices.Equal(s.Unsubscribed(), []string{"+61412345678"}) }
			},
			transient: []error{&httpx.Error{Platform: "klaviyo", Status: http.StatusTooManyRequests}, &httpx.Error{Platform: "klaviyo", Status: http.StatusInternalServerError}},
		}
	}}
}
