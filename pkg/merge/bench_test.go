package merge

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// benchRecords builds n records of a realistic page: half match existing
// contacts (updates with new names and groups), a quarter are new, a
// quarter are unchanged re-syncs; consent signals of every kind.
func benchWorld(n int, messy bool) ([]source.Record, []Identity, State) {
	conn := Connection{ID: "shop-1", Label: "Shopify", Mode: consent.Confirmation, DefaultRegion: "AU"}
	s := State{
		Contacts: map[string]Contact{}, Phones: map[string]string{}, Emails: map[string]string{},
		Links: map[LinkKey]string{}, Ledgers: map[string]consent.Ledger{},
	}
	recs := make([]source.Record, n)
	ids := make([]Identity, n)
	for i := range n {
		r := source.Record{
			Platform: source.Shopify, Label: "Shopify", ConnectionID: conn.ID,
			ExternalID: fmt.Sprintf("%d", 7000000000+i), UpdatedAt: at(100 + i%50),
			FirstName: []string{"Jane", "", "Ahmed", "Li"}[i%4], LastName: []string{"Doe", "Smith", "", "Nguyen"}[i%4],
			Emails:  []string{fmt.Sprintf("Customer.%d@Example.com", i)},
			Phones:  []source.PhoneField{{Raw: messyPhones[i%len(messyPhones)], Field: "default_address"}},
			Country: []string{"AU", "US", "GB", "NZ", "DE", ""}[i%6],
			Consent: source.ConsentSignal{State: propSignals[i%len(propSignals)], At: at(i % 90)},
			Groups:  [][]string{{"VIP"}, {"Newsletter", "Wholesale"}, nil, {"Gold", "VIP", "Returning"}}[i%4], HasGroups: true,
			Fields: map[string]string{"tier": "gold"},
		}
		if !messy {
			r.Phones = []source.PhoneField{{Raw: fmt.Sprintf("+614%08d", i)}}
		}
		recs[i] = r
		ids[i] = Identify(r, conn.DefaultRegion)
		if !messy {
			ids[i] = Identity{Phone: fmt.Sprintf("+614%08d", i), Email: r.Emails[0], EmailKey: fmt.Sprintf("customer.%d@example.com", i)}
		}
		switch i % 4 {
		case 0, 1: // an existing contact with an older record
			old := r
			old.UpdatedAt, old.FirstName, old.Groups = at(10), "Old", []string{"VIP", "Old"}
			d := Merge(Input{Record: old, Identity: ids[i], Connection: conn, Now: at(20), NewID: fmt.Sprintf("c%d", i), State: s})
			s = applyInPlace(s, d)
		case 2: // an unchanged re-sync
			d := Merge(Input{Record: r, Identity: ids[i], Connection: conn, Now: at(20), NewID: fmt.Sprintf("c%d", i), State: s})
			s = applyInPlace(s, d)
		}
	}
	return recs, ids, s
}

// applyInPlace is Apply without copying the maps (setup only).
func applyInPlace(s State, d Decision) State {
	for _, mu := range d.Mutations {
		s.apply(mu, d)
	}
	return s
}

// messyPhones is the mix of the issue: AU, US, GB, NZ, DE national
// formats, E.164, international prefixes, notes and junk.
var messyPhones = []string{
	"0412 345 678", "(02) 9876 5432", "+61 412 345 678", "0061412345678",
	"(201) 555-0123", "201.555.0123", "+1 (502) 459-2181", "011 61 412 345 678",
	"020 7946 0018", "07700 900123", "+44 7700 900123",
	"021 123 4567", "+64 21 123 4567", "09 123 4567",
	"030 123456", "0151 12345678", "+49 30 1234567",
	"0412 345 678 (work)", "mobile: 0412 345 678", "4.15555E+9", "0412345678 / 0498765432",
	"", "n/a", "12345", "+999 123", "call me",
}

// BenchmarkMergeRecord is the merge step alone on already-normalised
// records: "mix" is a page of half updates, a quarter creates and a quarter
// unchanged re-syncs; the others are one kind each. The plain names use
// Merge (a decision allocated per record); merger_* use a reused Merger,
// as the store does (the figure the 1,000,000/s per core is about);
// mix_parallel runs merger_mix on every core.
func BenchmarkMergeRecord(b *testing.B) {
	recs, ids, s := benchWorld(1024, false)
	conn := Connection{ID: "shop-1", Label: "Shopify", Mode: consent.Confirmation, DefaultRegion: "AU"}
	for _, bc := range []struct {
		name   string
		kinds  []int // record index modulo 4: 0,1 update, 2 unchanged, 3 create
		merger bool  // through a reused Merger (merger_*): as the store merges
	}{
		{"mix", []int{0, 1, 2, 3}, false},
		{"update", []int{0, 1}, false},
		{"create", []int{3}, false},
		{"unchanged", []int{2}, false},
		{"merger_mix", []int{0, 1, 2, 3}, true},
		{"merger_update", []int{0, 1}, true},
		{"merger_create", []int{3}, true},
	} {
		var idx []int
		for i := range recs {
			if slices.Contains(bc.kinds, i%4) {
				idx = append(idx, i)
			}
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var mg Merger
			n := 0
			for b.Loop() {
				i := idx[n%len(idx)]
				in := Input{Record: recs[i], Identity: ids[i], Connection: conn, Now: at(500), NewID: "new", State: s}
				var d Decision
				if bc.merger {
					d = mg.Merge(in)
				} else {
					d = Merge(in)
				}
				if d.Outcome == "" {
					b.Fatal("no outcome")
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
	// mix_parallel is the mix on every core (GOMAXPROCS goroutines with a
	// Merger each), as the store merges the records of a page.
	b.Run("mix_parallel", func(b *testing.B) {
		b.ReportAllocs()
		var total atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			var mg Merger
			n := 0
			for pb.Next() {
				i := n % len(recs)
				d := mg.Merge(Input{Record: recs[i], Identity: ids[i], Connection: conn, Now: at(500), NewID: "new", State: s})
				if d.Outcome == "" {
					panic("no outcome")
				}
				n++
			}
			total.Add(int64(n))
		})
		b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkNormalizeAndMergeRecord is Identify + Merge on the messy mix;
// "identify_only" is the reference measured in the same run (phone and
// email normalisation alone), so the merge share shows as a ratio.
func BenchmarkNormalizeAndMergeRecord(b *testing.B) {
	recs, _, s := benchWorld(1024, true)
	conn := Connection{ID: "shop-1", Label: "Shopify", Mode: consent.Confirmation, DefaultRegion: "AU"}
	b.Run("normalize_and_merge", func(b *testing.B) {
		b.ReportAllocs()
		var mg Merger
		n := 0
		for b.Loop() {
			i := n % len(recs)
			id := Identify(recs[i], conn.DefaultRegion)
			d := mg.Merge(Input{Record: recs[i], Identity: id, Connection: conn, Now: at(500), NewID: "new", State: s})
			if d.Outcome == "" {
				b.Fatal("no outcome")
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("identify_only", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if id := Identify(recs[n%len(recs)], conn.DefaultRegion); id.Phone == "x" {
				b.Fatal("impossible")
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	})
}
