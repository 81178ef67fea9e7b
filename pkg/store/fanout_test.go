package store_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// TestFanout_StoresAPlansPagesByPlace: the pages past a run's window are
// stored ten places to an item (one write unit each: 60 places from place
// 3 are 7 items, the first and the last partial) and read back by their
// places in the plan (1-based), a block at a time, within a bundle or
// across two; a place never stored is an error, and saving again (a
// retried plan) rewrites the same items.
func TestFanout_StoresAPlansPagesByPlace(t *testing.T) {
	t.Parallel()
	st, m, _, _ := newMeteredStore(t)
	ctx := context.Background()
	var curs []source.Cursor
	for i := range 60 {
		curs = append(curs, source.Cursor(fmt.Sprintf("%d,%d", 1000*(i+2), 1000)))
	}
	for range 2 {
		if err := st.SaveFanout(ctx, "t_1", "run_1", 3, curs); err != nil {
			t.Fatal(err)
		}
		got := m.take()[heatKey{"table", "T#t_1#RUN#run_1"}]
		if got.Writes != 7 || got.WCU != 7 {
			t.Fatalf("60 places stored in %d writes, %g WCU; want 7 items of one unit", got.Writes, got.WCU)
		}
	}
	for _, c := range []struct {
		from, to int
		want     []source.Cursor
	}{{3, 3, curs[:1]}, {11, 20, curs[8:18]}, {30, 39, curs[27:37]}, {53, 62, curs[50:]}} {
		got, err := st.FanoutCursors(ctx, "t_1", "run_1", c.from, c.to)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("places %d to %d: %q %v, want %q", c.from, c.to, got, err, c.want)
		}
	}
	for _, miss := range []struct {
		tenant, run string
		from, to    int
	}{{"t_1", "run_1", 2, 2}, {"t_1", "run_1", 1, 4}, {"t_1", "run_1", 55, 63}, {"t_2", "run_1", 3, 3}, {"t_1", "run_2", 3, 4}, {"t_1", "run_1", 0, 3}} {
		if got, err := st.FanoutCursors(ctx, miss.tenant, miss.run, miss.from, miss.to); err == nil {
			t.Errorf("%+v: %q, want an error (not stored)", miss, got)
		}
	}
}

// TestFanout_ABulkExportsRangesShareTheirURLInABundle: a Shopify bulk
// export's byte ranges each carry the export's signed URL (here 870 B,
// with a 512-hex-digit signature as a V4-signed storage URL has), 1.2 KB
// a cursor: a cursor to an item cost two write units. Deflated ten to a
// bundle they cost at most two a bundle (a 1,000,000-customer export's
// 3,980 ranges past the window: at most 796 WCU on the run's key, where
// they were 7,960), and read back whole.
func TestFanout_ABulkExportsRangesShareTheirURLInABundle(t *testing.T) {
	t.Parallel()
	st, m, _, _ := newMeteredStore(t)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(21, 2))
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(rnd.Uint32())
	}
	u := "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/kx8dq2mzv4yt0c1bw7nrfl3h5j9sg6pa-final" +
		"?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=assets-us-prod%40shopify-tiers.iam.gserviceaccount.com%2F20261206%2Fauto%2Fstorage%2Fgoog4_request" +
		"&X-Goog-Date=20261206T084900Z&X-Goog-Expires=604800&X-Goog-SignedHeaders=host" +
		"&response-content-disposition=attachment%3B+filename%3D%22bulk-4471823.jsonl%22&response-content-type=application%2Fjsonl" +
		"&X-Goog-Signature=" + hex.EncodeToString(sig)
	type rangeCursor struct {
		URL        string `json:"u"`
		Start, End int64
	}
	var curs []source.Cursor
	for i := range 40 {
		curs = append(curs, source.NewCursor("range:", rangeCursor{URL: u, Start: int64(i) << 20, End: int64(i+1) << 20}))
	}
	if len(curs[0]) < 1100 {
		t.Fatalf("a range cursor is %d B, want a realistic 1.1 KB or more", len(curs[0]))
	}
	if err := st.SaveFanout(ctx, "t_1", "run_1", 21, curs); err != nil {
		t.Fatal(err)
	}
	got := m.take()[heatKey{"table", "T#t_1#RUN#run_1"}]
	if got.Writes != 4 || got.WCU > 8 {
		t.Fatalf("40 ranges stored in %d writes, %g WCU; want 4 bundles of at most 2 units", got.Writes, got.WCU)
	}
	back, err := st.FanoutCursors(ctx, "t_1", "run_1", 21, 60)
	if err != nil || !slices.Equal(back, curs) {
		t.Fatalf("read back %d cursors, %v; want the 40 stored", len(back), err)
	}
}
