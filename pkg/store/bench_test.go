package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

var benchSeq atomic.Int64

// benchPage returns n new records (phone + email + 2 groups), unique across
// the whole benchmark run.
func benchPage(c merge.Connection, n int, updated time.Time) []source.Record {
	recs := make([]source.Record, n)
	for i := range recs {
		k := benchSeq.Add(1)
		recs[i] = source.Record{
			Platform: source.Shopify, Label: c.Label, ConnectionID: c.ID, ExternalID: fmt.Sprint("b", k), UpdatedAt: updated,
			FirstName: "Bench", LastName: fmt.Sprint("Person", k), Emails: []string{fmt.Sprintf("bench%d@example.com", k)},
			Phones:  []source.PhoneField{{Raw: fmt.Sprintf("+614%08d", k), Field: "phone"}},
			Consent: source.ConsentSignal{State: source.SignalSubscribed, At: updated}, Groups: []string{"VIP", "Newsletter"}, HasGroups: true,
		}
	}
	return recs
}

// BenchmarkUnitsPerContact measures DynamoDB capacity per contact for a
// page of 100 records: new contacts (phone, email, two groups), the same
// contacts updated (a newer name), and the same page again unchanged. The
// units are computed by AWS's pricing rules from the items written
// (units.go), because DynamoDB Local's ReturnConsumedCapacity does not
// follow them for transactions; its own figure is reported beside.
func BenchmarkUnitsPerContact(b *testing.B) {
	s := stacktest.New(b)
	usage := &store.Usage{}
	st := store.New(s.DynamoDB, s.Table, store.WithUsage(usage))
	ctx := context.Background()
	c := merge.Connection{ID: "c1", Label: "Shopify", Mode: consent.Explicit, DefaultRegion: "AU"}
	t := store.Target{TenantID: "t1", Conn: c}
	const n = 100
	var newW, newR, updW, updR, unchW, unchR, localW float64
	pages := 0
	for b.Loop() {
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		recs := benchPage(c, n, t0)
		measure := func(recs []source.Record) (float64, float64) {
			usage.Reset()
			t.RunID = store.NewID("r") // each application a sync run of its own, as an install and re-syncs are
			if _, err := st.ApplyRecords(ctx, t, recs, t0); err != nil {
				b.Fatal(err)
			}
			_, lw, _ := usage.Totals()
			localW += lw / n
			r, w := usage.Estimated()
			return w / n, r / n
		}
		w, r := measure(recs)
		newW, newR = newW+w, newR+r
		for i := range recs {
			recs[i].UpdatedAt = t0.Add(time.Hour)
			recs[i].FirstName = "Renamed"
		}
		w, r = measure(recs)
		updW, updR = updW+w, updR+r
		w, r = measure(recs)
		unchW, unchR = unchW+w, unchR+r
		pages++
	}
	p := float64(pages)
	b.ReportMetric(newW/p, "WCU/new-contact")
	b.ReportMetric(updW/p, "WCU/updated-contact")
	b.ReportMetric(unchW/p, "WCU/unchanged-contact")
	b.ReportMetric(unchR/p, "RCU/unchanged-contact")
	b.ReportMetric(newR/p, "RCU/new-contact")
	b.ReportMetric(updR/p, "RCU/updated-contact")
	b.ReportMetric(localW/p/3, "emulator-reported-WCU/contact(avg)")
}

// BenchmarkPageThroughput applies pages of 250 new contacts and reports
// contacts/s next to DynamoDB Local's own ceiling for the same calls,
// measured here: conditional TransactWriteItems of three items (what a new
// contact's claims were before they became ordered puts) at the same
// concurrency.
func BenchmarkPageThroughput(b *testing.B) {
	s := stacktest.New(b)
	st := store.New(s.DynamoDB, s.Table)
	ctx := context.Background()
	c := merge.Connection{ID: "c1", Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}
	t := store.Target{TenantID: "t1", Conn: c}
	const n = 250
	contacts := 0
	var busy time.Duration
	for b.Loop() {
		recs := benchPage(c, n, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		start := time.Now()
		if _, err := st.ApplyRecords(ctx, t, recs, time.Now()); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
		contacts += n
	}
	ours := float64(contacts) / busy.Seconds()
	ceiling := emulatorTxCeiling(b, s, 8, 2000)
	b.ReportMetric(ours, "contacts/s")
	b.ReportMetric(ceiling, "emulator-tx3/s")
	b.ReportMetric(ours/ceiling, "ratio")
}

// emulatorTxCeiling measures conditional 3-item transactions per second on
// the emulator at the given concurrency.
func emulatorTxCeiling(b *testing.B, s *stacktest.Stack, workers, total int) float64 {
	b.Helper()
	rate, err := stacktest.TxPerSecond(context.Background(), s.DynamoDB, s.Table, "ceil", workers, total)
	if err != nil {
		b.Fatal(err)
	}
	return rate
}
