package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
)

// TestSweepOutbox_BacklogOnOneShardTakesItsShare: 150 due markers on one
// of the sweeper's 64 index shards and one on each of 20 others. A sweep
// of 64 takes every lone marker (a round gives each shard limit/64, at
// least one) and fills the rest from the backlog; the next sweeps drain
// the backlog, each marker once.
func TestSweepOutbox_BacklogOnOneShardTakesItsShare(t *testing.T) {
	t.Parallel()
	stack := stacktest.New(t)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	st := New(stack.DynamoDB, stack.Table, WithClock(func() time.Time { return now }))
	ctx := context.Background()
	const tenant = "t1"
	backlog := "OUTBOX#0"       // the shard a sweep in shard order reads first
	lone := map[string]string{} // shard -> ref
	var entries []OutboxEntry
	crowd := 0
	for i := 0; crowd < 150 || len(lone) < 20; i++ {
		e := SMSEntry(tenant, consent.Message{Phone: fmt.Sprintf("+61412%06d", i), Purpose: consent.PurposeHelp, At: now})
		switch pk := outboxIndexPK(tenant, e.Ref); {
		case pk == backlog && crowd < 150:
			crowd++
		case pk != backlog && lone[pk] == "" && len(lone) < 20:
			lone[pk] = e.Ref
		default:
			continue
		}
		entries = append(entries, e)
	}
	if err := st.PutOutbox(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	at := now.Add(OutboxGrace + time.Second)
	seen := map[string]int{}
	sweep := func() int {
		t.Helper()
		n, err := st.SweepOutbox(ctx, at, time.Hour, 64, func(e OutboxEntry) error { seen[e.Ref]++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(); n != 64 {
		t.Fatalf("first sweep took %d, want its limit 64", n)
	}
	for pk, ref := range lone {
		if seen[ref] != 1 {
			t.Errorf("the lone marker of %s was not in the first sweep (a backlog elsewhere took its place)", pk)
		}
	}
	for sweep() > 0 {
	}
	for _, e := range entries {
		if seen[e.Ref] != 1 {
			t.Errorf("marker %s swept %d times, want once", e.Ref, seen[e.Ref])
		}
	}
}

// TestShards_SpreadEvenly: over a few thousand ids each sharded key's
// busiest shard holds at most 1.5 times an even share (heat.md's factors
// assume an even spread).
func TestShards_SpreadEvenly(t *testing.T) {
	const ids = 4000
	for _, c := range []struct {
		name string
		n    int
		key  func(i int) string
	}{
		{"name index", contactIndexShards, func(i int) string { return contactsIndexPK("t", fmt.Sprintf("c_%016x", i*7919)) }},
		{"group members", groupShards, func(i int) string { return groupPK("t", "Shopify - VIP", "c_"+randomHex(10)) }},
		{"email claims", emailShards, func(i int) string { return emailPK("t", fmt.Sprintf("user%d@example.com", i)) }},
		{"sweeper index", outboxShards, func(i int) string { return outboxIndexPK("t", fmt.Sprintf("%032x", i*104729)) }},
		{"pending-request index", pendingShards, func(i int) string { return doiIndexPK("t", "c1", fmt.Sprintf("+61412%06d", i)) }},
		{"usage shards", usageShards, func(i int) string { return usageShardPK("t", usageShard(fmt.Sprintf("%032x", i*104729))) }},
	} {
		count := map[string]int{}
		for i := range ids {
			count[c.key(i)]++
		}
		busiest := 0
		for _, v := range count {
			busiest = max(busiest, v)
		}
		t.Logf("%s: the busiest of %d shards holds %d of %d (%.2f%%; even %.2f%%)", c.name, len(count), busiest, ids, 100*float64(busiest)/ids, 100/float64(c.n))
		if len(count) != c.n || float64(busiest) > 1.5*ids/float64(c.n) {
			t.Errorf("%s: %d shards (want %d), the busiest with %d of %d (even: %.0f)", c.name, len(count), c.n, busiest, ids, float64(ids)/float64(c.n))
		}
	}
}
