package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// TestFanout_StoresAPlansPagesByPlace: the pages past a run's window are
// read back by their places in the plan (1-based), a block at a time,
// across batch writes; a place never stored is an error, and saving again
// (a retried plan) rewrites the same places.
func TestFanout_StoresAPlansPagesByPlace(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	var curs []source.Cursor
	for i := range 60 {
		curs = append(curs, source.Cursor(fmt.Sprintf("cursor-%d", i)))
	}
	for range 2 {
		if err := st.SaveFanout(ctx, "t_1", "run_1", 3, curs); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		from, to int
		want     []source.Cursor
	}{{3, 3, curs[:1]}, {30, 39, curs[27:37]}, {53, 62, curs[50:]}} {
		got, err := st.FanoutCursors(ctx, "t_1", "run_1", c.from, c.to)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("places %d to %d: %q %v, want %q", c.from, c.to, got, err, c.want)
		}
	}
	for _, miss := range []struct {
		tenant, run string
		from, to    int
	}{{"t_1", "run_1", 2, 2}, {"t_1", "run_1", 55, 63}, {"t_2", "run_1", 3, 3}, {"t_1", "run_2", 3, 4}} {
		if got, err := st.FanoutCursors(ctx, miss.tenant, miss.run, miss.from, miss.to); err == nil {
			t.Errorf("%+v: %q, want an error (not stored)", miss, got)
		}
	}
}
