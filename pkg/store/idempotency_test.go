package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/store"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newStore(t *testing.T, opts ...store.Option) (*store.Store, *stacktest.Stack, *clock) {
	t.Helper()
	s := stacktest.New(t)
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	opts = append([]store.Option{store.WithClock(clk.now)}, opts...)
	return store.New(s.DynamoDB, s.Table, opts...), s, clk
}

func TestIdempotency_SecondDeliveryWhileRunningIsToldToRetry(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	claim := func() (store.Claim, string) {
		t.Helper()
		c, res, err := st.ClaimIdempotency(ctx, "t1", store.ScopeWebhook, "d-1", 10*time.Second, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return c, res
	}
	if c, _ := claim(); c != store.ClaimAcquired {
		t.Fatalf("first claim = %v, want acquired", c)
	}
	if c, _ := claim(); c != store.ClaimInProgress {
		t.Fatalf("second claim while running = %v, want in progress", c)
	}
	if err := st.CompleteIdempotency(ctx, "t1", store.ScopeWebhook, "d-1", "ok:c-9", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if c, res := claim(); c != store.ClaimCompleted || res != "ok:c-9" {
		t.Fatalf("claim after completion = %v %q, want completed with result", c, res)
	}
	// Other tenants' keys are separate.
	c, _, err := st.ClaimIdempotency(ctx, "t2", store.ScopeWebhook, "d-1", 10*time.Second, 48*time.Hour)
	if err != nil || c != store.ClaimAcquired {
		t.Fatalf("tenant 2 claim = %v, %v", c, err)
	}
	// A completed key expires with its retention.
	clk.advance(49 * time.Hour)
	if c, _ := claim(); c != store.ClaimAcquired {
		t.Fatalf("claim after expiry = %v, want acquired", c)
	}
}

func TestIdempotency_CrashedClaimLapsesAndReleaseAllowsRetry(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	if c, _, _ := st.ClaimIdempotency(ctx, "t1", store.ScopePage, "p-1", 5*time.Second, time.Hour); c != store.ClaimAcquired {
		t.Fatalf("claim = %v", c)
	}
	clk.advance(6 * time.Second) // the holder crashed: its window lapsed
	if c, _, _ := st.ClaimIdempotency(ctx, "t1", store.ScopePage, "p-1", 5*time.Second, time.Hour); c != store.ClaimAcquired {
		t.Fatalf("claim after lapse = %v, want acquired", c)
	}
	if err := st.ReleaseIdempotency(ctx, "t1", store.ScopePage, "p-1"); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := st.ClaimIdempotency(ctx, "t1", store.ScopePage, "p-1", 5*time.Second, time.Hour); c != store.ClaimAcquired {
		t.Fatalf("claim after release = %v, want acquired", c)
	}
}
