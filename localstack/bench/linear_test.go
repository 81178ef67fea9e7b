package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The linear table: rows of a size replace that size's saved rows, the
// spread is max/min − 1, and the marginal cost per contact between sizes
// separates a fixed cost per run (which makes small sizes dearer per
// contact) from a cost that grows with the run.
func TestLinear_MergeSpreadAndMarginals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linear.json")
	// A phase costing 50 WCU per run plus 2 per contact, then one whose
	// per-contact cost grows with the run (2, then 3 per contact).
	row := func(platform string, n int, wcu float64) linearRow {
		return newLinearRow(n, platform, phaseInstall, true, measured{Seen: n, WCU: wcu})
	}
	first := []linearRow{row("WooCommerce", 1000, 50+2*1000), row("WooCommerce", 10000, 50+2*10000), row("Klaviyo", 1000, 2000)}
	if _, _, err := writeLinear(filepath.Dir(path), first); err != nil {
		t.Fatal(err)
	}
	rows, err := mergeLinear(path, []linearRow{row("WooCommerce", 100000, 50+2*100000), row("Klaviyo", 10000, 30000)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := writeLinear(filepath.Dir(path), rows); err != nil {
		t.Fatal(err)
	}
	rows, err = mergeLinear(path, []linearRow{row("Klaviyo", 10000, 20000+1)}) // a re-run of a size replaces it
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0].Platform != "WooCommerce" || rows[2].Size != 100000 || rows[4].WCU != 2.0001 {
		t.Fatalf("merged rows: %+v", rows)
	}
	if s := spread([]float64{2, 2.1, 2.05}); math.Abs(s-0.05) > 1e-9 {
		t.Errorf("spread = %v, want 0.05", s)
	}
	if m := marginals(rows[:3], func(m measured) float64 { return m.WCU }); len(m) != 2 || m[0] != 2 || m[1] != 2 {
		t.Errorf("marginals of a fixed cost plus 2 per contact = %v, want [2 2]", m)
	}
	// The empty store's run (size 0) is the phase's fixed cost: each size's
	// cost per contact net of it is 2 at every size.
	rows, err = mergeLinear(path, []linearRow{newLinearRow(0, "WooCommerce", phaseInstall, true, measured{WCU: 50})})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := writeLinear(filepath.Dir(path), rows); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(filepath.Dir(path), "linear.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| WooCommerce, install | 1,000 / 10,000 / 100,000 | 2.05 / 2.00 / 2.00 (2.5 %) |",
		"| WooCommerce, install | 1,000–10,000 / 10,000–100,000 | 2.00 / 2.00 (0.0 %); fixed 50.0 |",
		"| WooCommerce, install | 1,000 / 10,000 / 100,000 | 2.00 / 2.00 / 2.00 (0.0 %); fixed 50.0 |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("linear.md lacks %q:\n%s", want, md)
		}
	}
}

// TestLinear_MedianOfRepeatedRuns: repeated runs' figures are each the
// median of the runs' (the mean of the middle two for an even number), so
// one slow run does not move a row.
func TestLinear_MedianOfRepeatedRuns(t *testing.T) {
	run := func(billed, cpu float64, dynamodb int) measured {
		return measured{Seen: 1000, BilledSeconds: billed, CPUSeconds: cpu, DynamoDB: dynamodb,
			Requests: map[string]int{"DynamoDB": dynamodb}, Functions: map[string]functionMeasure{"bulksync": {Invocations: 5, BilledMs: 1000 * billed}}}
	}
	m := median([]measured{run(2.5, 2.0, 2800), run(9.0, 2.4, 2810), run(2.4, 1.9, 2790)})
	if m.Runs != 3 || m.BilledSeconds != 2.5 || m.CPUSeconds != 2.0 || m.DynamoDB != 2800 || m.Requests["DynamoDB"] != 2800 ||
		m.Functions["bulksync"].BilledMs != 2500 || m.Seen != 1000 {
		t.Errorf("median of three runs = %+v", m)
	}
	if m := median([]measured{run(2, 1, 10), run(4, 3, 20)}); m.BilledSeconds != 3 || m.CPUSeconds != 2 || m.DynamoDB != 15 {
		t.Errorf("median of two runs = %+v, want their means", m)
	}
	if m := median([]measured{run(2, 1, 10)}); m.Runs != 1 || m.BilledSeconds != 2 {
		t.Errorf("median of one run = %+v", m)
	}
}
