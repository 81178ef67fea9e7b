package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

func TestTenants_APIKeyAuthenticatesOnlyItsTenant(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	a, keyA, err := st.CreateTenant(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	b, keyB, err := st.CreateTenant(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Authenticate(ctx, keyA); err != nil || got != a.ID {
		t.Fatalf("key A → %q, %v", got, err)
	}
	if got, err := st.Authenticate(ctx, keyB); err != nil || got != b.ID {
		t.Fatalf("key B → %q, %v", got, err)
	}
	_, secretA, _ := cutDot(keyA)
	for _, bad := range []string{"", "nope", a.ID + ".wrong", b.ID + "." + secretA, "t_x#y." + secretA} {
		if _, err := st.Authenticate(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Authenticate(%q) = %v, want ErrNotFound", bad, err)
		}
	}
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestConnections_CRUDVersionAndDueIndex(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	now := clk.now()
	for _, c := range []store.Connection{
		{TenantID: "t1", ID: "c1", Platform: "shopify", Enabled: true, SyncIntervalHours: 24, NextSyncAt: now.Add(-time.Minute)},
		{TenantID: "t1", ID: "c2", Platform: "woocommerce", Enabled: true, SyncIntervalHours: 24, NextSyncAt: now.Add(time.Hour)},
		{TenantID: "t2", ID: "c3", Platform: "klaviyo", Enabled: true, SyncIntervalHours: 24, NextSyncAt: now.Add(-time.Hour)},
		{TenantID: "t2", ID: "c4", Platform: "mailchimp", Enabled: false, SyncIntervalHours: 24, NextSyncAt: now.Add(-time.Hour)},
	} {
		if err := st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateConnection(ctx, store.Connection{TenantID: "t1", ID: "c1"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate create: %v", err)
	}
	due := map[string]bool{}
	if err := st.ListDueConnections(ctx, now, func(d store.DueConnection) error { due[d.TenantID+"/"+d.ConnectionID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || !due["t1/c1"] || !due["t2/c3"] {
		t.Fatalf("due = %v, want t1/c1 and t2/c3 (enabled, elapsed)", due)
	}
	c, err := st.GetConnection(ctx, "t1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	stale := c
	c.Label = "Main store"
	if c, err = st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateConnection(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	if err := st.MarkSynced(ctx, "t1", "c1", now, true); err != nil {
		t.Fatal(err)
	}
	due = map[string]bool{}
	if err := st.ListDueConnections(ctx, now, func(d store.DueConnection) error { due[d.ConnectionID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if due["c1"] {
		t.Error("c1 still due right after a sync")
	}
	if _, err := st.GetConnection(ctx, "t2", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant 2 reads tenant 1's connection: %v", err)
	}
	list, next, err := st.ListConnections(ctx, "t1", 1, "")
	if err != nil || len(list) != 1 || next == "" {
		t.Fatalf("list page 1 = %v %q %v", list, next, err)
	}
	list, next, err = st.ListConnections(ctx, "t1", 1, next)
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("list page 2 = %v %q %v", list, next, err)
	}
	if err := st.DeleteConnection(ctx, "t2", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant 2 deletes tenant 1's connection: %v", err)
	}
	if err := st.DeleteConnection(ctx, "t1", "c1"); err != nil {
		t.Fatal(err)
	}
}
