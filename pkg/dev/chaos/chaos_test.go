package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/chaos"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

func records(c merge.Connection, n int, at time.Time) []source.Record {
	out := make([]source.Record, n)
	for i := range out {
		out[i] = source.Record{Platform: source.Shopify, Label: c.Label, ConnectionID: c.ID, ExternalID: fmt.Sprint(i), UpdatedAt: at,
			FirstName: "N", LastName: fmt.Sprint(i), Emails: []string{fmt.Sprintf("p%d@example.com", i)},
			Phones:  []source.PhoneField{{Raw: fmt.Sprintf("+614%08d", 10000+i)}},
			Consent: source.ConsentSignal{State: source.SignalSubscribed, At: at}, Groups: []string{"VIP"}, HasGroups: true}
	}
	return out
}

// TestFaults_PagesThroughAFaultyNetworkLoseAndDuplicateNothing applies
// pages of records through Toxiproxy in front of DynamoDB Local with added
// latency, connection resets, a bandwidth limit and timeouts; a page that
// fails is retried as SQS would redeliver it. Afterwards, read directly: the
// contacts are exactly the records, none twice, and a STOP recorded in the
// middle of the storm was not undone by any retried page.
func TestFaults_PagesThroughAFaultyNetworkLoseAndDuplicateNothing(t *testing.T) {
	s := stacktest.New(t)
	ctx := context.Background()
	endpoint := s.DynamoDB.Options().BaseEndpoint
	if endpoint == nil {
		t.Fatal("no DynamoDB endpoint: this test needs a local emulator")
	}
	u, err := url.Parse(*endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := chaos.New(t, "dynamodb", u.Host)
	faulty := dynamodb.NewFromConfig(s.Config, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(proxy.URL())
		o.DisableValidateResponseChecksum = true
		o.RetryMaxAttempts = 8
	})
	proxy.Add(t, "latency", "latency", "downstream", 1, map[string]int{"latency": 15, "jitter": 10})
	proxy.Add(t, "reset", "reset_peer", "upstream", 0.03, map[string]int{"timeout": 5})
	proxy.Add(t, "bandwidth", "bandwidth", "downstream", 0.2, map[string]int{"rate": 256})
	proxy.Add(t, "slicer", "slicer", "downstream", 0.2, map[string]int{"average_size": 64, "size_variation": 32, "delay": 100})

	// The faults are on the path: a read through the proxy is slowed down.
	start := time.Now()
	for range 3 {
		if _, err := faulty.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 3*5*time.Millisecond {
		t.Fatalf("3 reads through the proxy took %v: the latency toxic is not in the path", d)
	}
	c := merge.Connection{ID: "c1", Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}
	st := store.New(faulty, s.Table)
	direct := store.New(s.DynamoDB, s.Table)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs := records(c, 300, t0)
	stopped := "+61400010042"
	var wg sync.WaitGroup
	for p := 0; p < len(recs); p += 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			page := recs[p:min(p+50, len(recs))]
			for attempt := 1; ; attempt++ { // SQS redelivers a failed page
				if _, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r1"}, page, t0); err == nil {
					return
				} else if attempt == 10 {
					t.Errorf("page %d failed 10 times: %v", p, err)
					return
				}
			}
		}()
		if p == 100 { // a STOP lands while pages are in flight
			if _, err := direct.UpdateLedger(ctx, "t1", stopped, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
				l, ch := r.Ledger.Apply(consent.OptOutEvent(t0.Add(time.Hour), consent.Evidence{Text: "STOP"}))
				return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
			}); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	// A second full pass through the storm: everything is unchanged.
	out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, recs, t0)
	for attempt := 0; err != nil && attempt < 10; attempt++ {
		out, err = st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, recs, t0)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out {
		if a.Decision.Outcome != merge.Unchanged {
			t.Fatalf("second pass: %s %s", a.Decision.Outcome, a.Decision.Reason)
		}
	}
	phones := map[string]bool{}
	cursor := ""
	for {
		page, next, err := direct.ListContacts(ctx, "t1", store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range page {
			if phones[cv.Phone] {
				t.Errorf("two contacts for %s", cv.Phone)
			}
			phones[cv.Phone] = true
			if cv.Phone == stopped && cv.Status != string(consent.Unsubscribed) {
				t.Errorf("%s is %s after the storm: STOP must win", stopped, cv.Status)
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(phones) != len(recs) {
		t.Fatalf("%d contacts, want %d", len(phones), len(recs))
	}
	if !strings.HasPrefix(stopped, "+614") {
		t.Fatal("test data changed")
	}
}
