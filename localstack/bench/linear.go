package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The linear mode (-linear) checks that cost stays linear as the work
// grows: per platform it runs only the install sync and the full re-sync
// of the unchanged store (no limits-off install, no update pass, no
// webhook or STOP scenarios) and keeps their per-contact figures, one row
// per size, in linear.json next to results.json. Each run replaces the
// rows of its size and platforms, so the sizes are run one at a time
// (BENCH_SIZE=1000, 10000, 100000) and linear.md shows them side by side
// with each column's spread (max/min − 1; the goal is 5 %). BENCH_SIZE=0
// runs the same phases on an empty store: what a run costs however few
// its contacts, so that linear.md also shows each size's cost per contact
// net of it.

// linearRow is one platform's phase at one size, per contact.
type linearRow struct {
	Size     int       `json:"size"`
	Platform string    `json:"platform"`
	Phase    string    `json:"phase"` // phaseInstall or phaseResync
	Contacts int       `json:"contacts"`
	WCU      float64   `json:"wcuPerContact"`
	RCU      float64   `json:"rcuPerContact"`
	DynamoDB float64   `json:"dynamodbRequestsPerContact"`
	SQS      float64   `json:"sqsRequestsPerContact"`
	LambdaMs float64   `json:"lambdaMsPerContact"`
	CPUMs    float64   `json:"cpuMsPerContact"`
	Allocs   float64   `json:"allocsPerContact"`
	AllocKiB float64   `json:"allocKiBPerContact"`
	Limited  bool      `json:"limited"`
	At       time.Time `json:"at"`
	// Measured is the phase's whole measure (requests by operation, ...).
	Measured measured `json:"measured"`
}

const (
	phaseInstall = "install"
	phaseResync  = "re-sync"
)

func newLinearRow(size int, platform, phase string, limited bool, m measured) linearRow {
	per := func(v float64) float64 { return m.perContact(v) }
	return linearRow{Size: size, Platform: platform, Phase: phase, Contacts: m.Seen, Limited: limited, At: time.Now().UTC(), Measured: m,
		WCU: per(m.WCU), RCU: per(m.RCU), DynamoDB: per(float64(m.DynamoDB)), SQS: per(float64(m.SQS)),
		LambdaMs: per(1000 * m.BilledSeconds), CPUMs: per(1000 * m.CPUSeconds), Allocs: per(float64(m.Allocs)), AllocKiB: per(float64(m.AllocBytes) / 1024)}
}

// linear runs the linear mode's phases for every selected platform: after
// a warm-up install and re-sync of -warmup customers (unmeasured: the
// emulators' JIT and the process's heap and connections warm), -repeat
// installs and re-syncs of the platform's store, each a new tenant, whose
// per-column medians make the rows.
func (b *bench) linear(ctx context.Context) ([]linearRow, error) {
	var rows []linearRow
	timeout := syncTimeout(b.s.Size)
	limited := !b.s.Unlimited
	for _, p := range platforms() {
		if !contains(b.s.Platforms, p.name) {
			continue
		}
		err := func() error {
			if b.s.Warmup > 0 {
				if err := b.warmUp(ctx, p, limited, timeout); err != nil {
					return fmt.Errorf("warm-up: %w", err)
				}
			}
			fs := p.start(b.s.Size, limited)
			defer fs.close()
			var ins, res []measured
			for i := range max(b.s.Repeat, 1) {
				b.logf("%s: install sync of %d customers (limits on: %v; run %d of %d)", p.label, fs.records, limited, i+1, max(b.s.Repeat, 1))
				in, err := b.install(ctx, p, fs, fmt.Sprintf("linear %d", i+1), timeout)
				if err != nil {
					return err
				}
				b.logf("%s: %.0f contacts/s; full re-sync of the unchanged store", p.label, in.m.PerSecond)
				re, err := b.syncNow(ctx, in.tenant, in.api, in.conn, timeout)
				if err != nil {
					return err
				}
				if re.Counts.Unchanged+re.Counts.Invalid != re.Seen {
					return fmt.Errorf("re-sync of an unchanged store: %+v", re.Counts)
				}
				b.logRun(in.m, re)
				ins, res = append(ins, in.m), append(res, re)
			}
			rows = append(rows, newLinearRow(b.s.Size, p.label, phaseInstall, limited, median(ins)),
				newLinearRow(b.s.Size, p.label, phaseResync, limited, median(res)))
			return b.saveLinear(rows[len(rows)-2:])
		}()
		if err != nil {
			return rows, fmt.Errorf("%s: %w", p.label, err)
		}
	}
	return rows, nil
}

