package main

import (
	"math"
	"strconv"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// A fakeStore is one platform fake serving a generated store.
type fakeStore struct {
	config  map[string]string
	records int // what a full listing returns (customers + guest orders)
	close   func()
	// update changes every customer's name (a newer updated-at), so the
	// next sync updates them all; nil where the bench does not use it.
	update func(at time.Time)
}

// platform describes one platform's benchmark: its fake at the platform's
// real default rate limit (limited) or with limits off, and the bound —
// the customers per second the real default limit allows a perfect client.
type platform struct {
	name, label string
	// limit describes the limit the bound comes from (for the table).
	limit string
	// bound is the customers/s the real default limit allows a perfect
	// client listing a store of n customers (bursts included).
	bound func(n int) float64
	// platform is the connection's platform ("" = name).
	platform string
	// unlimited: the platform sets no rate limit on this path (bound +Inf).
	unlimited bool
	start     func(size int, limited bool) fakeStore
}

// mailchimpLatency is the fake's time per members page: Mailchimp's limit
// is on simultaneous connections, so its bound depends on how long a
// request takes; 200 ms for a 1,000-member page is what we assume.
const mailchimpLatency = 200 * time.Millisecond

func platforms() []platform {
	return []platform{
		{
			name: "woocommerce", label: "WooCommerce",
			limit: "host limit 10 req/s (core has none) × 100 per page",
			bound: func(n int) float64 { return perSecondBound(n, woocommerce.PerPage, 10, 0) },
			start: func(size int, limited bool) fakeStore {
				rps := 0.0
				if limited {
					rps = 10
				}
				s := woocommercetest.NewServer(woocommercetest.Options{Customers: size, Seed: 7, RateLimit: rps})
				key, secret := s.Credentials()
				cfg := map[string]string{"storeUrl": s.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "bench"}
				if !limited {
					// Limits off: our own pace too (20/s by default).
					cfg["maxRequestsPerSecond"] = strconv.Itoa(woocommerce.MaxMaxRPS)
				}
				return fakeStore{config: cfg, records: size, close: s.Close}
			},
		},
		{
			name: "shopify", label: "Shopify",
			limit: "Standard plan: 100 cost points/s restore, 2,000 bucket",
			bound: shopifyBound,
			start: func(size int, limited bool) fakeStore { return shopifyStore(size, limited, false) },
		},
		{
			// The install through Bulk Operations (the default for
			// installs): the export and its download do not use the cost
			// bucket, so no platform limit bounds it.
			name: "shopify-bulk", label: "Shopify (bulk export)", platform: "shopify",
			limit:     "Bulk Operations: no rate limit on the export download",
			bound:     func(int) float64 { return math.Inf(1) },
			unlimited: true,
			start:     func(size int, limited bool) fakeStore { return shopifyStore(size, limited, true) },
		},
		{
			name: "mailchimp", label: "Mailchimp",
			limit: "10 simultaneous connections × 1,000 per page at 200 ms per page",
			bound: func(n int) float64 {
				waves := (pages(n, 1000) + 9) / 10 // 10 connections at a time
				return float64(n) / (float64(waves) * mailchimpLatency.Seconds())
			},
			start: func(size int, limited bool) fakeStore {
				opts := mailchimptest.Options{Members: size, Seed: 7}
				if limited {
					opts.Latency = mailchimpLatency
				}
				s := mailchimptest.NewServer(opts)
				return fakeStore{config: map[string]string{"apiKey": s.APIKey(), "audienceId": s.AudienceID(), "apiBaseUrl": s.URL()},
					records: size, close: s.Close}
			},
		},
		{
			name: "klaviyo", label: "Klaviyo",
			limit: "Get Profiles: 75/s burst, 750/min steady × 100 per page",
			bound: func(n int) float64 { return perSecondBound(n, 100, 75, 750) },
			start: func(size int, limited bool) fakeStore {
				opts := klaviyotest.Options{Profiles: size, Seed: 7}
				if !limited {
					opts.PerSecond, opts.PerMinute = -1, -1
				}
				s := klaviyotest.NewServer(opts)
				return fakeStore{config: map[string]string{"privateApiKey": s.APIKey(), "apiBaseUrl": s.URL()},
					records: size, close: s.Close}
			},
		},
	}
}

// shopifyStore starts the Shopify fake; bulk turns the connection's
// Bulk Operations install on (off: GraphQL pages under the cost bucket).
func shopifyStore(size int, limited, bulk bool) fakeStore {
	opts := shopifytest.Options{Customers: size, Seed: 7}
	if !limited {
		opts.RestoreRate, opts.MaxAvailable = 1e6, 1e6
	}
	s := shopifytest.NewServer(opts)
	return fakeStore{config: map[string]string{"shopDomain": s.Domain(), "accessToken": s.AccessToken(), "webhookSecret": "bench",
		"apiBaseUrl": s.URL(), "bulkOperations": strconv.FormatBool(bulk)},
		records: size, close: s.Close,
		update: func(at time.Time) {
			for n := 1; n <= size; n++ {
				s.Update(n, at, func(first, _ *string) { *first += " Jr" })
			}
		}}
}

// shopifyBound is what Shopify's Standard-plan bucket allows paginated
// GraphQL listing of n customers: the bucket starts full (2,000 points),
// then restores 100 points/s; a 250-customer page costs 252 points.
func shopifyBound(n int) float64 {
	need := float64(pages(n, 250))*252 - 2000
	if need <= 0 {
		return math.Inf(1)
	}
	return float64(n) / (need / 100)
}

// perSecondBound is n over the least time a client needs for the pages of
// n at perSecond requests in any second and perMinute in any minute (0: no
// such limit), counting from its first request.
func perSecondBound(n, perPage int, perSecond, perMinute float64) float64 {
	p := float64(pages(n, perPage))
	t := (p - 1) / perSecond
	if perMinute > 0 {
		t = math.Max(t, math.Floor((p-1)/perMinute)*60)
	}
	if t <= 0 {
		return math.Inf(1)
	}
	return float64(n) / t
}

func pages(n, perPage int) int { return (n + perPage - 1) / perPage }
