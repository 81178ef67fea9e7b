package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestRedact_SourceOnlyOptOutStaysSuppressed: a number that opted out only
// at a source (so the ledger's hub-side OptOutAt is zero) and is then
// redacted keeps a suppression entry with the opt-out's time, and a later
// inferred-mode import of the same customer leaves it unsubscribed.
func TestRedact_SourceOnlyOptOutStaysSuppressed(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	target := store.Target{TenantID: "t1", Conn: c}
	optedOut := t0.Add(time.Hour)
	rec := record(c, 11, t0.Add(time.Hour), "Ann", source.ConsentSignal{State: source.SignalUnsubscribed, At: optedOut})
	a, err := st.ApplyRecord(ctx, target, rec, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if cv, err := st.GetContact(ctx, "t1", a.Decision.ContactID); err != nil || cv.Status != string(consent.Unsubscribed) {
		t.Fatalf("status after the source opt-out = %q %v", cv.Status, err)
	}
	phone := "+61412000011"
	if err := st.ForgetSourceRecord(ctx, target, rec.ExternalID, clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.GetPhone(ctx, "t1", phone); err != nil || ok {
		t.Fatalf("phone item left after redaction: %v %v", ok, err)
	}
	ok, at, err := st.Suppressed(ctx, "t1", phone)
	if err != nil || !ok || !at.Equal(optedOut) {
		t.Fatalf("suppression entry = %v at %v (%v), want one at %v", ok, at, err, optedOut)
	}
	// The customer comes back in inferred mode, saying nothing about
	// consent: still unsubscribed.
	back := record(c, 11, t0.Add(48*time.Hour), "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	a, err = st.ApplyRecord(ctx, target, back, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if cv, err := st.GetContact(ctx, "t1", a.Decision.ContactID); err != nil || cv.Status != string(consent.Unsubscribed) {
		t.Fatalf("re-imported contact status = %q %v, want unsubscribed", cv.Status, err)
	}
}

// TestRedact_SuppressionWithoutTimeIsStillAnOptOut: an entry stored without
// a time (as redaction wrote for source-only opt-outs) still suppresses the
// number on a later inferred import.
func TestRedact_SuppressionWithoutTimeIsStillAnOptOut(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	if err := st.Suppress(ctx, "t1", "+61412000012", time.Time{}, "redacted opt-out"); err != nil {
		t.Fatal(err)
	}
	a, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c}, record(c, 12, t0, "Bo", source.ConsentSignal{State: source.SignalNeverAsked}), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if cv, err := st.GetContact(ctx, "t1", a.Decision.ContactID); err != nil || cv.Status != string(consent.Unsubscribed) {
		t.Fatalf("imported contact status = %q %v, want unsubscribed", cv.Status, err)
	}
}