// logRun logs one repeat's time and work per contact, so that the spread
// of the runs behind a median can be seen.
func (b *bench) logRun(install, resync measured) {
	for _, r := range []struct {
		name string
		m    measured
	}{{phaseInstall, install}, {phaseResync, resync}} {
		m := r.m
		b.logf("  %s: %.3f Lambda ms, %.3f CPU ms, %.0f allocations a contact; %d collections; %.1f s", r.name,
			m.perContact(1000*m.BilledSeconds), m.perContact(1000*m.CPUSeconds), m.perContact(float64(m.Allocs)), m.GCs, m.WallSeconds)
	}
}

// warmUp runs an unmeasured install and re-sync of the -warmup customers
// on a store of their own, closed before the measured runs.
func (b *bench) warmUp(ctx context.Context, p platform, limited bool, timeout time.Duration) error {
	fs := p.start(b.s.Warmup, limited)
	defer fs.close()
	b.logf("%s: warm-up install and re-sync of %d customers (not measured)", p.label, fs.records)
	in, err := b.install(ctx, p, fs, "linear warm-up", timeout)
	if err != nil {
		return err
	}
	_, err = b.syncNow(ctx, in.tenant, in.api, in.conn, timeout)
	return err
}

// median is the measure of repeated runs of one phase: each figure the
// median of the runs' (the mean of the middle two for an even number),
// Runs their number.
func median(ms []measured) measured {
	if len(ms) == 1 {
		ms[0].Runs = 1
		return ms[0]
	}
	return combine(ms, func(vs []float64) float64 {
		slices.Sort(vs)
		n := len(vs)
		return (vs[(n-1)/2] + vs[n/2]) / 2
	})
}

// combine makes one measure of runs of one phase: each figure agg of the
// runs' (counts rounded), Runs their number.
func combine(ms []measured, agg func([]float64) float64) measured {
	of := func(get func(measured) float64) float64 {
		vs := make([]float64, len(ms))
		for i, m := range ms {
			vs[i] = get(m)
		}
		return agg(vs)
	}
	ofInt := func(get func(measured) int) int {
		return int(math.Round(of(func(m measured) float64 { return float64(get(m)) })))
	}
	out := ms[0]
	out.Runs = len(ms)
	out.Seen = ofInt(func(m measured) int { return m.Seen })
	out.WallSeconds = of(func(m measured) float64 { return m.WallSeconds })
	out.PerSecond = of(func(m measured) float64 { return m.PerSecond })
	out.RCU = of(func(m measured) float64 { return m.RCU })
	out.WCU = of(func(m measured) float64 { return m.WCU })
	out.BilledSeconds = of(func(m measured) float64 { return m.BilledSeconds })
	out.CPUSeconds = of(func(m measured) float64 { return m.CPUSeconds })
	out.Allocs = uint64(math.Round(of(func(m measured) float64 { return float64(m.Allocs) })))
	out.AllocBytes = uint64(math.Round(of(func(m measured) float64 { return float64(m.AllocBytes) })))
	out.Items = ofInt(func(m measured) int { return m.Items })
	out.GCs = ofInt(func(m measured) int { return m.GCs })
	out.ContactItems = ofInt(func(m measured) int { return m.ContactItems })
	out.DynamoDB = ofInt(func(m measured) int { return m.DynamoDB })
	out.SQS = ofInt(func(m measured) int { return m.SQS })
	out.Invocations = ofInt(func(m measured) int { return m.Invocations })
	out.Requests = map[string]int{}
	out.Functions = map[string]functionMeasure{}
	for _, m := range ms {
		for k := range m.Requests {
			out.Requests[k] = ofInt(func(m measured) int { return m.Requests[k] })
		}
		for fn := range m.Functions {
			out.Functions[fn] = functionMeasure{
				Invocations: ofInt(func(m measured) int { return m.Functions[fn].Invocations }),
				BilledMs:    of(func(m measured) float64 { return m.Functions[fn].BilledMs }),
			}
		}
	}
	return out
}

// saveLinear merges rows into linear.json and linear.md under the output
// directory at once, so a long run keeps what it measured so far.
func (b *bench) saveLinear(rows []linearRow) error {
	all, err := mergeLinear(filepath.Join(b.s.Out, "linear.json"), rows)
	if err != nil {
		return err
	}
	_, _, err = writeLinear(b.s.Out, all)
	return err
}

