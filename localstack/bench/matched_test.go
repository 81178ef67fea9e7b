package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
)

// TestMain runs the bench's main in a lane process: a matched run starts
// its lanes as this binary (os.Executable) with laneEnv set.
func TestMain(m *testing.M) {
	if os.Getenv(laneEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A lane's run counts only inside the leader's phase, and a size's figure
// is its runs' total over their contacts; a size-0 lane's figure is its
// mean run, the phase's fixed cost.
func TestMatched_WindowAndMeanRun(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	w := window{Start: at, End: at.Add(time.Minute)}
	run := func(phase string, from, to time.Duration, seen int, cpu float64) laneRun {
		return laneRun{Phase: phase, Start: at.Add(from), End: at.Add(to),
			M: measured{Seen: seen, CPUSeconds: cpu, DynamoDB: 3 * seen, Requests: map[string]int{"DynamoDB": 3 * seen}}}
	}
	runs := []laneRun{
		run(phaseInstall, -time.Second, 10*time.Second, 1000, 9), // began before the window
		run(phaseInstall, 10*time.Second, 20*time.Second, 1000, 1.0),
		run(phaseResync, 20*time.Second, 30*time.Second, 1000, 9), // another phase
		run(phaseInstall, 30*time.Second, 40*time.Second, 1000, 2.0),
		run(phaseInstall, 50*time.Second, 70*time.Second, 1000, 9), // ended after it
	}
	in := inside(runs, phaseInstall, w)
	if len(in) != 2 {
		t.Fatalf("%d runs inside the window, want 2", len(in))
	}
	m := meanRun(in)
	r := newLinearRow(1000, "WooCommerce", phaseInstall, false, m)
	if m.Runs != 2 || m.Seen != 1000 || math.Abs(r.CPUMs-1.5) > 1e-9 || r.DynamoDB != 3 || m.Requests["DynamoDB"] != 3000 {
		t.Errorf("mean of two runs: %+v, row %+v", m, r)
	}
	empty := meanRun([]measured{{CPUSeconds: 0.010, DynamoDB: 17}, {CPUSeconds: 0.014, DynamoDB: 17}})
	if math.Abs(empty.CPUSeconds-0.012) > 1e-12 || empty.DynamoDB != 17 || empty.Seen != 0 {
		t.Errorf("an empty store's mean run: %+v", empty)
	}
}

// TestMatched runs sizes side by side on the embedded stack: the largest
// in this process, the others as lane processes of this binary, and checks
// that every size has an install and a re-sync row measured inside the
// leader's phases, with the work each size's contacts imply.
func TestMatched(t *testing.T) {
	if _, err := stacktest.Config(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	s := settings{Linear: true, Matched: []int{0, 40, 300}, Platforms: []string{"woocommerce"}, Workers: 2, Unlimited: true,
		Repeat: 1, Out: out, Quiet: true}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := run(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Linear) != 6 {
		t.Fatalf("%d rows, want an install and a re-sync for each of 3 sizes: %+v", len(res.Linear), res.Linear)
	}
	for _, r := range res.Linear {
		m := r.Measured
		switch {
		case m.Runs < 1:
			t.Errorf("%d %s: no run", r.Size, r.Phase)
		case (m.Seen > 0) != (r.Size > 0):
			t.Errorf("%d %s: saw %d records", r.Size, r.Phase, m.Seen)
		case r.Size > 0 && r.Phase == phaseInstall && (r.WCU < 3 || r.CPUMs <= 0 || r.LambdaMs <= 0):
			t.Errorf("%d install: %.2f WCU, %.3f CPU ms, %.3f Lambda ms a contact", r.Size, r.WCU, r.CPUMs, r.LambdaMs)
		case r.Size > 0 && r.Phase == phaseResync && (m.ContactItems != 0 || m.Counts.Unchanged == 0):
			t.Errorf("%d re-sync of an unchanged store: %d contact items, %+v", r.Size, m.ContactItems, m.Counts)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "matched.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| WooCommerce, install | 40 / 300 |", "- WooCommerce, install: 0: "} {
		if !strings.Contains(string(md), want) {
			t.Errorf("matched.md lacks %q:\n%s", want, md)
		}
	}
}
