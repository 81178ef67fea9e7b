package consent

import (
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// year2099 is a consent timestamp a source with a broken (or hostile) clock
// claims.
var year2099 = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

const week = 7 * 24 * 60 // minutes

// TestConsent_SourceClockIsUntrusted: a source's consent timestamp orders as
// min(claimed time, time the hub received it), everywhere signals are
// ordered, and a repeat of the same statement keeps its first receipt.
func TestConsent_SourceClockIsUntrusted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []Event
		want   State
	}{
		{"OptInDated2099_ThenStopAWeekLater_StopWins",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), stop(week)}, Unsubscribed},
		{"OptInDated2099_ResyncedDailyAfterStop_StopWins",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), stop(week), signal("c1", Explicit, source.SignalSubscribed, year2099, week+24*60)}, Unsubscribed},
		{"OptInDated2099_ReceiptsOutOfOrder_FirstReceiptCounts",
			[]Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, year2099, 20), signal("c1", Explicit, source.SignalSubscribed, year2099, 5)}, Unsubscribed},
		{"OptInDated2099_ResyncInAnotherMode_KeepsFirstReceipt",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), stop(10), signal("c1", Inferred, source.SignalSubscribed, year2099, 20)}, Unsubscribed},
		{"OptInDated2099_FirstReceivedAfterStop_LiftsAtReceipt",
			[]Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, year2099, 20)}, Subscribed},
		{"OptInSkewedAhead_ReceivedBeforeStop_StopWins",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, at(15), 9), stop(10)}, Unsubscribed},
		{"OptInSkewedAhead_ReceivedAfterStop_Lifts",
			[]Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, at(30), 11)}, Subscribed},
		// One slot per connection forgets a displaced statement's first
		// receipt; the fence (Ledger.AheadClaims) remembers its claim.
		{"OptInSkewedAhead_DisplacedThenRedelivered_StopWins",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, at(15), 9), stop(10), signal("c1", Explicit, source.SignalSubscribed, time.Time{}, 12), signal("c1", Explicit, source.SignalSubscribed, at(15), 20)}, Unsubscribed},
		{"OptInDated2099_DisplacedThenRedelivered_StopWins",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), stop(10), signal("c1", Explicit, source.SignalUnsubscribed, at(11), 11), signal("c1", Explicit, source.SignalSubscribed, year2099, 20)}, Unsubscribed},
		{"OptInSkewedAhead_BeforeStop_ThenANewOptIn_Lifts",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, at(15), 9), stop(10), signal("c1", Explicit, source.SignalSubscribed, at(30), 31)}, Subscribed},
		{"OptInClaimEqualToStop_DoesNotLift",
			[]Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, at(10), 10)}, Unsubscribed},
		{"OptInReceivedAtStopTime_DoesNotLift",
			[]Event{stop(10), signal("c1", Explicit, source.SignalSubscribed, year2099, 10)}, Unsubscribed},
		{"SourceOptOutDated2099_LiftedByLaterStart",
			[]Event{signal("c1", Explicit, source.SignalUnsubscribed, year2099, 1), start(5)}, Subscribed},
		{"SourceOptOutDated2099_LaterStartThenResync_StaysLifted",
			[]Event{signal("c1", Explicit, source.SignalUnsubscribed, year2099, 1), start(5), signal("c1", Explicit, source.SignalUnsubscribed, year2099, 24*60)}, Subscribed},
		{"AmongSources_OptInDated2099_DoesNotBeatNewerOptOut",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), signal("c2", Explicit, source.SignalUnsubscribed, at(5), 6)}, Unsubscribed},
		{"AmongSources_OptOutDated2099_DoesNotBeatNewerOptIn",
			[]Event{signal("c2", Explicit, source.SignalUnsubscribed, year2099, 1), signal("c1", Explicit, source.SignalSubscribed, at(5), 6)}, Subscribed},
		{"SameSource_OptInDated2099_DoesNotBeatLaterOptOut",
			[]Event{signal("c1", Explicit, source.SignalSubscribed, year2099, 1), signal("c1", Explicit, source.SignalUnsubscribed, at(5), 6)}, Unsubscribed},
		{"SameSource_OptInDated2099_ReceivedAfterOptOut_Wins",
			[]Event{signal("c1", Explicit, source.SignalUnsubscribed, at(5), 6), signal("c1", Explicit, source.SignalSubscribed, year2099, 7)}, Subscribed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := run(t, tt.events...)
			if got := l.State(); got != tt.want {
				t.Errorf("State() = %q, want %q", got, tt.want)
			}
			// Every arrival order gives the same state (the events above
			// have distinct receipts).
			for _, order := range permutations(len(tt.events)) {
				evs := make([]Event, len(order))
				for i, j := range order {
					evs[i] = tt.events[j]
				}
				if l2, _ := run(t, evs...); l2.State() != l.State() {
					t.Errorf("arrival order %v: State() = %q, want %q", order, l2.State(), l.State())
				}
			}
		})
	}
}

// TestConsent_SourceClockKeptAsEvidence: the claimed time is kept (in the
// stored signal and the Change), only the ordering ignores it.
func TestConsent_SourceClockKeptAsEvidence(t *testing.T) {
	t.Parallel()
	l, chs := run(t, signal("c1", Explicit, source.SignalSubscribed, year2099, 1))
	s, _ := l.Signal("c1")
	if !s.At.Equal(year2099) || !s.ReceivedAt.Equal(at(1)) || !s.OrderedAt().Equal(at(1)) {
		t.Errorf("stored signal = %+v, OrderedAt %v", s, s.OrderedAt())
	}
	if !chs[0].SourceAt.Equal(year2099) {
		t.Errorf("change SourceAt = %v, want the claimed time", chs[0].SourceAt)
	}
	// The re-sync writes nothing: the same statement, first received at 1.
	resync := signal("c1", Explicit, source.SignalSubscribed, year2099, 500)
	if !l.Holds(resync) {
		t.Error("Holds(re-sync of the same statement) = false")
	}
	if _, ch := l.Apply(resync); !ch.IsZero() {
		t.Errorf("re-sync changed the ledger: %+v", ch)
	}
}

// TestConsent_CombineOrdersByReceipt: two copies of a number's ledger meeting
// (Combine) order signals the same way: an opt-in dated 2099 received before
// the STOP does not lift it.
func TestConsent_CombineOrdersByReceipt(t *testing.T) {
	t.Parallel()
	stopped, _ := run(t, stop(week))
	synced, _ := run(t, signal("c1", Explicit, source.SignalSubscribed, year2099, 1))
	for _, tc := range []struct {
		name        string
		keep, other Ledger
	}{{"StopKept", stopped, synced}, {"SignalKept", synced, stopped}} {
		got, _ := Combine(tc.keep, tc.other, at(2*week))
		if got.State() != Unsubscribed {
			t.Errorf("%s: Combine state %q, want unsubscribed", tc.name, got.State())
		}
	}
}

// permutations lists every order of 0..n-1 (n is small).
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
