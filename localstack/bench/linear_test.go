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
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("linear.md lacks %q:\n%s", want, md)
		}
	}
}
