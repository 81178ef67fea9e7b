package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/store"
)

func TestUpdateLedger_ConcurrentWritersLoseNoUpdate(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	const writers = 16
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.UpdateLedger(ctx, "t1", "+61412345678", func(rec store.PhoneRecord) (store.LedgerUpdate, error) {
				l := rec.Ledger
				l.Phone = rec.Phone
				l.Queued = append(append([]consent.Message{}, l.Queued...), consent.Message{Phone: rec.Phone, ConnectionID: fmt.Sprint("c", i), Purpose: consent.PurposeConfirmation, At: clk.now()})
				return store.LedgerUpdate{Ledger: l, Changed: true, History: []store.HistoryEntry{{At: clk.now().Add(time.Duration(i)), EventID: fmt.Sprint("e", i), Kind: "test"}}}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rec, ok, err := st.GetPhone(ctx, "t1", "+61412345678")
	if err != nil || !ok {
		t.Fatalf("GetPhone = %v %v", ok, err)
	}
	if len(rec.Ledger.Queued) != writers || rec.Version != writers {
		t.Fatalf("ledger has %d queued messages at version %d, want %d and %d", len(rec.Ledger.Queued), rec.Version, writers, writers)
	}
	hist, _, err := st.ListHistory(ctx, "t1", "+61412345678", 100, "")
	if err != nil || len(hist) != writers {
		t.Fatalf("history has %d entries (%v), want %d", len(hist), err, writers)
	}
	// Tenant isolation: another tenant sees no record for the number.
	if _, ok, _ := st.GetPhone(ctx, "t2", "+61412345678"); ok {
		t.Error("tenant 2 sees tenant 1's number")
	}
}
