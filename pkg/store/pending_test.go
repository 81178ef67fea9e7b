package store

import (
	"runtime"
	"testing"

	"github.com/contactsync/contactsync/pkg/merge"
)

// TestPendingAV_RoundTripsAndReusesItsCompressor: a new contact's item,
// deflated for its claims, reads back as it was; and encoding it reuses a
// compressor instead of allocating a new one (about 1 MB of tables) per
// contact, which was most of what an install allocated per contact.
func TestPendingAV_RoundTripsAndReusesItsCompressor(t *testing.T) {
	it := contactItem{Version: 3, Contact: merge.Contact{ID: "c_1", Phone: "+61412345678", EmailKey: "ann@example.com",
		FirstName: merge.Field{Value: "Ann"}, Email: merge.Field{Value: "Ann@example.com"}}}
	av, err := marshalMap(it)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pendingAV(av)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodePending(b.Value)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != 3 || back.Contact.ID != "c_1" || back.Contact.Phone != "+61412345678" || back.Contact.FirstName.Value != "Ann" {
		t.Fatalf("read back %+v", back)
	}
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if _, err := pendingAV(av); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// About 3 KB with the pool. Under -race, sync.Pool drops a quarter of
	// what is put back (on purpose), so about 200 KiB; a new compressor
	// every time, as before, is about 800.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 400<<10 {
		t.Errorf("pendingAV allocates %d KiB a contact; want under 400 (a compressor of its own is about 800)", per>>10)
	}
}

func BenchmarkPendingAV(b *testing.B) {
	av, err := marshalMap(contactItem{Contact: merge.Contact{ID: "c_1", Phone: "+61412345678", EmailKey: "ann@example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pendingAV(av); err != nil {
			b.Fatal(err)
		}
	}
}
