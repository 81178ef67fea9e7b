package schedule_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/schedule"
)

func TestNext_IsTheFollowingSlot(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for hours := 1; hours <= 168; hours++ {
		interval := time.Duration(hours) * time.Hour
		conn := fmt.Sprintf("t_a.c_%d", hours)
		first := schedule.Next("t_a", conn, interval, base)
		if !first.After(base) || first.Sub(base) > interval || first.Second() != 0 || first.Nanosecond() != 0 {
			t.Fatalf("%dh: first slot after %v is %v", hours, base, first)
		}
		// A slot itself is not after itself; any instant inside a period
		// maps to the period's end.
		if got := schedule.Next("t_a", conn, interval, first); !got.Equal(first.Add(interval)) {
			t.Errorf("%dh: Next(slot) = %v, want %v", hours, got, first.Add(interval))
		}
		if got := schedule.Next("t_a", conn, interval, first.Add(interval-time.Nanosecond)); !got.Equal(first.Add(interval)) {
			t.Errorf("%dh: Next(just before the next slot) = %v", hours, got)
		}
		// A run started up to a tick before its slot stands in for it.
		if got := schedule.AfterStart("t_a", conn, hours, first.Add(-schedule.Tick+time.Second)); hours > 1 && !got.Equal(first.Add(interval)) {
			t.Errorf("%dh: AfterStart a little before the slot = %v, want the slot after", hours, got)
		}
	}
}

func TestFull_WeeklyWithoutDrift(t *testing.T) {
	last := time.Date(2026, 11, 1, 3, 10, 0, 0, time.UTC)
	if !schedule.Full(time.Time{}, time.Time{}, last, 24) {
		t.Error("first sync must be full")
	}
	// Daily runs a little earlier in their tick than the full one.
	if schedule.Full(last, last, last.Add(6*24*time.Hour-5*time.Minute), 24) {
		t.Error("day 6 full")
	}
	if !schedule.Full(last, last, last.Add(7*24*time.Hour-5*time.Minute), 24) {
		t.Error("day 7 not full: full syncs would come every 8 days")
	}
	if !schedule.Full(last, last, last.Add(7*24*time.Hour-time.Minute), 168) {
		t.Error("a weekly connection's weekly run must be full")
	}
}
