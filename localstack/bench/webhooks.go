package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// webhookResult is one fixed-rate webhook load.
type webhookResult struct {
	Rate       int     `json:"rate"`
	Requests   int     `json:"requests"`
	Duplicates int     `json:"duplicates"`
	OutOfOrder int     `json:"outOfOrder"`
	Customers  int     `json:"customers"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
	// RetryLater counts 409 in_progress answers: duplicates that arrived
	// while their first delivery was still being applied. The platform
	// retries them later; they are not errors.
	RetryLater int `json:"retryLater"`
	// Errors counts every other answer that is not 2xx.
	Errors int `json:"errors"`
	// Statuses counts answers by HTTP status ("0" for transport errors).
	Statuses map[string]int `json:"statuses"`
	// DynamoDB requests and write units per delivery (AWS pricing rules).
	DynamoDBPerDelivery float64 `json:"dynamodbRequestsPerDelivery"`
	WCUPerDelivery      float64 `json:"wcuPerDelivery"`
	Throughput          float64 `json:"throughput"`
	Exact               bool    `json:"exact"`
	ExactDetail         string  `json:"exactDetail,omitempty"`
}

// versions is how many versions of each customer a load delivers.
const versions = 3

// delivery is one signed WooCommerce webhook request.
type delivery struct {
	header http.Header
	body   []byte
}

// webhookLoad sends WooCommerce customer webhooks to a fresh connection at a
// fixed rate for d: every customer in three versions (created, then two
// updates with newer date_modified_gmt), 10 % of the deliveries sent twice
// (same delivery id and body, as WooCommerce retries) and 10 % of the
// version pairs swapped so the older version arrives after the newer. It
// then checks the final data is exact: one contact per customer holding the
// newest version.
func (b *bench) webhookLoad(ctx context.Context, rate int, d time.Duration) (webhookResult, error) {
	res := webhookResult{Rate: rate}
	tenant, api, err := b.newTenant(ctx, fmt.Sprintf("webhooks %d/s", rate))
	if err != nil {
		return res, err
	}
	empty := woocommercetest.NewServer(woocommercetest.Options{})
	defer empty.Close()
	key, secret := empty.Credentials()
	const whSecret = "bench-webhook-secret"
	var conn struct{ ID, SyncID string }
	if err := api.Do(ctx, "POST", "/v1/connections", map[string]any{
		"platform": "woocommerce", "label": "WooCommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": empty.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": whSecret},
	}, &conn); err != nil {
		return res, err
	}
	if _, err := b.waitRun(ctx, tenant, conn.SyncID, time.Minute); err != nil {
		return res, err
	}

	total := int(float64(rate) * d.Seconds())
	res.Customers = max(1, int(float64(total)/(versions*1.1)))
	seq, dups, swaps, err := deliveries(rate, res.Customers, whSecret, empty.URL())
	if err != nil {
		return res, err
	}
	res.Duplicates, res.OutOfOrder = dups, swaps
	url := b.app.BaseURL + "/webhooks/woocommerce/" + conn.ID
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		i := int(next.Add(1)) - 1
		if i >= len(seq) {
			return vegeta.ErrNoTargets
		}
		*t = vegeta.Target{Method: http.MethodPost, URL: url, Body: seq[i].body, Header: seq[i].header}
		return nil
	}
	attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.Workers(uint64(max(8, rate/10))))
	var m vegeta.Metrics
	ph := b.begin()
	for r := range attacker.Attack(vegeta.Targeter(targeter), vegeta.Rate{Freq: rate, Per: time.Second}, 0, "webhooks") {
		if r.Error == vegeta.ErrNoTargets.Error() {
			continue // the end of the sequence, not a request
		}
		m.Add(r)
		if r.Code == http.StatusConflict && strings.Contains(string(r.Body), `"in_progress"`) {
			res.RetryLater++ // a duplicate whose first delivery is still in flight
		} else if r.Code < 200 || r.Code >= 300 {
			res.Errors++
			if b.s.Verbose && r.Error != "" {
				b.logf("webhook %d: %s %s", r.Code, r.Error, r.Body)
			} else if b.s.Verbose {
				b.logf("webhook %d: %s", r.Code, r.Body)
			}
		}
	}
	m.Close()
	used := b.end(ph, store.Counts{})
	if len(seq) > 0 {
		res.DynamoDBPerDelivery = float64(used.DynamoDB) / float64(len(seq))
		res.WCUPerDelivery = used.WCU / float64(len(seq))
	}
	res.Requests = int(m.Requests)
	if res.Requests != len(seq) {
		return res, fmt.Errorf("sent %d of %d deliveries", res.Requests, len(seq))
	}
	res.Statuses = m.StatusCodes
	res.P50Ms = ms(m.Latencies.P50)
	res.P99Ms = ms(m.Latencies.P99)
	res.MaxMs = ms(m.Latencies.Max)
	res.Throughput = m.Throughput
	res.Exact, res.ExactDetail = b.checkWebhookData(ctx, tenant, rate, res.Customers)
	return res, nil
}

// deliveries builds the load's requests in sending order.
func deliveries(rate, customers int, secret, source string) (seq []delivery, dups, swaps int, err error) {
	rng := rand.New(rand.NewPCG(uint64(rate), 42))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	byVersion := make([][]delivery, versions)
	for v := 1; v <= versions; v++ {
		for c := 0; c < customers; c++ {
			id := webhookCustomerID(rate, c)
			cust := woocommerce.Customer{ID: id, Email: fmt.Sprintf("w%d@bench.example", id), FirstName: fmt.Sprintf("v%d", v), LastName: "Load",
				Role: "customer", Username: fmt.Sprint("w", id),
				Billing: woocommerce.Address{FirstName: fmt.Sprintf("v%d", v), LastName: "Load", Phone: webhookPhone(c), Country: "AU", Email: fmt.Sprintf("w%d@bench.example", id)}}
			cust.DateCreatedGMT = woocommerce.WCTime{Time: base}
			cust.DateModifiedGMT = woocommerce.WCTime{Time: base.Add(time.Duration(v) * time.Minute)}
			body, err := woocommercetest.EncodePHP(cust)
			if err != nil {
				return nil, 0, 0, err
			}
			topic := "customer.updated"
			if v == 1 {
				topic = "customer.created"
			}
			h := http.Header{}
			h.Set("Content-Type", "application/json")
			h.Set("User-Agent", "WooCommerce/9.4.0 Hookshot (WordPress/6.7)")
			h.Set("X-WC-Webhook-Source", source+"/")
			h.Set("X-WC-Webhook-Topic", topic)
			h.Set("X-WC-Webhook-Resource", "customer")
			h.Set("X-WC-Webhook-Event", topic[len("customer."):])
			h.Set("X-WC-Webhook-ID", "7")
			h.Set("X-WC-Webhook-Delivery-ID", fmt.Sprintf("bench-%d-%d-%d", rate, c, v))
			h.Set("X-WC-Webhook-Signature", woocommerce.Sign(secret, body))
			byVersion[v-1] = append(byVersion[v-1], delivery{header: h, body: body})
		}
	}
	// Out of order: for 10 % of the customers, the second and third
	// versions swap places, so the newest arrives before an older one.
	for c := 0; c < customers; c++ {
		if rng.Float64() < 0.1 {
			byVersion[1][c], byVersion[2][c] = byVersion[2][c], byVersion[1][c]
			swaps++
		}
	}
	for v := range byVersion {
		seq = append(seq, byVersion[v]...)
	}
	// Duplicates: 10 % of deliveries are sent again a little later.
	out := make([]delivery, 0, len(seq)+len(seq)/9)
	var pending []delivery
	for i, dl := range seq {
		out = append(out, dl)
		if rng.Float64() < 0.1 {
			pending = append(pending, dl)
			dups++
		}
		if i%20 == 19 {
			out, pending = append(out, pending...), nil
		}
	}
	return append(out, pending...), dups, swaps, nil
}

func webhookCustomerID(rate, c int) int64 { return int64(rate)*1_000_000 + int64(c) + 1 }

// webhookPhone is a distinct valid Australian mobile number per customer,
// written the way shoppers type it.
// (Each rate's load has its own tenant, so rates may share numbers.)
func webhookPhone(c int) string {
	n := c % 10_000_000
	return fmt.Sprintf("041%d %03d %03d", n/1_000_000, n/1000%1000, n%1000)
}

// checkWebhookData checks one contact per customer holding the newest
// version.
func (b *bench) checkWebhookData(ctx context.Context, tenant string, rate, customers int) (bool, string) {
	wrong := 0
	first := ""
	for c := 0; c < customers; c++ {
		id := webhookCustomerID(rate, c)
		want := fmt.Sprintf("v%d", versions)
		ok, why := b.contactHas(ctx, tenant, fmt.Sprintf("w%d@bench.example", id), want)
		if !ok {
			wrong++
			if first == "" {
				first = fmt.Sprintf("customer %d: %s", id, why)
			}
		}
	}
	n, err := b.countContacts(ctx, tenant)
	if err != nil {
		return false, err.Error()
	}
	if wrong > 0 || n != customers {
		return false, fmt.Sprintf("%d of %d customers wrong (%s); %d contacts for %d customers", wrong, customers, first, n, customers)
	}
	return true, ""
}

// contactHas finds the tenant's contact by email and checks its first name.
func (b *bench) contactHas(ctx context.Context, tenant, email, firstName string) (bool, string) {
	cs, _, err := b.app.Store.ListContacts(ctx, tenant, store.ContactFilter{Query: email}, 10, "")
	if err != nil {
		return false, err.Error()
	}
	if len(cs) != 1 {
		return false, fmt.Sprintf("%d contacts", len(cs))
	}
	if cs[0].FirstName.Value != firstName {
		return false, fmt.Sprintf("first name %q, want %q", cs[0].FirstName.Value, firstName)
	}
	return true, ""
}

// countContacts counts a tenant's contacts.
func (b *bench) countContacts(ctx context.Context, tenant string) (int, error) {
	n, cursor := 0, ""
	for {
		cs, next, err := b.app.Store.ListContacts(ctx, tenant, store.ContactFilter{}, 100, cursor)
		if err != nil {
			return n, err
		}
		n += len(cs)
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
