package scheduler_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/schedule"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/store"
)

// sim is a simulated world for the real scheduler.Handler: connections held
// in memory with exactly the store's scheduling rules (store.MarkSynced and
// store.ScheduleNext apply pkg/schedule the same way; TestMarkSynced_*
// checks the store against it on DynamoDB), runs that start late and take
// long, and EventBridge ticks that arrive a little late.
type sim struct {
	now     time.Time
	conns   map[string]*store.Connection
	running map[string]*simRun
	runs    map[string][]simRun // finished and running, by connection
	late    func(conn string, n int) time.Duration
	takes   func(conn string, n int) time.Duration
}

type simRun struct {
	trigger     string
	start, end  time.Time
	incremental bool
}

func (s *sim) ListDueConnections(_ context.Context, now time.Time, each func(store.DueConnection) error) error {
	ids := make([]string, 0, len(s.conns))
	for id, c := range s.conns {
		if c.Enabled && !c.NextSyncAt.After(now) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := each(store.DueConnection{TenantID: s.conns[id].TenantID, ConnectionID: id}); err != nil {
			return err
		}
	}
	return nil
}

func (s *sim) GetConnection(_ context.Context, _, id string) (store.Connection, error) {
	c, ok := s.conns[id]
	if !ok {
		return store.Connection{}, store.ErrNotFound
	}
	return *c, nil
}

func (s *sim) ScheduleNext(_ context.Context, _, id string, next time.Time) error {
	if c := s.conns[id]; c != nil && c.Enabled {
		c.NextSyncAt = next
	}
	return nil
}

// Start is the run lock: one run per connection at a time.
func (s *sim) Start(_ context.Context, _, conn, trigger string, incremental bool, _ time.Time) (store.Run, error) {
	if r := s.running[conn]; r != nil {
		return store.Run{}, &store.RunInProgressError{RunID: "running"}
	}
	n := len(s.runs[conn])
	start := s.now.Add(s.late(conn, n))
	r := simRun{trigger: trigger, start: start, end: start.Add(s.takes(conn, n)), incremental: incremental}
	s.runs[conn] = append(s.runs[conn], r)
	s.running[conn] = &s.runs[conn][len(s.runs[conn])-1]
	return store.Run{ID: fmt.Sprint(n)}, nil
}

// finish ends the runs due to end by now, as bulksync does: MarkSynced with
// the run's start.
func (s *sim) finish() {
	for id, r := range s.running {
		if r.end.After(s.now) {
			continue
		}
		c := s.conns[id]
		c.LastSyncAt = r.start
		if !r.incremental {
			c.LastFullSyncAt = r.start
		}
		c.NextSyncAt = schedule.AfterStart(c.TenantID, c.ID, c.SyncIntervalHours, r.start)
		delete(s.running, id)
	}
}

// pseudo is a deterministic number in [0, n) for (conn, i, salt).
func pseudo(conn string, i int, salt string, n int64) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%s", conn, i, salt)
	return int64(h.Sum64() % uint64(n))
}

const (
	maxLate   = 10 * time.Minute // a run starts up to this long after its tick
	maxJitter = 40 * time.Second // EventBridge delivers a tick up to this late
)

