package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

// TestListRunsFiltered_ByStatusPagesThroughTheFilter: a status filter
// returns only runs of that status, newest first, and its pages continue
// past runs the filter leaves out.
func TestListRunsFiltered_ByStatusPagesThroughTheFilter(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	var completed []string
	for i, c := range []string{"c_a", "c_b", "c_c", "c_d", "c_e"} {
		clk.advance(time.Second) // run ids sort by their start time
		r, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: c, Trigger: store.TriggerManual, LockFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			continue // left running
		}
		if err := st.SetPlan(ctx, "t1", r.ID, 0, 0); err != nil {
			t.Fatal(err)
		}
		if fin, err := st.FinishRun(ctx, "t1", r.ID); err != nil || fin.Status != store.RunCompleted {
			t.Fatalf("finish: %+v %v", fin, err)
		}
		completed = append([]string{r.ID}, completed...) // newest first
	}
	var got []string
	cursor := ""
	for {
		runs, next, err := st.ListRunsFiltered(ctx, "t1", store.RunFilter{Status: store.RunCompleted}, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Status != store.RunCompleted {
				t.Fatalf("a %s run in the completed listing", r.Status)
			}
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != len(completed) {
		t.Fatalf("listed %v, want %v", got, completed)
	}
	for i := range got {
		if got[i] != completed[i] {
			t.Fatalf("listed %v, want %v (newest first)", got, completed)
		}
	}
	running, _, err := st.ListRunsFiltered(ctx, "t1", store.RunFilter{Status: store.RunRunning, Connection: "c_b"}, 10, "")
	if err != nil || len(running) != 1 || running[0].ConnectionID != "c_b" {
		t.Fatalf("running runs of c_b: %+v %v", running, err)
	}
}