// mergeLinear adds rows to those saved in path (linear.json), replacing
// saved rows of the same size, platform and phase, and returns them all in
// the platforms' order, install first, by size.
func mergeLinear(path string, rows []linearRow) ([]linearRow, error) {
	var saved []linearRow
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	key := func(r linearRow) string { return fmt.Sprintf("%d|%s|%s", r.Size, r.Platform, r.Phase) }
	fresh := map[string]bool{}
	for _, r := range rows {
		fresh[key(r)] = true
	}
	out := slices.DeleteFunc(saved, func(r linearRow) bool { return fresh[key(r)] })
	out = append(out, rows...)
	order := map[string]int{}
	for i, p := range platforms() {
		order[p.label] = i
	}
	slices.SortStableFunc(out, func(a, b linearRow) int {
		return cmp.Or(cmp.Compare(order[a.Platform], order[b.Platform]), strings.Compare(a.Phase, b.Phase), cmp.Compare(a.Size, b.Size))
	})
	return out, nil
}

// writeLinear saves rows as linear.json and linear.md under dir.
func writeLinear(dir string, rows []linearRow) (string, string, error) {
	return writeRows(dir, "linear", rows, "")
}

// writeRows saves rows as name.json and name.md under dir, the markdown
// (linearMarkdown) followed by notes.
func writeRows(dir, name string, rows []linearRow, notes string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	md, js := filepath.Join(dir, name+".md"), filepath.Join(dir, name+".json")
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(js, append(b, '\n'), 0o644); err != nil {
		return "", "", err
	}
	return md, js, os.WriteFile(md, []byte(linearMarkdown(rows)+notes), 0o644)
}

// linearColumns are the per-contact figures the table compares, and the
// phase totals they divide.
var linearColumns = []struct {
	name  string
	get   func(linearRow) float64
	total func(measured) float64
}{
	{"WCU", func(r linearRow) float64 { return r.WCU }, func(m measured) float64 { return m.WCU }},
	{"RCU", func(r linearRow) float64 { return r.RCU }, func(m measured) float64 { return m.RCU }},
	{"DynamoDB requests", func(r linearRow) float64 { return r.DynamoDB }, func(m measured) float64 { return float64(m.DynamoDB) }},
	{"SQS requests", func(r linearRow) float64 { return r.SQS }, func(m measured) float64 { return float64(m.SQS) }},
	{"Lambda ms", func(r linearRow) float64 { return r.LambdaMs }, func(m measured) float64 { return 1000 * m.BilledSeconds }},
	{"CPU ms", func(r linearRow) float64 { return r.CPUMs }, func(m measured) float64 { return 1000 * m.CPUSeconds }},
	{"allocations", func(r linearRow) float64 { return r.Allocs }, func(m measured) float64 { return float64(m.Allocs) }},
	{"KiB allocated", func(r linearRow) float64 { return r.AllocKiB }, func(m measured) float64 { return float64(m.AllocBytes) / 1024 }},
}

// spread is max/min − 1 of vs (0 when all are 0, +Inf when only the
// least is 0).
func spread(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	lo, hi := slices.Min(vs), slices.Max(vs)
	switch {
	case hi == 0:
		return 0
	case lo <= 0:
		return math.Inf(1)
	}
	return hi/lo - 1
}

// linearGroups splits rows (sorted by mergeLinear) by platform and phase.
func linearGroups(rows []linearRow) [][]linearRow {
	var groups [][]linearRow
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[end].Platform == rows[start].Platform && rows[end].Phase == rows[start].Phase {
			end++
		}
		groups = append(groups, rows[start:end])
		start = end
	}
	return groups
}

