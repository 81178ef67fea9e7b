package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
)

// A backlog of due webhook checks on one shard of the check's index (the
// one a shard-order read takes first) does not push the other shards'
// due checks out of a tick: each lone check is in the first listing, and
// every check is listed once as the ticks move them on.
func TestListWebhookChecksDue_BacklogOnOneShardTakesItsShare(t *testing.T) {
	t.Parallel()
	stack := stacktest.New(t)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	st := New(stack.DynamoDB, stack.Table, WithClock(func() time.Time { return now }))
	ctx := context.Background()
	const tenant, limit = "t1", 16
	backlog := "HOOKS#0"
	lone := map[string]string{} // shard -> connection
	var states []WebhookState
	crowd := 0
	for i := 0; crowd < 3*limit || len(lone) < schedShards-1; i++ {
		c := fmt.Sprintf("%s.c_%04d", tenant, i)
		switch pk := hooksPK(tenant, c); {
		case pk == backlog && crowd < 3*limit:
			crowd++
		case pk != backlog && lone[pk] == "":
			lone[pk] = c
		default:
			continue
		}
		// The backlog is the most overdue.
		due := now.Add(-time.Hour)
		if hooksPK(tenant, c) == backlog {
			due = now.Add(-48 * time.Hour)
		}
		states = append(states, WebhookState{TenantID: tenant, ConnectionID: c, NextCheckAt: due})
	}
	for _, s := range states {
		if err := st.PutWebhookState(ctx, s, true); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	tick := func() int {
		t.Helper()
		due, err := st.ListWebhookChecksDue(ctx, now, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			seen[d.ConnectionID]++
			// The check moves the connection's next check on (pkg/hooks).
			if err := st.PutWebhookState(ctx, WebhookState{TenantID: d.TenantID, ConnectionID: d.ConnectionID, NextCheckAt: now.Add(24 * time.Hour)}, true); err != nil {
				t.Fatal(err)
			}
		}
		return len(due)
	}
	if n := tick(); n != limit {
		t.Fatalf("first tick listed %d, want its limit %d", n, limit)
	}
	for pk, c := range lone {
		if seen[c] != 1 {
			t.Errorf("the lone due check on %s was not in the first tick (the backlog on %s took its place)", pk, backlog)
		}
	}
	for tick() > 0 {
	}
	for _, s := range states {
		if seen[s.ConnectionID] != 1 {
			t.Errorf("connection %s listed %d times, want once", s.ConnectionID, seen[s.ConnectionID])
		}
	}
}
