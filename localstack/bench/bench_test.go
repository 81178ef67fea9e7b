package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
)

// TestBench runs the whole benchmark at a small size on the embedded stack
// (started if it is not running) and checks what it measured: every install
// adds up, an unchanged re-sync writes no contact item, the update pass
// updates every valid customer, the webhook load ends exact with no error,
// every STOP unsubscribes its number and is confirmed, and the results are
// written as markdown and JSON.
func TestBench(t *testing.T) {
	if _, err := stacktest.Config(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	s := settings{Size: 150, Platforms: []string{"woocommerce", "shopify", "shopify-bulk", "mailchimp", "klaviyo"}, Workers: 4,
		Rates: []int{30}, RateDuration: 2 * time.Second, Stops: 40, Out: out, Quiet: true}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := run(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Platforms) != len(s.Platforms) {
		t.Fatalf("%d platforms measured, want %d", len(res.Platforms), len(s.Platforms))
	}
	for _, p := range res.Platforms {
		if p.Install.Seen != p.Records || p.Install.Counts.Created == 0 || p.Install.PerSecond <= 0 {
			t.Errorf("%s install: %+v of %d records", p.Platform, p.Install.Counts, p.Records)
		}
		if p.Resync.ContactItems != 0 || p.Resync.Counts.Unchanged == 0 {
			t.Errorf("%s re-sync of an unchanged store wrote %d contact items (%+v)", p.Platform, p.Resync.ContactItems, p.Resync.Counts)
		}
		if p.Unlimited.Seen != p.Records {
			t.Errorf("%s unlimited install saw %d of %d", p.Platform, p.Unlimited.Seen, p.Records)
		}
		if p.Update != nil && p.Update.Counts.Updated != p.Install.Counts.Created {
			t.Errorf("%s update pass updated %d, want every created contact (%d)", p.Platform, p.Update.Counts.Updated, p.Install.Counts.Created)
		}
	}
	if res.Units.WCUNew <= 0 || res.Units.WCUUpdated <= 0 || res.Units.WCUUnchanged >= 0.5 {
		t.Errorf("units per contact: %+v", res.Units)
	}
	for _, w := range res.Webhooks {
		if !w.Exact || w.Errors != 0 || w.Duplicates == 0 || w.Requests == 0 {
			t.Errorf("webhooks at %d/s: %+v", w.Rate, w)
		}
	}
	if st := res.Stops; !st.AllUnsubscribed || st.Errors != 0 || st.Confirmations != s.Stops {
		t.Errorf("STOP burst: %+v", st)
	}
	if res.Cost.Install.Total <= 0 || res.Cost.Resync.Total >= res.Cost.Install.Total {
		t.Errorf("cost model: %+v", res.Cost)
	}
	md, js, err := res.write(out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var back results
	if err := json.Unmarshal(b, &back); err != nil || len(back.Platforms) != len(s.Platforms) {
		t.Fatalf("results.json: %v (%d platforms)", err, len(back.Platforms))
	}
	table, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| measure | result | goal / bound |", "WooCommerce install", "Shopify (bulk export) install", "webhooks at 30/s", "STOP replies", "cost per million contacts"} {
		if !strings.Contains(string(table), want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
}
