package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

func TestHistory_NewestFirstIdempotentAndExpiresAfterAYear(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	t0 := clk.now()
	for i, kind := range []string{"consent_change", "reply", "consent_change"} {
		e := store.HistoryEntry{At: t0.Add(time.Duration(i) * time.Minute), EventID: kind + string(rune('a'+i)), Kind: kind, Detail: map[string]string{"i": string(rune('0' + i))}}
		if err := st.AppendHistory(ctx, "t1", "+61412345678", e); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendHistory(ctx, "t1", "+61412345678", e); err != nil { // replay
			t.Fatal(err)
		}
	}
	got, next, err := st.ListHistory(ctx, "t1", "+61412345678", 10, "")
	if err != nil || len(got) != 3 || next != "" {
		t.Fatalf("history = %v %q %v, want 3 entries", got, next, err)
	}
	if got[0].Detail["i"] != "2" || got[2].Detail["i"] != "0" {
		t.Errorf("not newest first: %+v", got)
	}
	if other, _, _ := st.ListHistory(ctx, "t2", "+61412345678", 10, ""); len(other) != 0 {
		t.Errorf("tenant 2 sees tenant 1's history: %v", other)
	}
	clk.advance(365*24*time.Hour + 30*time.Second)
	got, _, err = st.ListHistory(ctx, "t1", "+61412345678", 10, "")
	if err != nil || len(got) != 2 {
		t.Fatalf("after a year: %v %v, want the 2 newer entries only", got, err)
	}
}

func TestSuppression_SurvivesAndIsPerTenant(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	if err := st.Suppress(ctx, "t1", "+14155550100", clk.now(), "STOP"); err != nil {
		t.Fatal(err)
	}
	if ok, at, err := st.Suppressed(ctx, "t1", "+14155550100"); err != nil || !ok || !at.Equal(clk.now()) {
		t.Fatalf("Suppressed = %v %v %v", ok, at, err)
	}
	if ok, _, _ := st.Suppressed(ctx, "t2", "+14155550100"); ok {
		t.Error("suppression leaked to tenant 2")
	}
}
