package woocommerce_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

func client(t testing.TB, s *woocommercetest.Server, consentKey string) *woocommerce.Client {
	t.Helper()
	key, secret := s.Credentials()
	c, err := woocommerce.New(woocommerce.Config{StoreURL: s.URL(), ConsumerKey: key, ConsumerSecret: secret, SMSConsentMetaKey: consentKey, MaxRPS: 1000},
		source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listAll fetches every page of a plan concurrently, as the fan-out does.
func listAll(t *testing.T, c *woocommerce.Client, plan source.Plan) []source.Record {
	t.Helper()
	var (
		mu   sync.Mutex
		all  []source.Record
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8)
		errs []error
	)
	for _, cur := range plan.Fanout {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := c.FetchPage(context.Background(), cur)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			all = append(all, p.Records...)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d pages failed, first: %v", len(errs), errs[0])
	}
	return all
}

func TestBulkListing_EveryCustomerExactlyOnceDespiteFailures(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			s := woocommercetest.NewServer(woocommercetest.Options{Customers: 10000, Guests: 300, Seed: 1, FailEvery: 7, FailStatus: status})
			defer s.Close()
			c := client(t, s, "")
			plan, err := c.PlanBulk(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if plan.Chained || len(plan.Fanout) != 100+3 || plan.Total != 10000 {
				t.Fatalf("plan = %d pages, chained %v, total %d; want 103 fanned-out pages and 10000", len(plan.Fanout), plan.Chained, plan.Total)
			}
			seen := map[string]int{}
			guests := 0
			for _, r := range listAll(t, c, plan) {
				seen[r.ExternalID]++
				if r.Guest {
					guests++
				}
			}
			if len(seen) != 10300 || guests != 300 {
				t.Fatalf("%d distinct records (%d guests), want 10300 (300 guests)", len(seen), guests)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("record %s listed %d times", id, n)
				}
			}
		})
	}
}

func TestIncrementalListing_OnlyChanges(t *testing.T) {
	t.Parallel()
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 500, Seed: 2})
	defer s.Close()
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range []int64{3, 77, 450} {
		if _, ok := s.Update(id, since.Add(time.Hour), func(c *woocommerce.Customer) { c.FirstName = "Changed" }); !ok {
			t.Fatalf("no customer %d", id)
		}
	}
	c := client(t, s, "")
	plan, err := c.PlanIncremental(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	recs := listAll(t, c, plan)
	if len(recs) != 3 {
		t.Fatalf("incremental listing returned %d records, want the 3 changed", len(recs))
	}
	for _, r := range recs {
		if r.FirstName != "Changed" {
			t.Errorf("unexpected record %+v", r)
		}
	}
}

func TestAuth_WrongKeyIsUnauthorized(t *testing.T) {
	t.Parallel()
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 1})
	defer s.Close()
	c, err := woocommerce.New(woocommerce.Config{StoreURL: s.URL(), ConsumerKey: "ck_wrong", ConsumerSecret: "cs_wrong"}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PlanBulk(context.Background()); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("err = %v, want unauthorized", err)
	}
}

func TestMapping_ConsentFromMetaKeyAndGuests(t *testing.T) {
	t.Parallel()
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 200, Guests: 20, Seed: 3, ConsentMetaKey: "sms_consent"})
	defer s.Close()
	c := client(t, s, "sms_consent")
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	states := map[source.SignalState]int{}
	for _, r := range listAll(t, c, plan) {
		if !r.Guest {
			states[r.Consent.State]++
		}
		if r.Guest && !strings.HasPrefix(r.ExternalID, "order:") {
			t.Errorf("guest external id %q", r.ExternalID)
		}
	}
	if states[source.SignalSubscribed] == 0 || states[source.SignalUnsubscribed] == 0 || states[source.SignalNeverAsked] == 0 {
		t.Fatalf("consent states = %v, want all three", states)
	}
}

func TestWriteBack_SetsConsentMetaToNo(t *testing.T) {
	t.Parallel()
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 5})
	defer s.Close()
	if err := client(t, s, "sms_consent").WriteBackOptOut(context.Background(), "4", "+61412345678"); err != nil {
		t.Fatal(err)
	}
	wb := s.WriteBacks()
	if len(wb) != 1 || wb[0].CustomerID != 4 || wb[0].Meta["sms_consent"] != "no" {
		t.Fatalf("write-backs = %+v", wb)
	}
	if err := client(t, s, "").WriteBackOptOut(context.Background(), "4", ""); err == nil {
		t.Fatal("write-back without a meta key succeeded")
	}
	if err := client(t, s, "k").WriteBackOptOut(context.Background(), "order:1000", ""); err == nil {
		t.Fatal("write-back to a guest succeeded")
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
