// Package schedule computes when a connection is next due, so that a
// connection with an N-hour interval syncs once every N hours, give or take
// one scheduler tick, forever.
//
// Each connection has fixed slots: phase + k × interval after the Unix
// epoch, where the phase is a hash of the tenant and connection spread over
// the interval (whole minutes), so connections do not all fall due on the
// same tick. The next due time is always the next slot — anchored to the
// schedule, never to when a run happened to start or finish — so a run that
// starts late or takes long does not push the schedule back (an earlier
// design set it to start + interval: with one tick a day, a run that began
// two seconds after its tick was not due at the next one, and daily syncs
// ran every 48 hours).
package schedule

import (
	"hash/fnv"
	"time"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Tick is how often the scheduler runs (resources.SchedulerTick).
const Tick = resources.SchedulerTick

// FullEvery is the longest time between two full syncs of a connection.
const FullEvery = 7 * 24 * time.Hour

// Interval is a connection's sync interval (at least an hour).
func Interval(hours int) time.Duration { return time.Duration(max(hours, 1)) * time.Hour }

// Phase is the connection's offset of its slots within the interval.
func Phase(tenant, conn string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(tenant + "/" + conn))
	minutes := uint64(interval / time.Minute)
	if minutes == 0 {
		return 0
	}
	return time.Duration(h.Sum64()%minutes) * time.Minute
}

// Next returns the connection's first slot strictly after t.
func Next(tenant, conn string, interval time.Duration, t time.Time) time.Time {
	if interval <= 0 {
		interval = time.Hour
	}
	anchor := time.Unix(0, 0).UTC().Add(Phase(tenant, conn, interval))
	if t.Before(anchor) {
		return anchor
	}
	k := t.Sub(anchor)/interval + 1
	return anchor.Add(k * interval)
}

// AfterStart returns the next due time of a connection whose run started
// at start: the first slot after start + one tick. A run the scheduler
// started for slot S (at most one tick after S, or later when it started
// late) makes S + interval next; a run started by hand up to a tick before
// a slot stands in for that slot's run, so the two do not run back to back.
func AfterStart(tenant, conn string, intervalHours int, start time.Time) time.Time {
	return Next(tenant, conn, Interval(intervalHours), start.Add(Tick))
}

// Full reports whether the run starting at now must be a full sync: there
// was none yet, or the connection's next run would come more than FullEvery
// after the last full one. Deciding one interval early (less two ticks, so
// runs that start a little late or early do not flip the choice) keeps full
// syncs weekly: a threshold of exactly seven days made them every eight
// when each run started a little earlier in its tick than the full one.
func Full(lastSync, lastFull, now time.Time, intervalHours int) bool {
	if lastSync.IsZero() || lastFull.IsZero() {
		return true
	}
	threshold := max(FullEvery-Interval(intervalHours)+2*Tick, 0)
	return now.Sub(lastFull) >= threshold
}
