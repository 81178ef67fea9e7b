package resources

import (
	"testing"
	"time"
)

// The scheduler's promise (an N-hour interval runs every N hours ± one
// tick) needs ticks that divide an hour, and a scheduler function to tick.
func TestSchedules_TickDividesAnHour(t *testing.T) {
	if time.Hour%SchedulerTick != 0 || SchedulerTick > 15*time.Minute {
		t.Errorf("SchedulerTick %v must divide an hour and be at most 15 minutes", SchedulerTick)
	}
	for _, s := range Schedules() {
		if _, ok := FunctionByName(s.Function); !ok {
			t.Errorf("schedule %s targets unknown function %s", s.Name, s.Function)
		}
		if s.Rate%time.Minute != 0 || s.Rate < time.Minute {
			t.Errorf("schedule %s: rate %v is not whole minutes (EventBridge rate expressions)", s.Name, s.Rate)
		}
	}
}