// linearMarkdown renders the rows: per platform and phase, each column's
// per-contact figure at every size and its spread (bold above 5 %); then
// the marginal cost per contact between consecutive sizes, which a fixed
// cost per run (amortised: higher per contact at small sizes) does not
// move, and that fixed cost.
func linearMarkdown(rows []linearRow) string {
	var b strings.Builder
	header := func(first, second string) {
		b.WriteString("| " + first + " | " + second + " |")
		for _, c := range linearColumns {
			b.WriteString(" " + c.name + " |")
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(linearColumns)) + "\n")
	}
	b.WriteString("Per contact, by customers per store (sizes in the order shown); spread = max/min − 1, goal ≤ 5 %.\n\n")
	header("platform, phase", "sizes")
	var fixedRuns []linearRow // the empty store's runs (size 0): a run's fixed cost
	rows = slices.DeleteFunc(slices.Clone(rows), func(r linearRow) bool {
		if r.Size == 0 {
			fixedRuns = append(fixedRuns, r)
		}
		return r.Size == 0
	})
	groups := linearGroups(rows)
	for _, group := range groups {
		var sizes []string
		for _, r := range group {
			sizes = append(sizes, thousands(r.Size))
		}
		fmt.Fprintf(&b, "| %s, %s | %s |", group[0].Platform, group[0].Phase, strings.Join(sizes, " / "))
		for _, c := range linearColumns {
			var vs, cells []string
			var fs []float64
			for _, r := range group {
				v := c.get(r)
				fs = append(fs, v)
				vs = append(vs, figure(v))
			}
			cells = append(cells, strings.Join(vs, " / "))
			if len(group) > 1 {
				cells = append(cells, spreadText(spread(fs)))
			}
			fmt.Fprintf(&b, " %s |", strings.Join(cells, " "))
		}
		b.WriteString("\n")
	}
	if len(fixedRuns) > 0 {
		b.WriteString("\nPer contact net of the run's fixed cost ((total − the same phase's total on an empty store) / contacts), its spread, and that fixed cost (the empty store's run).\n\n")
		header("platform, phase", "sizes")
		for _, group := range groups {
			i := slices.IndexFunc(fixedRuns, func(r linearRow) bool { return r.Platform == group[0].Platform && r.Phase == group[0].Phase })
			if i < 0 {
				continue
			}
			var sizes []string
			for _, r := range group {
				sizes = append(sizes, thousands(r.Size))
			}
			fmt.Fprintf(&b, "| %s, %s | %s |", group[0].Platform, group[0].Phase, strings.Join(sizes, " / "))
			for _, c := range linearColumns {
				fixed := c.total(fixedRuns[i].Measured)
				var vs []string
				var fs []float64
				for _, r := range group {
					v := (c.total(r.Measured) - fixed) / float64(max(r.Measured.Seen, 1))
					fs, vs = append(fs, v), append(vs, figure(v))
				}
				cell := strings.Join(vs, " / ")
				if len(group) > 1 {
					cell += " " + spreadText(spread(fs))
				}
				fmt.Fprintf(&b, " %s; fixed %s |", cell, figure(fixed))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nMarginal cost per contact between consecutive sizes ((total at the larger − total at the smaller) / (contacts at the larger − at the smaller)), its spread, and the fixed cost per run it implies (total at the smallest size − its contacts × the first marginal).\n\n")
	header("platform, phase", "between sizes")
	for _, group := range groups {
		if len(group) < 2 {
			continue
		}
		var pairs []string
		for i := 1; i < len(group); i++ {
			pairs = append(pairs, thousands(group[i-1].Size)+"–"+thousands(group[i].Size))
		}
		fmt.Fprintf(&b, "| %s, %s | %s |", group[0].Platform, group[0].Phase, strings.Join(pairs, " / "))
		for _, c := range linearColumns {
			ms := marginals(group, c.total)
			if len(ms) == 0 {
				b.WriteString(" – |")
				continue
			}
			var vs []string
			for _, m := range ms {
				vs = append(vs, figure(m))
			}
			cell := strings.Join(vs, " / ")
			if len(ms) > 1 {
				cell += " " + spreadText(spread(ms))
			}
			fixed := c.total(group[0].Measured) - float64(group[0].Measured.Seen)*ms[0]
			fmt.Fprintf(&b, " %s; fixed %s |", cell, figure(fixed))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// marginals are the cost per contact between consecutive rows of group
// (sorted by size) of the phase total that total reads.
func marginals(group []linearRow, total func(measured) float64) []float64 {
	var out []float64
	for i := 1; i < len(group); i++ {
		a, z := group[i-1].Measured, group[i].Measured
		if n := z.Seen - a.Seen; n > 0 {
			out = append(out, (total(z)-total(a))/float64(n))
		}
	}
	return out
}

func spreadText(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "(**∞**)"
	case s > 0.05:
		return fmt.Sprintf("(**%.1f %%**)", 100*s)
	}
	return fmt.Sprintf("(%.1f %%)", 100*s)
}

// figure prints a per-contact figure with three significant digits.
func figure(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.1:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
