package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The matched mode (-linear -matched 0,1000,10000,100000) measures the
// linear table's sizes at the same time, so that they share the machine's
// speed. Run one after another, the same code's CPU time per contact moves
// by 10–30 % between minutes here (README, "Cost as the work grows"), more
// than the 5 % the sizes must agree within; run side by side, a slow
// minute slows every size alike.
//
// The largest size runs in this process (the leader): one install, then
// -repeat re-syncs of the unchanged store. Every other size runs in a
// process of its own (a lane: this binary with -lane), with its own
// sandbox, table and queues on the same emulators, and repeats its phase
// for as long as the leader's lasts: installs of a new tenant while the
// leader installs, re-syncs of its last tenant while the leader re-syncs.
// The phases switch through a file in a shared directory:
//
//	warm     each process warms up (-warmup), then says ready-install-<size>
//	install  the leader installs; the lanes install, again and again
//	drain    the leader is done; each lane finishes its install, says ready-resync-<size>
//	resync   the leader re-syncs; the lanes re-sync, again and again
//	stop     the lanes write their runs (runs-<size>.json) and exit
//
// Every process runs all the time it is in a phase: a lane that rested
// between runs (an earlier version, to load the machine less) ran beside
// the leader all the time, while the leader ran beside it only part of
// the time, and its handlers' time came out 25 % dearer at the same CPU.
//
// A lane's run counts only if it began and ended inside the leader's
// phase (its window, which lasts until each lane has run once inside it),
// and a size's figure is its runs' total over their contacts (their mean
// run): every size is then an average over the same minutes. A size-0
// lane (an empty store) gives each phase's fixed cost per run under the
// same load, for the table's "net of the fixed cost". Rows go to
// matched.json and matched.md, apart from linear.json.

// Lane phases.
const (
	laneWarm    = "warm"
	laneInstall = "install"
	laneDrain   = "drain"
	laneResync  = "resync"
	laneStop    = "stop"
)

// laneRun is one measured run of a lane, with the times it began and ended.
type laneRun struct {
	Phase string    `json:"phase"` // phaseInstall or phaseResync
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	M     measured  `json:"measured"`
}

// window is a leader's phase: when it began and ended.
type window struct{ Start, End time.Time }

// inside returns the measures of runs of phase that began and ended
// inside w.
func inside(runs []laneRun, phase string, w window) []measured {
	var out []measured
	for _, r := range runs {
		if r.Phase == phase && !r.Start.Before(w.Start) && !r.End.After(w.End) {
			out = append(out, r.M)
		}
	}
	return out
}

// meanRun is the mean of runs of one phase: each total divided by their
// number (counts rounded), so that a figure per contact is the runs' total
// over their contacts, and a figure per run (the empty store's fixed cost)
// is their mean. Runs is their number.
func meanRun(ms []measured) measured {
	if len(ms) == 0 {
		return measured{}
	}
	return combine(ms, func(vs []float64) float64 {
		t := 0.0
		for _, v := range vs {
			t += v
		}
		return t / float64(len(vs))
	})
}

// laneDir is the directory the leader and its lanes share.
type laneDir string

func (d laneDir) path(name string) string { return filepath.Join(string(d), name) }

// setPhase writes the phase (a rename, so a reader sees the old or the new).
func (d laneDir) setPhase(phase string) error {
	tmp := d.path("phase.tmp")
	if err := os.WriteFile(tmp, []byte(phase), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, d.path("phase"))
}

func (d laneDir) phase() string {
	b, _ := os.ReadFile(d.path("phase"))
	return string(b)
}

func (d laneDir) say(name string) error { return os.WriteFile(d.path(name), nil, 0o644) }

