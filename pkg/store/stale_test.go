package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// A source's own opt-out (Klaviyo's record unsubscribes the number) makes
// the contact's other source records be looked at again on their next
// sync only where that sync could write the opt-out back: a connection
// with write-back off finds its unchanged record unchanged, without a
// write; one with write-back on applies it again (and so finds the
// write-back due).
func TestApply_OptOutThroughOneSourceMarksOnlyLinksThatWriteBack(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		st, _, clk := newStore(t)
		ctx := context.Background()
		shop, kl := conn("c1", "Shopify", consent.Inferred), conn("c2", "Klaviyo", consent.Inferred)
		if err := st.CreateConnection(ctx, store.Connection{TenantID: "t1", ID: shop.ID, Platform: "shopify", Label: shop.Label,
			ConsentMode: string(shop.Mode), DefaultRegion: "AU", Enabled: true, WriteBackOptOuts: on, SyncIntervalHours: 24}); err != nil {
			t.Fatal(err)
		}
		subscribed := source.ConsentSignal{State: source.SignalSubscribed, At: t0}
		a, b := record(shop, 51, t0, "Ann", subscribed), record(kl, 51, t0, "Ann", subscribed)
		shopTarget := store.Target{TenantID: "t1", Conn: shop, WriteBack: on}
		for _, x := range []struct {
			tg  store.Target
			rec source.Record
		}{{shopTarget, a}, {store.Target{TenantID: "t1", Conn: kl}, b}} {
			if _, err := st.ApplyRecords(ctx, x.tg, []source.Record{x.rec}, clk.now()); err != nil {
				t.Fatal(err)
			}
		}
		b.UpdatedAt, b.Consent = t0.Add(time.Hour), source.ConsentSignal{State: source.SignalUnsubscribed, At: t0.Add(time.Hour)}
		if out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: kl}, []source.Record{b}, clk.now()); err != nil || out[0].Decision.Outcome != merge.Updated {
			t.Fatalf("Klaviyo's opt-out: %+v %v", out, err)
		}
		out, err := st.ApplyRecords(ctx, shopTarget, []source.Record{a}, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0]; got.Wrote != on || got.WriteBack != on {
			t.Errorf("write-back %v: the Shopify record's next apply wrote %v, write-back due %v; want both %v", on, got.Wrote, got.WriteBack, on)
		}
	}
}
