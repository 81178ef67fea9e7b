package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestFanout_StoresAPlansPagesByPlace: the pages past a run's window are
// stored ten places to an item (one write unit each: 60 places from place
// 3 are 7 items, the first and the last partial) and read back by their
// places in the plan (1-based), a block at a time, within a bundle or
// across two; a place never stored is an error, and saving again (a
// retried plan) rewrites the same items.
func TestFanout_StoresAPlansPagesByPlace(t *testing.T) {
	t.Parallel()
	_, stack, clk := newStore(t)
	m := newHeatMeter(stack.DynamoDB, stack.Table)
	st := store.New(m, stack.Table, store.WithClock(clk.now))
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
