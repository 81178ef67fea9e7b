package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/store"
)

// newUsageSenders is newUsageSender and a maker of more senders (a Store
// each, as in another container) on its table and clock.
func newUsageSenders(t *testing.T) (*usageSender, func() *store.Store) {
	t.Helper()
	st, stack, clk := newStore(t)
	tn, _, err := st.CreateTenant(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return &usageSender{t: t, st: st, tenant: tn.ID, clk: clk}, func() *store.Store {
		return store.New(stack.DynamoDB, stack.Table, store.WithClock(clk.now))
	}
}

// leaseOn makes a new SMS due whose reference falls on usage shard k and
// leases it.
func (u *usageSender) leaseOn(k int) string {
	u.t.Helper()
	for {
		u.n++
		e := store.SMSEntry(u.tenant, consent.Message{Phone: fmt.Sprintf("+614120%05d", u.n), ConnectionID: "c1", Purpose: consent.PurposeConfirmation, At: u.clk.now()})
		if store.UsageShard(e.Ref) != k {
			continue
		}
		if err := u.st.PutOutbox(context.Background(), e); err != nil {
			u.t.Fatal(err)
		}
		if l, err := u.st.LeaseOutbox(context.Background(), u.tenant, e.Ref, time.Minute); err != nil || !l.OK {
			u.t.Fatalf("lease: %+v %v", l, err)
		}
		return e.Ref
	}
}

// reserveRef reserves credits for the leased message ref under limit.
func (u *usageSender) reserveRef(ref string, credits, limit int) bool {
	u.t.Helper()
	ok, err := u.st.ReserveCredits(context.Background(), u.tenant, ref, store.UsageMonth(u.clk.now()), credits, limit)
	if err != nil {
		u.t.Fatal(err)
	}
	return ok
}

// finish ends a leased message that reserved credits (sent for credits,
// or failed when credits is 0).
func (u *usageSender) finish(ref string, credits, reserved int) {
	u.t.Helper()
	r := store.OutboxResult{Status: store.OutboxSent, Detail: "SM" + ref, Credits: credits, ConnectionID: "c1",
		Purpose: string(consent.PurposeConfirmation), Capped: true, Reserved: reserved, ReservedMonth: store.UsageMonth(u.clk.now())}
	if credits == 0 {
		r.Status, r.Detail = store.OutboxFailed, "provider refused"
	}
	if err := u.st.FinishOutbox(context.Background(), u.tenant, ref, r); err != nil {
		u.t.Fatal(err)
	}
}

func (u *usageSender) blocks() (sum int, each []int) {
	u.t.Helper()
	each, err := store.MonthBlocks(context.Background(), u.st, u.tenant, store.UsageMonth(u.clk.now()))
	if err != nil {
		u.t.Fatal(err)
	}
	for _, b := range each {
		sum += b
	}
	return sum, each
}

func (u *usageSender) setCap(limit *int) {
	u.t.Helper()
	if err := u.st.SetCreditCap(context.Background(), u.tenant, limit); err != nil {
		u.t.Fatal(err)
	}
}

func (u *usageSender) monthUsage() store.MonthUsage {
	u.t.Helper()
	mu, err := u.st.GetMonthUsage(context.Background(), u.tenant, store.UsageMonth(u.clk.now()))
	if err != nil {
		u.t.Fatal(err)
	}
	return mu
}

// TestBlocks_NearTheCapTextsTakeOtherShardsUnusedCredits: under a cap of
// 40 each of the 16 usage shards takes a block (its text and one more
// credit); 40 one-credit texts spread over all 16 shards all reserve —
// the last ones from what is left of the central item and then from
// other shards' unused blocks — and the 41st is held, with nothing left in
// any block and the month's committed credits at the cap.
func TestBlocks_NearTheCapTextsTakeOtherShardsUnusedCredits(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	limit := 40
	if store.BlockExtra(limit, 1) != 1 {
		t.Fatalf("a block under a cap of 40 takes %d credits beyond its text, want 1", store.BlockExtra(limit, 1))
	}
	u.setCap(&limit)
	for i := range limit {
		ref := u.leaseOn(i % 16)
		if !u.reserveRef(ref, 1, limit) {
			sum, each := u.blocks()
			t.Fatalf("text %d (shard %d) held under a cap of %d with %d credits unused in blocks %v", i+1, i%16, limit, sum, each)
		}
		u.finish(ref, 1, 1)
	}
	for k := range 16 {
		if u.reserveRef(u.leaseOn(k), 1, limit) {
			t.Fatalf("a text on shard %d reserved past the cap", k)
		}
	}
	if sum, each := u.blocks(); sum != 0 {
		t.Fatalf("blocks %v hold %d credits at the cap, want none", each, sum)
	}
	if got := u.committed(); got != limit {
		t.Fatalf("committed = %d, want %d", got, limit)
	}
	if mu := u.monthUsage(); mu.Messages != limit || mu.Credits != limit {
		t.Fatalf("month usage = %+v, want %d messages and credits", mu, limit)
	}
}

// TestBlocks_UnusedAndRefusedCreditsGoBackToTheBlock: a text sent for
// fewer credits than it reserved, and a text the provider refused, give
// what they did not use back to their shard's block (not to the central
// item); the cap still counts exactly: under a cap of 10, after a refused
// 3-credit text and a 3-credit reservation sent as 2, eight one-credit
// texts on other shards reserve (two of them from that block) and the
// ninth is held.
func TestBlocks_UnusedAndRefusedCreditsGoBackToTheBlock(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	limit := 10
	u.setCap(&limit)
	refused := u.leaseOn(3)
	if !u.reserveRef(refused, 3, limit) {
		t.Fatal("a 3-credit text held under an empty cap of 10")
	}
	u.finish(refused, 0, 3)
	short := u.leaseOn(3)
	if !u.reserveRef(short, 3, limit) {
		t.Fatal("a 3-credit text held after a refused one gave its credits back")
	}
	u.finish(short, 2, 3)
	if _, each := u.blocks(); each[3] != 1 || u.committed() != 3 {
		t.Fatalf("shard 3's block %d, committed %d; want 1 credit back in the block, committed 3", each[3], u.committed())
	}
	for i := range 8 {
		ref := u.leaseOn(4 + i%2)
		if !u.reserveRef(ref, 1, limit) {
			t.Fatalf("one-credit text %d held with %d of a cap of %d sent", i+1, 2+i, limit)
		}
		u.finish(ref, 1, 1)
	}
	if u.reserveRef(u.leaseOn(5), 1, limit) {
		t.Fatal("a text reserved past the cap")
	}
	if mu := u.monthUsage(); mu.Messages != 9 || mu.Credits != limit || u.committed() != limit {
		t.Fatalf("month usage = %+v, committed %d; want 9 messages, %d credits, committed at the cap", mu, u.committed(), limit)
	}
}

// TestBlocks_LoweringTheCapBelowCommittedAndBlockedGivesTheBlocksBack:
// three texts under a cap of 1,000 leave 3 credits sent and 93 in their
// shards' blocks; lowering the cap to 10 gives the blocks back (committed
// is what was sent), and exactly 7 more credits reserve, on the shards
// that held blocks too. Raising it and removing it leave committed at
// what was sent and reserved.
func TestBlocks_LoweringTheCapBelowCommittedAndBlockedGivesTheBlocksBack(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	limit := 1000
	u.setCap(&limit)
	for k := range 3 {
		ref := u.leaseOn(k)
		if !u.reserveRef(ref, 1, limit) {
			t.Fatal("held under a cap of 1,000")
		}
		u.finish(ref, 1, 1)
	}
	extra := store.BlockExtra(limit, 1)
	if sum, _ := u.blocks(); sum != 3*extra || u.committed() != 3+3*extra {
		t.Fatalf("blocks %d, committed %d; want %d in blocks, committed %d", sum, u.committed(), 3*extra, 3+3*extra)
	}
	limit = 10
	u.setCap(&limit)
	if sum, each := u.blocks(); sum != 0 || u.committed() != 3 {
		t.Fatalf("after lowering the cap: blocks %v, committed %d; want none, 3 (what was sent)", each, u.committed())
	}
	var held []string
	for i := range 7 {
		ref := u.leaseOn(i % 4)
		if !u.reserveRef(ref, 1, limit) {
			t.Fatalf("text %d held with %d of a cap of %d used", i+1, 3+i, limit)
		}
		held = append(held, ref)
	}
	for k := range 4 {
		if u.reserveRef(u.leaseOn(k), 1, limit) {
			t.Fatalf("a text on shard %d reserved past the lowered cap", k)
		}
	}
	limit = 20
	u.setCap(&limit)
	if sum, _ := u.blocks(); sum != 0 || u.committed() != 10 {
		t.Fatalf("after raising the cap: blocks %d, committed %d; want none, 10 (3 sent, 7 reserved)", sum, u.committed())
	}
	if !u.reserveRef(u.leaseOn(7), 1, limit) {
		t.Fatal("held under the raised cap")
	}
	u.setCap(nil)
	if sum, _ := u.blocks(); sum != 0 || u.committed() != 11 {
		t.Fatalf("after removing the cap: blocks %d, committed %d; want none, 11", sum, u.committed())
	}
	for _, ref := range held {
		u.finish(ref, 1, 1)
	}
	if mu := u.monthUsage(); mu.Messages != 10 || mu.Credits != 10 {
		t.Fatalf("month usage = %+v, want 10 messages and credits", mu)
	}
}

// TestBlocks_ACapLoweredWhileTextsSendIsNotServedByBlocksOfTheOldCap: a
// shard holds a block taken under a cap of 1,000 when the cap is lowered
// to 5; texts checked against the new cap on that shard, while the
// rebase has not yet given the block back, reserve exactly 4 credits
// (1 was sent), not the block's 31.
func TestBlocks_ACapLoweredWhileTextsSendIsNotServedByBlocksOfTheOldCap(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	limit := 1000
	u.setCap(&limit)
	const k = 9
	ref := u.leaseOn(k)
	if !u.reserveRef(ref, 1, limit) {
		t.Fatal("held under a cap of 1,000")
	}
	u.finish(ref, 1, 1)
	refs := make([]string, 10)
	for i := range refs {
		refs[i] = u.leaseOn(k)
	}
	reserved, ran := 0, 0
	store.SetBeforeFold(u.st, func(shard int) {
		if shard != 0 || ran > 0 {
			return
		}
		ran++
		for _, ref := range refs {
			if u.reserveRef(ref, 1, 5) {
				reserved++
			}
		}
	})
	lowered := 5
	u.setCap(&lowered)
	if ran != 1 || reserved != 4 {
		t.Fatalf("%d texts reserved under the lowered cap of 5 with 1 sent (hook ran %d times), want 4", reserved, ran)
	}
	if sum, each := u.blocks(); sum != 0 || u.committed() != 5 {
		t.Fatalf("blocks %v, committed %d; want none, 5", each, u.committed())
	}
}

// TestBlocks_CappedTextsWriteTheTenantKeyOncePerBlock meters a capped
// tenant's texts (reservation and send, the outbox consumer's calls): the
// tenant's key T#t is written once per block a shard takes — a text's
// credit and 64 more under a large cap — counted from the requests, so
// 512 texts over 16 shards write it at most 512/16 times, here once per
// shard. The reservation and the send write different keys of the shard:
// its block's key T#t#BLOCK#<k> once a text (its reservation) and once
// more a block (the failed try before the take), its month's counters
// T#t#USAGE#<k> and its running total T#t#CREDITS#<k> once a text (the
// send), so no key of a shard takes more than 1 + 1/65 writes a text of
// the shard (heat.md: 719 WCU/s on the busiest at 5,000 texts/s, where
// the month's counters took both writes, 1,427).
func TestBlocks_CappedTextsWriteTheTenantKeyOncePerBlock(t *testing.T) {
	t.Parallel()
	st, m, _, clk := newMeteredStore(t)
	tn, _, err := st.CreateTenant(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	u := &usageSender{t: t, st: st, tenant: tn.ID, clk: clk}
	limit := 1_000_000
	u.setCap(&limit)
	perBlock := 1 + store.BlockExtra(limit, 1)
	if perBlock != 65 {
		t.Fatalf("a block under a cap of 1,000,000 serves %d one-credit texts, want 65", perBlock)
	}
	const n = 512
	perShard, writes := map[int]int{}, 0
	keyWrites := map[string]int{} // writes of each shard key
	for i := range n {
		ref := u.leaseOn(i % 16)
		perShard[store.UsageShard(ref)]++
		m.take()
		ok, err := st.ReserveCredits(context.Background(), u.tenant, ref, store.UsageMonth(u.clk.now()), 1, limit)
		if err != nil || !ok {
			t.Fatalf("reserve: %v %v", ok, err)
		}
		if err := st.FinishOutbox(context.Background(), u.tenant, ref, store.OutboxResult{Status: store.OutboxSent, Detail: "SM", Credits: 1,
			ConnectionID: "c1", Purpose: string(consent.PurposeConfirmation), Capped: true, Reserved: 1, ReservedMonth: store.UsageMonth(u.clk.now())}); err != nil {
			t.Fatal(err)
		}
		got := m.take()
		writes += got[heatKey{"table", "T#" + u.tenant}].Writes
		for key, c := range got {
			if key.Where == "table" && strings.HasPrefix(key.PK, "T#"+u.tenant+"#") && !strings.HasPrefix(key.PK, "T#"+u.tenant+"#OUT#") {
				keyWrites[strings.TrimPrefix(key.PK, "T#"+u.tenant)] += c.Writes
			}
		}
	}
	want := 0
	for _, c := range perShard {
		want += (c + perBlock - 1) / perBlock
	}
	t.Logf("%d capped texts wrote the tenant's key %d times (%.4f a text; %d blocks)", n, writes, float64(writes)/n, want)
	if writes != want || writes*16 > n {
		t.Fatalf("%d writes on the tenant's key for %d texts, want one a block (%d), at most 1/16 a text", writes, n, want)
	}
	for k, c := range perShard {
		blocks := (c + perBlock - 1) / perBlock
		for key, w := range map[string]int{fmt.Sprintf("#BLOCK#%d", k): c + blocks, fmt.Sprintf("#USAGE#%d", k): c, fmt.Sprintf("#CREDITS#%d", k): c} {
			if keyWrites[key] != w {
				t.Errorf("shard %d's %d texts (%d blocks) wrote T#t%s %d times, want %d", k, c, blocks, key, keyWrites[key], w)
			}
			delete(keyWrites, key)
		}
	}
	if len(keyWrites) > 0 {
		t.Errorf("capped texts wrote other keys of the tenant: %v", keyWrites)
	}
}

// TestBlocks_OnceTheMonthIsStampedSpentAHeldTextReadsOnlyItsOwnBlock
// meters texts the cap holds. Under a cap of 2 with two texts reserved
// (nothing left in any block):
//   - the first held text makes its failed try on its own block (with its
//     marker), reads the central item and the 16 blocks twice, the second
//     time at one moment (TransactGetItems, 2 RCU an item), and stamps the
//     month spent: one transaction, a condition check on the central item
//     and a write on each block;
//   - a second, from a sender that has not seen the month spent (a new
//     container), writes its failed try and reads nothing: the try
//     returns its block's stamp;
//   - a third, from the sender that saw it, reads its own block (1 RCU)
//     and writes nothing.
//
// Neither touches the tenant's key: held texts were 3.5 RCU on it, its
// read limit at ≈ 850 held texts a second (heat.md).
func TestBlocks_OnceTheMonthIsStampedSpentAHeldTextReadsOnlyItsOwnBlock(t *testing.T) {
	t.Parallel()
	st, m, stack, clk := newMeteredStore(t)
	tn, _, err := st.CreateTenant(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	u := &usageSender{t: t, st: st, tenant: tn.ID, clk: clk}
	limit := 2
	u.setCap(&limit)
	for k := range limit {
		if !u.reserveRef(u.leaseOn(k), 1, limit) {
			t.Fatalf("text %d held under an empty cap of %d", k+1, limit)
		}
	}
	// held reserves a text of shard k through sender s and returns what it
	// wrote (item writes and WCU) and read (RCU) on each table key.
	held := func(s *store.Store, k int) (map[string]int, float64, map[string]float64) {
		t.Helper()
		ref := u.leaseOn(k)
		m.take()
		ok, err := s.ReserveCredits(context.Background(), u.tenant, ref, store.UsageMonth(clk.now()), 1, limit)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Fatal("a text reserved past the cap")
		}
		writes, wcu, reads := map[string]int{}, 0.0, map[string]float64{}
		for key, c := range m.take() {
			if key.Where != "table" {
				continue
			}
			pk := strings.Replace(key.PK, "T#"+u.tenant, "T#t", 1)
			if strings.HasPrefix(pk, "T#t#OUT#") {
				pk = "T#t#OUT#<ref>"
			}
			if c.Writes > 0 {
				writes[pk] += c.Writes
				wcu += c.WCU
			}
			if c.Reads > 0 {
				reads[pk] += c.RCU
			}
		}
		return writes, wcu, reads
	}

	writes, wcu, reads := held(st, 2)
	wantWrites := map[string]int{"T#t": 1, "T#t#OUT#<ref>": 1}
	for k := range 16 {
		wantWrites[fmt.Sprintf("T#t#BLOCK#%d", k)] = 1
	}
	wantWrites["T#t#BLOCK#2"] = 2 // its failed try and its stamp
	if fmt.Sprint(writes) != fmt.Sprint(wantWrites) || wcu != 4+34 {
		t.Errorf("the first held text wrote %v (%g WCU), want its failed try and the stamp %v (38 WCU)", writes, wcu, wantWrites)
	}
	if reads["T#t"] != 3 || reads["T#t#BLOCK#0"] != 3 || reads["T#t#BLOCK#15"] != 3 {
		t.Errorf("the first held text read %v, want 3 RCU on the central item and on each block (a read, then one at one moment)", reads)
	}
	stamps, err := store.MonthStamps(context.Background(), st, u.tenant, store.UsageMonth(clk.now()))
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range stamps {
		if s != "0/2" {
			t.Fatalf("block %d's stamp is %q, want 0 credits free under a cap of 2 (all: %q)", k, s, stamps)
		}
	}

	fresh := store.New(m, stack.Table, store.WithClock(clk.now))
	writes, wcu, reads = held(fresh, 3)
	if want := map[string]int{"T#t#BLOCK#3": 1, "T#t#OUT#<ref>": 1}; fmt.Sprint(writes) != fmt.Sprint(want) || wcu != 4 || len(reads) != 0 {
		t.Errorf("a held text of a new sender wrote %v (%g WCU) and read %v, want only its failed try %v (4 WCU) and no read", writes, wcu, reads, want)
	}

	writes, _, reads = held(st, 4)
	if len(writes) != 0 || fmt.Sprint(reads) != fmt.Sprint(map[string]float64{"T#t#BLOCK#4": 1}) {
		t.Errorf("a held text of a sender that saw the month spent wrote %v and read %v, want nothing written and 1 RCU on its own block", writes, reads)
	}
}

// TestBlocks_AGiveBackUnderTheStampFreesItsCredits: under a cap of 3,
// fully reserved, a held text stamps the month spent. A text the provider
// refused then gives its credit back, and one sent for fewer credits than
// it reserved gives back the difference: each clears all 16 stamps in its
// transaction, so a text of another shard reserves that credit — from a
// sender that saw the month spent (it reads its block first) and from one
// that did not — and the text after it is held and stamps again.
func TestBlocks_AGiveBackUnderTheStampFreesItsCredits(t *testing.T) {
	t.Parallel()
	u, newSender := newUsageSenders(t)
	month := store.UsageMonth(u.clk.now())
	limit := 3
	u.setCap(&limit)
	refused, short := u.leaseOn(0), u.leaseOn(1)
	if !u.reserveRef(refused, 1, limit) || !u.reserveRef(short, 2, limit) {
		t.Fatal("held under an empty cap")
	}
	stamped := func(want string) {
		t.Helper()
		stamps, err := store.MonthStamps(context.Background(), u.st, u.tenant, month)
		if err != nil {
			t.Fatal(err)
		}
		for k, s := range stamps {
			if s != want {
				t.Fatalf("block %d's stamp is %q, want %q (all: %q)", k, s, want, stamps)
			}
		}
	}
	if u.reserveRef(u.leaseOn(5), 1, limit) {
		t.Fatal("a text reserved past the cap")
	}
	stamped("0/3")

	u.finish(refused, 0, 1)
	stamped("")
	if !u.reserveRef(u.leaseOn(6), 1, limit) {
		t.Fatal("a text held after a refused text gave its credit back under the stamp")
	}
	if u.reserveRef(u.leaseOn(7), 1, limit) {
		t.Fatal("a text reserved past the cap")
	}
	stamped("0/3")

	u.finish(short, 1, 2)
	stamped("")
	fresh := &usageSender{t: t, st: newSender(), tenant: u.tenant, clk: u.clk}
	if !fresh.reserveRef(u.leaseOn(8), 1, limit) {
		t.Fatal("a text held after a text sent for fewer credits gave the rest back under the stamp")
	}
	if fresh.reserveRef(u.leaseOn(9), 1, limit) {
		t.Fatal("a text reserved past the cap")
	}
	stamped("0/3")
	if sum, each := u.blocks(); sum != 0 || u.committed() != limit {
		t.Fatalf("blocks %v, committed %d; want none left, committed at the cap %d", each, u.committed(), limit)
	}
}

// TestBlocks_AGiveBackBetweenTheHoldAndTheStampLeavesNoStamp: a text is
// held on a read at one moment that left no credit; a refused text gives
// one back before the stamp is written. The stamp is conditioned on the
// blocks the read found, so it is not written, and the next text reserves
// the credit.
func TestBlocks_AGiveBackBetweenTheHoldAndTheStampLeavesNoStamp(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	month := store.UsageMonth(u.clk.now())
	limit := 2
	u.setCap(&limit)
	refused := u.leaseOn(0)
	if !u.reserveRef(refused, 1, limit) || !u.reserveRef(u.leaseOn(1), 1, limit) {
		t.Fatal("held under an empty cap")
	}
	var once sync.Once
	store.SetBeforeStamp(u.st, func() { once.Do(func() { u.finish(refused, 0, 1) }) })
	if u.reserveRef(u.leaseOn(2), 1, limit) {
		t.Fatal("a text reserved past the cap")
	}
	stamps, err := store.MonthStamps(context.Background(), u.st, u.tenant, month)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(stamps, "") != "" {
		t.Fatalf("stamps %q written after a credit was given back", stamps)
	}
	if !u.reserveRef(u.leaseOn(3), 1, limit) {
		t.Fatal("the credit given back before the stamp was held")
	}
}

// TestBlocks_ConcurrentHoldsAndGiveBacksNeverHoldAFreeCredit: 96 texts,
// six on each of the 16 usage shards, reserve at once under a cap of 40,
// through two senders; every third that reserves is refused by the
// provider (its credit goes back), the others are sent. Holds, stamps and
// give-backs race. No more than 40 credits are ever sent; and afterwards,
// whatever stamps the race left, texts one after another reserve exactly
// the credits still free, and the next is held.
func TestBlocks_ConcurrentHoldsAndGiveBacksNeverHoldAFreeCredit(t *testing.T) {
	t.Parallel()
	u, newSender := newUsageSenders(t)
	month := store.UsageMonth(u.clk.now())
	limit := 40
	u.setCap(&limit)
	other := newSender()
	refs := make([]string, 96)
	for i := range refs {
		refs[i] = u.leaseOn(i % 16)
	}
	var mu sync.Mutex
	reserved, sent, held := 0, 0, 0
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			s := u.st
			if i%2 == 1 {
				s = other
			}
			ok, err := s.ReserveCredits(context.Background(), u.tenant, ref, month, 1, limit)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if !ok {
				held++
				mu.Unlock()
				return
			}
			reserved++
			refuse := reserved%3 == 0
			if !refuse {
				sent++
			}
			mu.Unlock()
			r := store.OutboxResult{Status: store.OutboxSent, Detail: "SM" + ref, Credits: 1, ConnectionID: "c1",
				Purpose: string(consent.PurposeConfirmation), Capped: true, Reserved: 1, ReservedMonth: month}
			if refuse {
				r.Status, r.Detail, r.Credits = store.OutboxFailed, "provider refused", 0
			}
			if err := s.FinishOutbox(context.Background(), u.tenant, ref, r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every third reservation gives its credit back, so at most 60 of the
	// 96 reserve: at least 36 are held while give-backs race them.
	if mu := u.monthUsage(); mu.Credits != sent || sent > limit || held+reserved != len(refs) || held < 36 {
		t.Fatalf("%d texts sent (usage %+v), %d reserved, %d held of %d under a cap of %d", sent, mu, reserved, held, len(refs), limit)
	}
	free := limit - sent
	for i := range free + 1 {
		s := u
		if i%2 == 1 {
			s = &usageSender{t: t, st: other, tenant: u.tenant, clk: u.clk}
		}
		ref := u.leaseOn(i % 16)
		ok := s.reserveRef(ref, 1, limit)
		if i < free && !ok {
			stamps, _ := store.MonthStamps(context.Background(), u.st, u.tenant, month)
			sum, each := u.blocks()
			t.Fatalf("after the race, text %d of %d free credits was held (blocks %v, %d credits; stamps %q)", i+1, free, each, sum, stamps)
		}
		if i == free && ok {
			t.Fatalf("a text reserved past the cap: %d sent in the race, then %d", sent, free+1)
		}
	}
}

// TestBlocks_ConcurrentSendersOnEveryShardStopExactlyAtTheCap: 64 texts,
// four on each of the 16 usage shards, reserve at once under a cap of 40:
// exactly 40 reserve (blocks taken, partial blocks and other shards'
// unused credits included), and no credit is left in a block.
func TestBlocks_ConcurrentSendersOnEveryShardStopExactlyAtTheCap(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	limit := 40
	u.setCap(&limit)
	refs := make([]string, 64)
	for i := range refs {
		refs[i] = u.leaseOn(i % 16)
	}
	month := store.UsageMonth(u.clk.now())
	var mu sync.Mutex
	reserved := 0
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Go(func() {
			ok, err := u.st.ReserveCredits(context.Background(), u.tenant, ref, month, 1, limit)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				reserved++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if sum, each := u.blocks(); reserved != limit || sum != 0 || u.committed() != limit {
		t.Fatalf("%d reservations under a cap of %d, blocks %v, committed %d; want %d, none, %d", reserved, limit, each, u.committed(), limit, limit)
	}
}

// TestBlocks_ASendAcrossTheMonthsEndCountsInTheMonthItIsSent: a text
// reserved on the last day of November and sent in December counts in
// December (messages, credits, committed); its November reservation goes
// back to its shard's November block, so November's used credits do not
// keep it.
func TestBlocks_ASendAcrossTheMonthsEndCountsInTheMonthItIsSent(t *testing.T) {
	t.Parallel()
	u := newUsageSender(t)
	u.clk.t = time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	limit := 100
	u.setCap(&limit)
	ref := u.leaseOn(2)
	nov := store.UsageMonth(u.clk.now())
	if !u.reserveRef(ref, 2, limit) {
		t.Fatal("held under an empty cap")
	}
	novCommitted := u.committed()
	u.clk.advance(2 * time.Minute)
	if err := u.st.FinishOutbox(context.Background(), u.tenant, ref, store.OutboxResult{Status: store.OutboxSent, Detail: "SM", Credits: 2,
		ConnectionID: "c1", Purpose: string(consent.PurposeConfirmation), Capped: true, Reserved: 2, ReservedMonth: nov}); err != nil {
		t.Fatal(err)
	}
	if got := u.committed(); got != 2 {
		t.Fatalf("December committed = %d, want 2", got)
	}
	if mu := u.monthUsage(); mu.Month != "2026-12" || mu.Messages != 1 || mu.Credits != 2 {
		t.Fatalf("December usage = %+v, want 1 message, 2 credits", mu)
	}
	blocks, err := store.MonthBlocks(context.Background(), u.st, u.tenant, nov)
	if err != nil {
		t.Fatal(err)
	}
	novUsed, _ := store.MonthCommitted(context.Background(), u.st, u.tenant, nov)
	for _, b := range blocks {
		novUsed -= b
	}
	if novUsed != 0 || novCommitted != 2+store.BlockExtra(limit, 2) {
		t.Fatalf("November: %d credits used after the reservation went back (blocks %v), committed %d at the reservation; want 0, %d", novUsed, blocks, novCommitted, 2+store.BlockExtra(limit, 2))
	}
}