// waitFor polls, up to timeout, until ok; failed, when it returns an
// error (a lane that exited early, a leader gone), ends the wait with it.
func waitFor(ctx context.Context, timeout time.Duration, what string, ok func() bool, failed func() error) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if err := failed(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// lane runs this process's size as a lane of the leader whose directory
// is dir (see above), for the one platform of -platforms.
func (b *bench) lane(ctx context.Context, dir laneDir) error {
	if len(b.s.Platforms) != 1 {
		return fmt.Errorf("a lane runs one platform, not %v", b.s.Platforms)
	}
	i := slices.IndexFunc(platforms(), func(p platform) bool { return p.name == b.s.Platforms[0] })
	p, limited, timeout := platforms()[i], !b.s.Unlimited, syncTimeout(b.s.Size)
	size := strconv.Itoa(b.s.Size)
	parent := os.Getppid()
	orphaned := func() error { // the leader exited without stopping this lane
		if os.Getppid() != parent {
			return errors.New("the leader exited")
		}
		return nil
	}
	var runs []laneRun
	save := func() error {
		js, err := json.Marshal(runs)
		if err != nil {
			return err
		}
		return os.WriteFile(dir.path("runs-"+size+".json"), js, 0o644)
	}
	if b.s.Warmup > 0 {
		if err := b.warmUp(ctx, p, limited, syncTimeout(b.s.Warmup)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	fs := p.start(b.s.Size, limited)
	defer fs.close()
	if err := dir.say("ready-install-" + size); err != nil {
		return err
	}
	if err := waitFor(ctx, 24*time.Hour, "install phase", func() bool { return dir.phase() != laneWarm }, orphaned); err != nil {
		return err
	}
	var last *installed
	for n := 1; dir.phase() == laneInstall; n++ {
		if err := orphaned(); err != nil {
			return err
		}
		start := time.Now()
		in, err := b.install(ctx, p, fs, fmt.Sprintf("lane %d", n), timeout)
		if err != nil {
			return err
		}
		runs, last = append(runs, laneRun{Phase: phaseInstall, Start: start, End: time.Now(), M: in.m}), &in
		b.logf("%s: install %d of %d customers: %.1f s", p.label, n, fs.records, in.m.WallSeconds)
		if n == 1 {
			if err := dir.say("ran-install-" + size); err != nil {
				return err
			}
		}
	}
	if dir.phase() == laneStop {
		return save()
	}
	if last == nil { // the leader's install ended before this lane's began: one to re-sync
		in, err := b.install(ctx, p, fs, "lane", timeout)
		if err != nil {
			return err
		}
		last = &in
	}
	if err := dir.say("ready-resync-" + size); err != nil {
		return err
	}
	if err := waitFor(ctx, 24*time.Hour, "re-sync phase", func() bool { return dir.phase() != laneDrain }, orphaned); err != nil {
		return err
	}
	for n := 1; dir.phase() == laneResync; n++ {
		if err := orphaned(); err != nil {
			return err
		}
		start := time.Now()
		re, err := b.syncNow(ctx, last.tenant, last.api, last.conn, timeout)
		if err != nil {
			return err
		}
		if re.Counts.Unchanged+re.Counts.Invalid != re.Seen {
			return fmt.Errorf("re-sync of an unchanged store: %+v", re.Counts)
		}
		runs = append(runs, laneRun{Phase: phaseResync, Start: start, End: time.Now(), M: re})
		b.logf("%s: re-sync %d: %.1f s", p.label, n, re.WallSeconds)
		if n == 1 {
			if err := dir.say("ran-resync-" + size); err != nil {
				return err
			}
		}
	}
	return save()
}

// matched runs the sizes side by side for every selected platform (see
// above): the largest here, the others as lanes.
func (b *bench) matched(ctx context.Context, sizes []int) ([]linearRow, error) {
	var rows []linearRow
	for _, p := range platforms() {
		if !contains(b.s.Platforms, p.name) {
			continue
		}
		prow, err := b.matchedPlatform(ctx, p, sizes)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", p.label, err)
		}
		rows = append(rows, prow...)
		if err := b.saveMatched(prow); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// lanes are the lane processes of one platform's matched run.
type lanes struct {
	dir   laneDir
	sizes []int
	cmds  []*exec.Cmd
	// exited receives each lane's exit (nil for a clean one).
	exited chan error
	done   int
}

// startLanes starts one lane process per size.
func (b *bench) startLanes(ctx context.Context, dir laneDir, p platform, sizes []int) (*lanes, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	l := &lanes{dir: dir, sizes: sizes, exited: make(chan error, len(sizes))}
	for _, n := range sizes {
		args := []string{"-linear", "-lane", string(dir), "-size", strconv.Itoa(n), "-platforms", p.name,
			"-workers", strconv.Itoa(b.s.Workers), "-warmup", strconv.Itoa(b.s.Warmup), "-out", dir.path("out-" + strconv.Itoa(n))}
		if b.s.Unlimited {
			args = append(args, "-unlimited")
		}
		log, err := os.Create(dir.path(fmt.Sprintf("lane-%d.log", n)))
		if err != nil {
			return l, err
		}
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), laneEnv+"=1")
		if err := cmd.Start(); err != nil {
			log.Close()
			return l, err
		}
		l.cmds = append(l.cmds, cmd)
		go func() {
			err := cmd.Wait()
			log.Close()
			if err != nil {
				err = fmt.Errorf("lane of %d customers: %w (its log: %s)", n, err, log.Name())
			}
			l.exited <- err
		}()
	}
	return l, nil
}

// laneEnv marks a lane process (TestMain runs main in one).
const laneEnv = "CONTACTSYNC_BENCH_LANE"

// failed reports a lane that exited before the leader stopped it.
func (l *lanes) failed() error {
	select {
	case err := <-l.exited:
		l.done++
		if err == nil {
			err = errors.New("a lane exited early")
		}
		return err
	default:
		return nil
	}
}

// all reports whether every lane has said what.
func (l *lanes) all(what string) func() bool {
	return func() bool {
		for _, n := range l.sizes {
			if _, err := os.Stat(l.dir.path(what + strconv.Itoa(n))); err != nil {
				return false
			}
		}
		return true
	}
}

// wait stops the lanes and waits for their exits.
func (l *lanes) wait(timeout time.Duration) error {
	_ = l.dir.setPhase(laneStop)
	var errs []error
	deadline := time.After(timeout)
	for ; l.done < len(l.cmds); l.done++ {
		select {
		case err := <-l.exited:
			errs = append(errs, err)
		case <-deadline:
			for _, c := range l.cmds {
				_ = c.Process.Kill()
			}
			return fmt.Errorf("lanes still running %s after the stop", timeout)
		}
	}
	return errors.Join(errs...)
}

// matchedPlatform runs one platform's sizes side by side and returns a
// row per size and phase.
func (b *bench) matchedPlatform(ctx context.Context, p platform, sizes []int) ([]linearRow, error) {
	leader := slices.Max(sizes)
	others := slices.DeleteFunc(slices.Clone(sizes), func(n int) bool { return n == leader })
	tmp, err := os.MkdirTemp("", "contactsync-lanes-")
	if err != nil {
		return nil, err
	}
	dir, limited, timeout := laneDir(tmp), !b.s.Unlimited, syncTimeout(leader)
	// laneTimeout bounds a wait on the lanes: a run of the largest lane.
	laneTimeout := syncTimeout(slices.Max(append(others, 0))) + time.Minute
	if err := dir.setPhase(laneWarm); err != nil {
		return nil, err
	}
	b.logf("%s: %d customers here, lanes of %v customers side by side (their logs: %s)", p.label, leader, others, tmp)
	l, err := b.startLanes(ctx, dir, p, others)
	if l != nil {
		defer func() { _ = l.wait(time.Minute) }()
	}
	if err != nil {
		return nil, err
	}
	if b.s.Warmup > 0 {
		if err := b.warmUp(ctx, p, limited, syncTimeout(b.s.Warmup)); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	fs := p.start(leader, limited)
	defer fs.close()
	if err := waitFor(ctx, syncTimeout(b.s.Warmup)+5*time.Minute, "lane ready to install", l.all("ready-install-"), l.failed); err != nil {
		return nil, err
	}

	// A window starts before its phase is set (a lane's run begins after
	// it reads the phase) and ends once every lane has run inside it.
	installW := window{Start: time.Now()}
	if err := dir.setPhase(laneInstall); err != nil {
		return nil, err
	}
	b.logf("%s: install sync of %d customers, the lanes installing beside it", p.label, fs.records)
	in, err := b.install(ctx, p, fs, "matched", timeout)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, laneTimeout, "install by every lane", l.all("ran-install-"), l.failed); err != nil {
		return nil, err
	}
	installW.End = time.Now()
	if err := dir.setPhase(laneDrain); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, laneTimeout, "lane ready to re-sync", l.all("ready-resync-"), l.failed); err != nil {
		return nil, err
	}

	var resyncs []measured
	resyncW := window{Start: time.Now()}
	if err := dir.setPhase(laneResync); err != nil {
		return nil, err
	}
	for i := range max(b.s.Repeat, 1) {
		b.logf("%s: full re-sync %d of %d of the unchanged store, the lanes re-syncing beside it", p.label, i+1, max(b.s.Repeat, 1))
		re, err := b.syncNow(ctx, in.tenant, in.api, in.conn, timeout)
		if err != nil {
			return nil, err
		}
		if re.Counts.Unchanged+re.Counts.Invalid != re.Seen {
			return nil, fmt.Errorf("re-sync of an unchanged store: %+v", re.Counts)
		}
		resyncs = append(resyncs, re)
	}
	if err := waitFor(ctx, laneTimeout, "re-sync by every lane", l.all("ran-resync-"), l.failed); err != nil {
		return nil, err
	}
	resyncW.End = time.Now()
	b.logRun(in.m, meanRun(resyncs))
	if err := l.wait(laneTimeout); err != nil {
		return nil, err
	}

	rows := []linearRow{newLinearRow(leader, p.label, phaseInstall, limited, meanRun([]measured{in.m})),
		newLinearRow(leader, p.label, phaseResync, limited, meanRun(resyncs))}
	for _, n := range others {
		js, err := os.ReadFile(dir.path("runs-" + strconv.Itoa(n) + ".json"))
		if err != nil {
			return nil, err
		}
		var runs []laneRun
		if err := json.Unmarshal(js, &runs); err != nil {
			return nil, err
		}
		for _, ph := range []struct {
			name string
			w    window
		}{{phaseInstall, installW}, {phaseResync, resyncW}} {
			ms := inside(runs, ph.name, ph.w)
			if len(ms) == 0 {
				return nil, fmt.Errorf("the lane of %d customers ran no %s inside the leader's (%s)", n, ph.name, ph.w.End.Sub(ph.w.Start).Round(time.Second))
			}
			rows = append(rows, newLinearRow(n, p.label, ph.name, limited, meanRun(ms)))
			b.logf("%s: lane of %d customers: %d %s runs inside the leader's", p.label, n, len(ms), ph.name)
		}
	}
	_ = os.RemoveAll(tmp)
	return rows, nil
}

// saveMatched merges rows into matched.json and matched.md under the
// output directory.
func (b *bench) saveMatched(rows []linearRow) error {
	all, err := mergeLinear(filepath.Join(b.s.Out, "matched.json"), rows)
	if err != nil {
		return err
	}
	_, _, err = writeRows(b.s.Out, "matched", all, matchedNotes(all))
	return err
}

// matchedNotes lists, under the table, how many runs each figure is the
// mean of.
func matchedNotes(rows []linearRow) string {
	var b strings.Builder
	b.WriteString("\nSizes run side by side (-matched): each figure is the mean of the runs that began and ended inside the largest size's phase; runs per size:\n\n")
	for _, g := range linearGroups(rows) {
		var parts []string
		for _, r := range g {
			parts = append(parts, fmt.Sprintf("%s: %d", thousands(r.Size), max(r.Measured.Runs, 1)))
		}
		fmt.Fprintf(&b, "- %s, %s: %s\n", g[0].Platform, g[0].Phase, strings.Join(parts, ", "))
	}
	return b.String()
}
