package consent

import (
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// TestConsent_WriteBackDue: an opt-out is written back to a record that
// still shows the number subscribed only while nothing newer lifted it; a
// newer explicit opt-in (the person's YES or START, a dated source opt-in
// ordered after the opt-out) is never overwritten.
func TestConsent_WriteBackDue(t *testing.T) {
	t.Parallel()
	subscribed := func(conn string, consentAt time.Time, received int) Event {
		return signal(conn, Explicit, source.SignalSubscribed, consentAt, received)
	}
	tests := []struct {
		name   string
		events []Event // the record's own signal last
		shown  source.SignalState
		want   bool
	}{
		{"NoOptOut", []Event{subscribed("c1", at(1), 1)}, source.SignalSubscribed, false},
		{"StopThenRecordStillSubscribedUndated", []Event{stop(2), subscribed("c1", time.Time{}, 3)}, source.SignalSubscribed, true},
		{"StopThenRecordSubscribedDatedBefore", []Event{subscribed("c1", at(1), 1), stop(2), subscribed("c1", at(1), 3)}, source.SignalSubscribed, true},
		{"StopThenRecordSubscribedDatedAtTheStop", []Event{stop(2), subscribed("c1", at(2), 3)}, source.SignalSubscribed, true},
		{"StopThenRecordSubscribedDatedAfter_Lifted", []Event{stop(2), subscribed("c1", at(3), 4)}, source.SignalSubscribed, false},
		{"RecordDated2099ReceivedBeforeTheStop", []Event{subscribed("c1", year2099, 1), stop(2)}, source.SignalSubscribed, true},
		{"StopThenYes_Lifted", []Event{stop(2), yes(3), subscribed("c1", time.Time{}, 4)}, source.SignalSubscribed, false},
		{"StopThenStart_Lifted", []Event{stop(2), start(3), subscribed("c1", time.Time{}, 4)}, source.SignalSubscribed, false},
		{"StopYesStop_UnsubscribedAgain", []Event{stop(2), yes(3), stop(4), subscribed("c1", at(1), 5)}, source.SignalSubscribed, true},
		{"HubUnsubscribe", []Event{hubUnsubscribe(2), subscribed("c1", time.Time{}, 3)}, source.SignalSubscribed, true},
		{"OtherSourceUnsubscribed", []Event{signal("c2", Explicit, source.SignalUnsubscribed, at(2), 2), subscribed("c1", at(1), 3)}, source.SignalSubscribed, true},
		{"OtherSourceOptInAfterTheStop_Lifted", []Event{stop(2), subscribed("c2", at(3), 3), subscribed("c1", time.Time{}, 4)}, source.SignalSubscribed, false},
		{"DoubleOptInSourceLiftsToPending", []Event{stop(2), signal("c1", DoubleOptIn, source.SignalSubscribed, at(3), 4)}, source.SignalSubscribed, false},
		{"RecordSaysNothing", []Event{stop(2)}, source.SignalNone, false},
		{"RecordNeverAsked", []Event{stop(2), signal("c1", Inferred, source.SignalNeverAsked, time.Time{}, 3)}, source.SignalNeverAsked, false},
		{"RecordUnsubscribed", []Event{stop(2), signal("c1", Explicit, source.SignalUnsubscribed, at(3), 3)}, source.SignalUnsubscribed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := run(t, tt.events...)
			if got := l.WriteBackDue(tt.shown); got != tt.want {
				t.Errorf("WriteBackDue(%q) = %v, want %v (state %s)", tt.shown, got, tt.want, l.State())
			}
		})
	}
}
