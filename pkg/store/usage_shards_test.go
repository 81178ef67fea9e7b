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

// usageSender plays the outbox consumer's store calls for one tenant.
type usageSender struct {
	t      *testing.T
	st     *store.Store
	tenant string
	clk    *clock
	n      int
}

// lease makes a new SMS due and leases it; its reference is returned.
func (u *usageSender) lease() string {
	u.t.Helper()
	u.n++
	e := store.SMSEntry(u.tenant, consent.Message{Phone: fmt.Sprintf("+614120%05d", u.n), ConnectionID: "c1", Purpose: consent.PurposeConfirmation, At: u.clk.now()})
	if err := u.st.PutOutbox(context.Background(), e); err != nil {
		u.t.Fatal(err)
	}
	if l, err := u.st.LeaseOutbox(context.Background(), u.tenant, e.Ref, time.Minute); err != nil || !l.OK {
		u.t.Fatalf("lease: %+v %v", l, err)
	}
	return e.Ref
}

// sent finishes a leased message sent, checked without a cap.
func (u *usageSender) sent(ref string, credits int) {
	u.t.Helper()
	if err := u.st.FinishOutbox(context.Background(), u.tenant, ref, store.OutboxResult{Status: store.OutboxSent, Detail: "SM" + ref,
		Credits: credits, ConnectionID: "c1", Purpose: string(consent.PurposeConfirmation)}); err != nil {
		u.t.Fatal(err)
	}
}

// reserve reserves credits for a new message under limit.
func (u *usageSender) reserve(credits, limit int) bool {
	u.t.Helper()
	ok, err := u.st.ReserveCredits(context.Background(), u.tenant, u.lease(), store.UsageMonth(u.clk.now()), credits, limit)
	if err != nil {
		u.t.Fatal(err)
	}
	return ok
}

func (u *usageSender) committed() int {
	u.t.Helper()
	n, err := store.MonthCommitted(context.Background(), u.st, u.tenant, store.UsageMonth(u.clk.now()))
	if err != nil {
		u.t.Fatal(err)
	}
	return n
}

