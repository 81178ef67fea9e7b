package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// TestFanout_StoresAPlansPagesByPlace: the pages past a run's window are
// read back by their place in the plan (1-based), across batch writes;
// a place never stored is reported missing, and saving again (a retried
// plan) rewrites the same places.
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
	for seq, want := range map[int]source.Cursor{3: "cursor-0", 30: "cursor-27", 62: "cursor-59"} {
		got, ok, err := st.FanoutCursor(ctx, "t_1", "run_1", seq)
		if err != nil || !ok || got != want {
			t.Errorf("place %d: %q %v %v, want %q", seq, got, ok, err, want)
		}
	}
	for _, miss := range []struct {
		tenant, run string
		seq         int
	}{{"t_1", "run_1", 2}, {"t_1", "run_1", 63}, {"t_2", "run_1", 3}, {"t_1", "run_2", 3}} {
		if got, ok, err := st.FanoutCursor(ctx, miss.tenant, miss.run, miss.seq); err != nil || ok {
			t.Errorf("%+v: %q %v %v, want none", miss, got, ok, err)
		}
	}
}