// simulate installs the connections a tick before t0 (a full install run
// each, ending before the first tick), then ticks every schedule.Tick from
// t0 to t0 + days, both included.
func simulate(t *testing.T, conns []store.Connection, t0 time.Time, days int, takes func(conn string, n int) time.Duration) *sim {
	t.Helper()
	s := &sim{now: t0, conns: map[string]*store.Connection{}, running: map[string]*simRun{}, runs: map[string][]simRun{},
		late: func(conn string, n int) time.Duration {
			return time.Duration(pseudo(conn, n, "late", int64(maxLate/time.Second))) * time.Second
		},
		takes: takes,
	}
	for i := range conns {
		c := conns[i]
		install := t0.Add(-schedule.Tick)
		c.LastSyncAt, c.LastFullSyncAt = install, install
		c.NextSyncAt = schedule.AfterStart(c.TenantID, c.ID, c.SyncIntervalHours, install)
		s.conns[c.ID] = &c
		s.runs[c.ID] = []simRun{{trigger: store.TriggerInstall, start: install, end: install.Add(time.Minute)}}
	}
	h := scheduler.New(scheduler.Deps{Store: s, Starter: s, Now: func() time.Time { return s.now }, Concurrency: 1})
	ticks := days * int(24*time.Hour/schedule.Tick)
	for k := range ticks + 1 {
		tick := t0.Add(time.Duration(k) * schedule.Tick)
		// Runs end between ticks; then the tick arrives, a little late.
		s.now = tick
		s.finish()
		s.now = tick.Add(time.Duration(pseudo("tick", k, "jitter", int64(maxJitter/time.Second))) * time.Second)
		if _, err := h.Handle(context.Background(), events.EventBridgeEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	s.now = t0.Add(time.Duration(days)*24*time.Hour + 24*time.Hour)
	s.finish()
	return s
}

func scheduled(runs []simRun) []simRun {
	var out []simRun
	for _, r := range runs {
		if r.trigger == store.TriggerSchedule {
			out = append(out, r)
		}
	}
	return out
}

// TestSimulation_30DaysDaily: a 24-hour connection, with runs that start up
// to 10 minutes late and take up to 5 hours, ticks arriving up to 40 s
// late: exactly 30 scheduled runs in 30 days, each 24 h ± one tick (and the
// lateness) after the previous — none skipped, none doubled — and a full
// sync every 7th day, incremental ones between.
func TestSimulation_30DaysDaily(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 0, 7, 13, 0, time.UTC) // the rule's ticks are not aligned to the hour
	var conns []store.Connection
	for i := range 40 {
		conns = append(conns, store.Connection{TenantID: fmt.Sprintf("t_%d", i%7), ID: fmt.Sprintf("t_%d.c_%d", i%7, i), Enabled: true, SyncIntervalHours: 24})
	}
	s := simulate(t, conns, t0, 30, func(conn string, n int) time.Duration {
		return time.Duration(5+pseudo(conn, n, "takes", 300-5)) * time.Minute
	})
	slack := schedule.Tick + maxLate + maxJitter
	for _, c := range conns {
		runs := scheduled(s.runs[c.ID])
		if len(runs) != 30 {
			t.Errorf("%s: %d scheduled runs in 30 days, want 30", c.ID, len(runs))
			continue
		}
		fulls := []time.Time{s.runs[c.ID][0].start} // the install
		first := schedule.Next(c.TenantID, c.ID, 24*time.Hour, t0)
		for i, r := range runs {
			// Anchored: each run starts within a tick (and its lateness) of
			// its own slot, however late or long the ones before were.
			if d := r.start.Sub(first.Add(time.Duration(i) * 24 * time.Hour)); d < 0 || d > slack {
				t.Errorf("%s: run %d started %v after its slot, want within %v", c.ID, i, d, slack)
			}
			if i > 0 {
				gap := r.start.Sub(runs[i-1].start)
				if gap < 24*time.Hour-slack || gap > 24*time.Hour+slack {
					t.Errorf("%s: run %d started %v after the previous, want 24h ± %v", c.ID, i, gap, slack)
				}
			}
			if !r.incremental {
				fulls = append(fulls, r.start)
			}
		}
		if len(fulls) != 5 { // the install and 4 weekly ones
			t.Errorf("%s: %d full syncs (install included), want 5: %v", c.ID, len(fulls), fulls)
		}
		for i := 1; i < len(fulls); i++ {
			if gap := fulls[i].Sub(fulls[i-1]); gap > schedule.FullEvery+2*schedule.Tick+slack || gap < schedule.FullEvery-24*time.Hour-slack {
				t.Errorf("%s: full syncs %v apart, want weekly", c.ID, gap)
			}
		}
	}
}

// TestSimulation_EveryInterval: every interval from 1 to 23 hours (and a
// week) keeps its promise for 30 days: runs interval ± one tick apart, as
// many as fit, full syncs at least weekly.
func TestSimulation_EveryInterval(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 0, 7, 13, 0, time.UTC)
	var conns []store.Connection
	for hours := 1; hours <= 24; hours++ {
		if hours == 24 {
			hours = 168
		}
		conns = append(conns, store.Connection{TenantID: "t_x", ID: fmt.Sprintf("t_x.c_%dh", hours), Enabled: true, SyncIntervalHours: hours})
	}
	s := simulate(t, conns, t0, 30, func(conn string, n int) time.Duration {
		hours := s2h(conn)
		// Up to half the interval, so a run ends before the next slot.
		return time.Duration(1+pseudo(conn, n, "takes", int64(hours*30))) * time.Minute
	})
	slack := schedule.Tick + maxLate + maxJitter
	for _, c := range conns {
		interval := schedule.Interval(c.SyncIntervalHours)
		runs := scheduled(s.runs[c.ID])
		want := int(30 * 24 * time.Hour / interval)
		if len(runs) < want-1 || len(runs) > want+1 {
			t.Errorf("%s: %d runs in 30 days, want %d ± 1", c.ID, len(runs), want)
		}
		last := s.runs[c.ID][0].start
		for i, r := range runs {
			if i > 0 {
				if gap := r.start.Sub(runs[i-1].start); gap < interval-slack || gap > interval+slack {
					t.Errorf("%s: run %d started %v after the previous, want %v ± %v", c.ID, i, gap, interval, slack)
				}
			}
			if !r.incremental {
				if gap := r.start.Sub(last); gap > schedule.FullEvery+2*schedule.Tick+slack {
					t.Errorf("%s: full syncs %v apart", c.ID, gap)
				}
				last = r.start
			}
		}
		if s.now.Sub(last) > schedule.FullEvery+2*schedule.Tick+slack+interval {
			t.Errorf("%s: no full sync since %v", c.ID, last)
		}
	}
}

func s2h(conn string) int {
	var h int
	_, _ = fmt.Sscanf(conn[len("t_x.c_"):], "%dh", &h)
	return max(h, 1)
}

// TestSchedule_SpreadsConnectionsOverTheTicks: 2,000 daily connections do
// not all fall due on one tick: at most a few times the even share.
func TestSchedule_SpreadsConnectionsOverTheTicks(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	perTick := map[int64]int{}
	for i := range 2000 {
		next := schedule.Next(fmt.Sprintf("t_%d", i%50), fmt.Sprintf("t_%d.c_%d", i%50, i), 24*time.Hour, at)
		perTick[int64(next.Sub(at)/schedule.Tick)]++
	}
	even := 2000 / int(24*time.Hour/schedule.Tick)
	for k, n := range perTick {
		if n > 3*even+5 {
			t.Errorf("tick %d: %d connections due, even share %d", k, n, even)
		}
	}
	if len(perTick) < int(24*time.Hour/schedule.Tick)*9/10 {
		t.Errorf("due times fall on %d of %d ticks", len(perTick), int(24*time.Hour/schedule.Tick))
	}
}