func newUsageSender(t *testing.T) *usageSender {
	t.Helper()
	st, _, clk := newStore(t)
	tn, _, err := st.CreateTenant(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return &usageSender{t: t, st: st, tenant: tn.ID, clk: clk}
}

// TestUsageShards_CapSetMidMonthCountsEarlierSendsAndSendsInFlight: texts
// sent without a cap are counted on the usage shards only; a cap set
// mid-month counts them (the rebase), and a text that was checked without
// a cap and finishes after the cap was set is counted too (its shard is
// flagged), so the next reservation sees all of them.
func TestUsageShards_CapSetMidMonthCountsEarlierSendsAndSendsInFlight(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	ctx := context.Background()
	for range 3 {
		u.sent(u.lease(), 2)
	}
	if got := u.committed(); got != 0 {
		t.Fatalf("committed = %d after uncapped sends, want 0 (they leave the central item alone)", got)
	}
	inFlight := u.lease() // checked without a cap, at the provider
	limit := 10
	if err := u.st.SetCreditCap(ctx, u.tenant, &limit); err != nil {
		t.Fatal(err)
	}
	if got := u.committed(); got != 6 {
		t.Fatalf("committed = %d after the cap was set, want 6 (the month's sends)", got)
	}
	u.sent(inFlight, 1)
	if got := u.committed(); got != 7 {
		t.Fatalf("committed = %d after the send in flight finished, want 7", got)
	}
	if u.reserve(4, limit) {
		t.Fatal("a 4-credit reservation fit under a cap of 10 after 7 credits sent")
	}
	if !u.reserve(3, limit) {
		t.Fatal("a 3-credit reservation did not fit under a cap of 10 after 7 credits sent")
	}
	mu, err := u.st.GetMonthUsage(ctx, u.tenant, store.UsageMonth(u.clk.now()))
	if err != nil || mu.Messages != 4 || mu.Credits != 7 || len(mu.ByConnection) != 1 || mu.ByConnection[0] != (store.UsageCount{Key: "c1", Messages: 4, Credits: 7}) {
		t.Fatalf("month usage = %+v %v, want 4 messages, 7 credits, all of c1", mu, err)
	}
	if used, err := u.st.CreditsUsed(ctx, u.tenant); err != nil || used != 7 {
		t.Fatalf("tenant credits = %d %v, want 7", used, err)
	}

	// Setting the cap again rebases on the same numbers: nothing twice.
	if err := u.st.SetCreditCap(ctx, u.tenant, &limit); err != nil {
		t.Fatal(err)
	}
	if got := u.committed(); got != 10 {
		t.Fatalf("committed = %d after the cap was set again, want 10 (7 sent, 3 reserved)", got)
	}
	// Without a cap, sends leave the central item alone again; the next
	// cap counts them.
	if err := u.st.SetCreditCap(ctx, u.tenant, nil); err != nil {
		t.Fatal(err)
	}
	u.sent(u.lease(), 5)
	if got := u.committed(); got != 10 {
		t.Fatalf("committed = %d after an uncapped send, want 10 (unchanged)", got)
	}
	limit = 20
	if err := u.st.SetCreditCap(ctx, u.tenant, &limit); err != nil {
		t.Fatal(err)
	}
	if got := u.committed(); got != 15 {
		t.Fatalf("committed = %d after the cap was set again, want 15", got)
	}
}

// TestUsageShards_RebaseRacingAnUncappedSendCountsItOnce: a text checked
// without a cap finishes on its shard between the rebase's read of the
// shard and its fold: the fold's condition fails, it reads again and
// counts the text once.
func TestUsageShards_RebaseRacingAnUncappedSendCountsItOnce(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	ctx := context.Background()
	u.sent(u.lease(), 2)
	racer := u.lease()
	raced := 0
	store.SetBeforeFold(u.st, func(k int) {
		if k == store.UsageShard(racer) && raced == 0 {
			raced++
			u.sent(racer, 3)
		}
	})
	limit := 100
	if err := u.st.SetCreditCap(ctx, u.tenant, &limit); err != nil {
		t.Fatal(err)
	}
	if raced != 1 {
		t.Fatalf("the racing send ran %d times, want 1", raced)
	}
	if got := u.committed(); got != 5 {
		t.Fatalf("committed = %d, want 5 (2 before, 3 during the rebase)", got)
	}
	// Two rebases do not count a shard twice.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := u.st.SetCreditCap(ctx, u.tenant, &limit); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := u.committed(); got != 5 {
		t.Fatalf("committed = %d after concurrent rebases, want 5", got)
	}
}

// TestUsageShards_CappedConcurrentSendersStopAtTheCap: twenty senders of a
// capped tenant reserve one credit each at once under a cap of 7: seven
// reserve, and their sends (one credit each, as reserved) leave the
// month's committed credits at the cap.
func TestUsageShards_CappedConcurrentSendersStopAtTheCap(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	ctx := context.Background()
	limit := 7
	if err := u.st.SetCreditCap(ctx, u.tenant, &limit); err != nil {
		t.Fatal(err)
	}
	refs := make([]string, 20)
	for i := range refs {
		refs[i] = u.lease()
	}
	month := store.UsageMonth(u.clk.now())
	var mu sync.Mutex
	var reserved []string
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Go(func() {
			ok, err := u.st.ReserveCredits(ctx, u.tenant, ref, month, 1, limit)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				reserved = append(reserved, ref)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(reserved) != limit {
		t.Fatalf("%d reservations under a cap of %d", len(reserved), limit)
	}
	for _, ref := range reserved {
		if err := u.st.FinishOutbox(ctx, u.tenant, ref, store.OutboxResult{Status: store.OutboxSent, Detail: "SM", Credits: 1, ConnectionID: "c1",
			Purpose: string(consent.PurposeConfirmation), Capped: true, Reserved: 1, ReservedMonth: month}); err != nil {
			t.Fatal(err)
		}
	}
	if got := u.committed(); got != limit {
		t.Fatalf("committed = %d, want %d", got, limit)
	}
	if u.reserve(1, limit) {
		t.Fatal("a reservation past the cap")
	}
	if mu, err := u.st.GetMonthUsage(ctx, u.tenant, month); err != nil || mu.Credits != limit || mu.Messages != limit {
		t.Fatalf("month usage = %+v %v, want %d", mu, err, limit)
	}
}
