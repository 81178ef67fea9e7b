package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Block reservations (heat.md: a capped tenant's texts sent). Under a
// monthly credit cap a text's credits are reserved from its usage shard's
// "block": credits the shard took from the month's central committed
// credits (PK=T#t, SK=USAGE#<yyyy-mm>) with one conditional write, for its
// own texts. A shard's block has a partition key of its own, PK=T#t#BLOCK#<k>,
// SK=<yyyy-mm> ("block", "blockCap", "reserved"), apart from its month's
// counters (PK=T#t#USAGE#<k>, SK=<yyyy-mm>, usage_shards.go): a text's
// reservation writes the block's key and its send the counters' key, so
// neither takes both writes of a text (heat.md). The central item is
// written once a block, not once a text:
//
//	committed = Σ over the month's shards (block + reserved − settled + credits − uncapped)
//
// where block and reserved (the credits the shard's texts reserved from
// it, less those given back unsent) are on the shard's block item, and
// settled (the reservations sent texts ended), credits and uncapped on its
// month's counters. The sent and held credits ("used": committed less the
// blocks) never pass the cap:
//
//   - a reservation from the shard's block is one transaction with the
//     marker: block ≥ the text's credits and "blockCap" (the cap the
//     block was taken under) = the sender's cap; block −n, reserved +n;
//   - otherwise the sender reads the central item and the 16 blocks (one
//     consistent BatchGetItem) and writes one transaction: it takes what
//     its text needs plus blockExtra from the central item (committed +
//     taken ≤ cap, conditioned), or near the cap what is left of it, and
//     what still lacks from other shards' blocks (each conditioned on
//     what it gives), largest first; its shard's block is stamped with
//     the cap. A central item already past the cap (the cap was lowered)
//     gets the excess back from the blocks in the same write. Every such
//     write conditions committed on the cap, so committed — and with it
//     used — is at most the cap whenever a text reserves;
//   - a text is held only when the central item and the 16 blocks read
//     at one moment (one TransactGetItems, serializable with every write
//     of them) leave cap − used below the text's credits. No text is held
//     while unused credits sit in any shard's block. The read of the plan
//     (a BatchGetItem) reads each item at its own moment, so it only
//     tells when to read them so;
//   - such a hold stamps the month "spent" (stampSpent): one transaction,
//     conditioned on the committed credits and the 16 blocks it read,
//     writes on every block the credits then free, cap − used
//     ("spentFree", and "spentCap", the cap it was computed under). While
//     the stamps stand, what is free is at most spentFree: every write
//     that frees credits (a give-back to a block: transactGiveBack) is
//     conditioned on its block having no stamp, and on a stamped block
//     clears the stamps of all 16 in the same transaction; every other
//     write to the blocks or the central item frees none (a reservation,
//     a take, a steal, a sent text's excess, a fold: used grows or stays).
//     The stamps are written and cleared 16 at once, so a block without
//     one means none stands. A text whose own block carries a stamp of
//     its cap below its credits is held on that one item: its failed try
//     returns the block (ReturnValuesOnConditionCheckFailure), and a
//     sender that saw the month spent reads the block first (a GetItem,
//     which no transaction delays) and does not try. A held text then
//     costs its own block one read (1 RCU) or its failed try, and touches
//     neither the tenant's key nor the other blocks (heat.md).
//
// Moving credits between a block, the central item and the counters keeps
// the sum: a reservation moves them from block to reserved on one item,
// and a sent text from reserved to credits across the two keys (settled
// and credits +n on the counters: the block's key is not written). A text
// sent for fewer credits than it reserved settles its whole reservation
// and gives the difference back to its block (its one send that writes
// both keys); a text not sent gives its reservation back to the block
// (block +n, reserved −n: the block's key alone). SetCreditCap gives the
// month's blocks back to the central item (with the fold of each shard,
// and on removing the cap), and the blockCap stamp keeps a block taken
// under another cap — by a sender that read the tenant before the change
// — from serving texts checked against the new one.
const (
	// A shard takes beyond its text's credits those of blockTexts more
	// texts like it, and at most a 32nd of the cap (under a cap of 32 no
	// more than each text needs): the central item is written once for
	// 65 texts of any length while the cap is 2,048 times a text's credits
	// or more.
	blockTexts     = 64
	blockCapShare  = 32
	blockShardBase = "#BLOCK#"
)

// blockShardKey is the key of usage shard k's block of month.
func blockShardKey(t string, k int, month string) map[string]types.AttributeValue {
	return keyOf(blockShardPK(t, k), month)
}
func blockShardPK(t string, k int) string { return "T#" + t + blockShardBase + strconv.Itoa(k) }

// blockExtra is what a shard takes beyond a text's credits under limit.
func blockExtra(limit, credits int) int {
	return max(0, min(blockTexts*credits, limit/blockCapShare))
}

// ReserveCredits reserves credits for the leased message ref in month's
// usage, unless the month's used credits — those of sent messages and the
// reservations of messages being sent — would pass limit; ok is false then
// (nothing is reserved: the caller holds the message). The reservation is
// recorded on the marker (OutboxLease.Reserved for a later holder) and on
// the block of the month's credits of the message's usage shard (see
// above), in one transaction, so concurrent consumers cannot
// together pass the cap.
func (s *Store) ReserveCredits(ctx context.Context, tenant, ref, month string, credits, limit int) (bool, error) {
	if credits > limit {
		return false, nil
	}
	k := usageShard(ref)
	if s.spent.seen(tenant, month) {
		// This sender saw the month spent: its own block's stamp, read on
		// its own, may hold the text without a try.
		st, err := s.readStamp(ctx, tenant, k, month)
		if err != nil {
			return false, err
		}
		if st.holds(credits, limit) {
			return false, nil
		}
		if st.Free == nil {
			s.spent.forget(tenant, month)
		}
	}
	err := s.transact(ctx, []types.TransactWriteItem{{Update: s.reserveMarker(tenant, ref, month, credits)}, {Update: &types.Update{
		TableName: aws.String(s.table), Key: blockShardKey(tenant, k, month),
		UpdateExpression:    aws.String("ADD #block :neg, reserved :n"),
		ConditionExpression: aws.String("#block >= :n AND blockCap = :cap"),
		// "block" is a reserved word of DynamoDB's expressions.
		ExpressionAttributeNames:            map[string]string{"#block": "block"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":n": numAV(int64(credits)), ":neg": numAV(int64(-credits)), ":cap": numAV(int64(limit))},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}})
	reasons := cancelReasons(err)
	switch {
	case err == nil:
		return true, nil
	case len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed":
		return false, fmt.Errorf("reserving credits for %s: %w", ref, errNotLeased)
	case len(reasons) < 2 || reasons[1] != "ConditionalCheckFailed":
		return false, fmt.Errorf("reserving credits: %w", err)
	}
	// The shard's block is short (or was taken under another cap): the
	// block as the try found it may carry a stamp that holds the text.
	// (An emulator that returns no item, like a block never written, has
	// none to show.)
	var st spentStamp
	if err := unmarshalMap(cancelItem(err, 1), &st); err != nil {
		return false, err
	}
	if st.holds(credits, limit) {
		s.spent.see(tenant, month)
		return false, nil
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.rereadPause(ctx, attempt); err != nil {
				return false, fmt.Errorf("reserving credits: %w", err)
			}
		}
		snap, err := s.readBlocks(ctx, tenant, month)
		if err != nil {
			return false, err
		}
		p := planBlock(snap, k, credits, limit)
		if p.hold {
			// The read's items were read at different moments: read them
			// again at one moment, and hold only if that leaves no room.
			snap, err = s.snapshotBlocks(ctx, tenant, month)
			var tc *types.TransactionCanceledException
			if errors.As(err, &tc) {
				continue // a transaction was writing them: read again
			}
			if err != nil {
				return false, err
			}
			if p = planBlock(snap, k, credits, limit); p.hold {
				if s.beforeStamp != nil {
					s.beforeStamp()
				}
				s.stampSpent(ctx, tenant, month, snap, limit)
				return false, nil
			}
		}
		err = s.transact(ctx, s.blockItems(tenant, ref, month, k, credits, limit, snap, p))
		reasons := cancelReasons(err)
		switch {
		case err == nil:
			return true, nil
		case len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed":
			return false, fmt.Errorf("reserving credits for %s: %w", ref, errNotLeased)
		case conditionCancelled(err):
			continue
		default:
			return false, fmt.Errorf("reserving credits: %w", err)
		}
	}
}

// spentStamp is a block's stamp (see above): while it stands, the credits
// free under Cap are at most Free. A block without one has a nil Free.
type spentStamp struct {
	Free *int `dynamodbav:"spentFree"`
	Cap  int  `dynamodbav:"spentCap"`
}

// holds reports whether the stamp holds a text of credits under limit.
func (st spentStamp) holds(credits, limit int) bool {
	return st.Free != nil && st.Cap == limit && credits > *st.Free
}

// readStamp reads the stamp of shard k's block of month (consistently: 1
// RCU).
func (s *Store) readStamp(ctx context.Context, tenant string, k int, month string) (spentStamp, error) {
	var st spentStamp
	err := s.getItem(ctx, "credit block", true, blockShardPK(tenant, k), month, &st)
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	return st, err
}

// stampSpent stamps the month spent on the 16 blocks (see above): the
// credits free in snap, a read at one moment, under limit. Each block is
// conditioned on the credits snap found in it and the central item on its
// committed credits, so the stamp is written only while they still free
// exactly that. The stamp saves later held texts their reads; a stamp not
// written (a write came between) costs only that, so its error is not the
// text's.
func (s *Store) stampSpent(ctx context.Context, tenant, month string, snap blockSnapshot, limit int) {
	free := limit - snap.committed
	for _, b := range snap.blocks {
		free += b
	}
	cond, vals := equalsRead("committed", snap.committed)
	items := []types.TransactWriteItem{{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(s.table), Key: usageCentralKey(tenant, month),
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
	}}}
	for j, b := range snap.blocks {
		cond, vals := equalsRead("#block", b)
		vals[":t"] = &types.AttributeValueMemberS{Value: tenant}
		vals[":month"] = &types.AttributeValueMemberS{Value: month}
		vals[":free"], vals[":cap"] = numAV(int64(free)), numAV(int64(limit))
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: blockShardKey(tenant, j, month),
			UpdateExpression:          aws.String("SET tenantId = :t, #month = :month, spentFree = :free, spentCap = :cap"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  map[string]string{"#month": "month", "#block": "block"},
			ExpressionAttributeValues: vals,
		}})
	}
	if s.transact(ctx, items) == nil {
		s.spent.see(tenant, month)
	}
}

// equalsRead is the condition that the number attribute name still has
// the value v a read found (absent when 0), with its value.
func equalsRead(name string, v int) (string, map[string]types.AttributeValue) {
	cond := name + " = :was"
	if v == 0 {
		cond = "attribute_not_exists(" + name + ") OR " + cond
	}
	return cond, map[string]types.AttributeValue{":was": numAV(int64(v))}
}

// spentMonths remembers the tenants' months this process saw spent (a
// stamp that held a text, or one it wrote), so that their senders read
// their block's stamp before trying it. It only orders a sender's steps:
// the hold itself always rests on a stamp read from the table.
type spentMonths struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// spentMonthsMax bounds what a process remembers; past it, it starts over.
const spentMonthsMax = 4096

func (sm *spentMonths) see(tenant, month string) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.m == nil || len(sm.m) >= spentMonthsMax {
		sm.m = map[string]struct{}{}
	}
	sm.m[tenant+"|"+month] = struct{}{}
}

func (sm *spentMonths) forget(tenant, month string) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	delete(sm.m, tenant+"|"+month)
}

func (sm *spentMonths) seen(tenant, month string) bool {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	_, ok := sm.m[tenant+"|"+month]
	return ok
}

// conditionCancelled reports whether a transaction was cancelled because
// one of its conditions failed.
func conditionCancelled(err error) bool {
	for _, r := range cancelReasons(err) {
		if r == "ConditionalCheckFailed" {
			return true
		}
	}
	return false
}

// reserveMarker records a reservation on the leased marker.
func (s *Store) reserveMarker(tenant, ref, month string, credits int) *types.Update {
	return &types.Update{
		TableName: aws.String(s.table), Key: keyOf(outboxPK(tenant, ref), skOut),
		UpdateExpression:         aws.String("SET reserved = :n, reservedMonth = :month"),
		ConditionExpression:      aws.String(condSending),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": numAV(int64(credits)), ":month": &types.AttributeValueMemberS{Value: month},
			":sending": &types.AttributeValueMemberS{Value: OutboxSending},
		},
	}
}

// blockSnapshot is the month's committed credits and each shard's block,
// as one read found them.
type blockSnapshot struct {
	committed int
	blocks    [usageShards]int
}

func (s *Store) readBlocks(ctx context.Context, tenant, month string) (blockSnapshot, error) {
	var snap blockSnapshot
	keys := []map[string]types.AttributeValue{usageCentralKey(tenant, month)}
	for k := range usageShards {
		keys = append(keys, blockShardKey(tenant, k, month))
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return snap, fmt.Errorf("reading credit blocks: %w", err)
	}
	if snap.committed, err = numAttr(items[tenantPK(tenant)+"|"+usageSK(month)], "committed"); err != nil {
		return snap, err
	}
	for k := range usageShards {
		if snap.blocks[k], err = numAttr(items[blockShardPK(tenant, k)+"|"+month], "block"); err != nil {
			return snap, err
		}
	}
	return snap, nil
}

// snapshotBlocks reads what readBlocks does at one moment (one
// TransactGetItems: 2 RCU an item).
func (s *Store) snapshotBlocks(ctx context.Context, tenant, month string) (blockSnapshot, error) {
	var snap blockSnapshot
	gets := []types.TransactGetItem{{Get: &types.Get{TableName: aws.String(s.table), Key: usageCentralKey(tenant, month)}}}
	for k := range usageShards {
		gets = append(gets, types.TransactGetItem{Get: &types.Get{TableName: aws.String(s.table), Key: blockShardKey(tenant, k, month)}})
	}
	s.estimate(false, 2*float64(len(gets)))
	out, err := s.db.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: gets, ReturnConsumedCapacity: s.capacityMode()})
	if out != nil {
		s.track(false, out.ConsumedCapacity...)
	}
	if err != nil {
		return snap, fmt.Errorf("reading credit blocks: %w", err)
	}
	if len(out.Responses) != len(gets) {
		return snap, fmt.Errorf("reading credit blocks: %d of %d items", len(out.Responses), len(gets))
	}
	if snap.committed, err = numAttr(out.Responses[0].Item, "committed"); err != nil {
		return snap, err
	}
	for k := range usageShards {
		if snap.blocks[k], err = numAttr(out.Responses[1+k].Item, "block"); err != nil {
			return snap, err
		}
	}
	return snap, nil
}

// blockPlan is how a text of shard k gets its credits: take from the
// central item (negative: gives back its excess over the cap) and steal
// from other shards' blocks; hold when they cannot cover it.
type blockPlan struct {
	hold  bool
	take  int
	steal map[int]int
}

// planBlock plans a reservation of n credits on shard k under limit.
func planBlock(snap blockSnapshot, k, n, limit int) blockPlan {
	room := limit - snap.committed
	need := n - snap.blocks[k] // what the shard's block lacks
	others := 0
	for j, b := range snap.blocks {
		if j != k {
			others += b
		}
	}
	if room+snap.blocks[k]+others < n {
		return blockPlan{hold: true}
	}
	if room >= max(need, 0) {
		if need <= 0 {
			return blockPlan{} // the block suffices: restamped under this cap
		}
		return blockPlan{take: min(room, need+blockExtra(limit, n))}
	}
	// Near (or past) the cap: what is left of the central item, the rest
	// from the other blocks, the largest first.
	p := blockPlan{take: room, steal: map[int]int{}}
	order := make([]int, 0, usageShards)
	for j, b := range snap.blocks {
		if j != k && b > 0 {
			order = append(order, j)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return snap.blocks[order[a]] > snap.blocks[order[b]] })
	for rest, i := need-room, 0; rest > 0; i++ {
		j := order[i]
		x := min(rest, snap.blocks[j])
		p.steal[j] = x
		rest -= x
	}
	return p
}

// blockItems is the transaction of a planned reservation: the marker
// (item 0), the shard's block, the central item, the stolen blocks.
func (s *Store) blockItems(tenant, ref, month string, k, n, limit int, snap blockSnapshot, p blockPlan) []types.TransactWriteItem {
	stolen := 0
	for _, x := range p.steal {
		stolen += x
	}
	items := []types.TransactWriteItem{{Update: s.reserveMarker(tenant, ref, month, n)}, {Update: &types.Update{
		TableName: aws.String(s.table), Key: blockShardKey(tenant, k, month),
		UpdateExpression:         aws.String("SET tenantId = :t, #month = :month, blockCap = :cap ADD #block :delta, reserved :n"),
		ConditionExpression:      aws.String("attribute_not_exists(#block) OR #block >= :had"),
		ExpressionAttributeNames: map[string]string{"#month": "month", "#block": "block"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberS{Value: tenant}, ":month": &types.AttributeValueMemberS{Value: month},
			":cap": numAV(int64(limit)), ":delta": numAV(int64(stolen + p.take - n)), ":n": numAV(int64(n)),
			":had": numAV(int64(snap.blocks[k])),
		},
	}}}
	// committed + take ≤ limit, checked even when nothing is taken.
	cond := "attribute_not_exists(committed) OR committed <= :room"
	room := numAV(int64(limit - p.take))
	if p.take == 0 {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: usageCentralKey(tenant, month),
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: map[string]types.AttributeValue{":room": room},
		}})
	} else {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: usageCentralKey(tenant, month),
			UpdateExpression:         aws.String("SET tenantId = :t, #month = :month ADD committed :take"),
			ConditionExpression:      aws.String(cond),
			ExpressionAttributeNames: map[string]string{"#month": "month"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":t": &types.AttributeValueMemberS{Value: tenant}, ":month": &types.AttributeValueMemberS{Value: month},
				":take": numAV(int64(p.take)), ":room": room,
			},
		}})
	}
	for j := range usageShards {
		x, ok := p.steal[j]
		if !ok {
			continue
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: blockShardKey(tenant, j, month),
			UpdateExpression:          aws.String("ADD #block :neg"),
			ConditionExpression:       aws.String("#block >= :x"),
			ExpressionAttributeNames:  map[string]string{"#block": "block"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":x": numAV(int64(x)), ":neg": numAV(int64(-x))},
		}})
	}
	return items
}

// shardGiveBack turns n reserved credits of the shard's month back into
// its block (a text not sent, or sent in another month): the block's key
// alone. Like every give-back it is run by transactGiveBack.
func (s *Store) shardGiveBack(tenant string, k int, month string, n int) *types.Update {
	return s.blockAdd(tenant, k, month, n, true)
}

// blockBack gives n credits of a settled reservation back to the shard's
// block of month (a text sent for fewer credits than it reserved).
func (s *Store) blockBack(tenant string, k int, month string, n int) *types.Update {
	return s.blockAdd(tenant, k, month, n, false)
}

// condUnstamped is a give-back's condition: its block has no spent stamp.
const condUnstamped = "attribute_not_exists(spentFree)"

// blockAdd adds n to the shard's block of month, taking them from its
// reserved credits when unreserve is set, on a block without a stamp.
func (s *Store) blockAdd(tenant string, k int, month string, n int, unreserve bool) *types.Update {
	expr := "SET tenantId = :t, #month = :month ADD #block :n"
	vals := map[string]types.AttributeValue{
		":t": &types.AttributeValueMemberS{Value: tenant}, ":month": &types.AttributeValueMemberS{Value: month},
		":n": numAV(int64(n)),
	}
	if unreserve {
		expr += ", reserved :neg"
		vals[":neg"] = numAV(int64(-n))
	}
	return &types.Update{
		TableName: aws.String(s.table), Key: blockShardKey(tenant, k, month),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(condUnstamped),
		ExpressionAttributeNames:  map[string]string{"#month": "month", "#block": "block"},
		ExpressionAttributeValues: vals,
	}
}

// giveBack names the give-back (blockAdd) of a transaction: its index,
// and the tenant, shard and month of its block.
type giveBack struct {
	at     int
	tenant string
	k      int
	month  string
}

// transactGiveBack runs a transaction whose item g.at gives credits back
// to a block. If that block carries a spent stamp, the credits it frees
// would make the stamps too low: it runs the transaction again with the
// give-back unconditioned and the stamps of all 16 blocks removed (the
// others' removals appended, so the other items keep their indexes).
func (s *Store) transactGiveBack(ctx context.Context, items []types.TransactWriteItem, g giveBack) error {
	err := s.transact(ctx, items)
	if r := cancelReasons(err); g.at < 0 || len(r) <= g.at || r[g.at] != "ConditionalCheckFailed" {
		return err
	}
	back := *items[g.at].Update
	back.ConditionExpression = nil
	back.UpdateExpression = aws.String(aws.ToString(back.UpdateExpression) + " REMOVE spentFree, spentCap")
	items = slices.Clone(items)
	items[g.at] = types.TransactWriteItem{Update: &back}
	for j := range usageShards {
		if j == g.k {
			continue
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: blockShardKey(g.tenant, j, g.month),
			UpdateExpression:         aws.String("SET tenantId = :t, #month = :month REMOVE spentFree, spentCap"),
			ExpressionAttributeNames: map[string]string{"#month": "month"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":t": &types.AttributeValueMemberS{Value: g.tenant}, ":month": &types.AttributeValueMemberS{Value: g.month},
			},
		}})
	}
	return s.transact(ctx, items)
}

// releaseBlocks gives every shard's block of month back to the central
// item (the cap was removed), each conditioned on the block it read.
func (s *Store) releaseBlocks(ctx context.Context, tenant, month string) error {
	for k := range usageShards {
		key := blockShardKey(tenant, k, month)
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				if err := s.rereadPause(ctx, attempt); err != nil {
					return fmt.Errorf("releasing credit blocks: %w", err)
				}
			}
			var it struct {
				Block int `dynamodbav:"block"`
			}
			if err := s.getItem(ctx, "credit block", true, blockShardPK(tenant, k), month, &it); err != nil {
				if errors.Is(err, ErrNotFound) {
					break
				}
				return err
			}
			if it.Block == 0 {
				break
			}
			err := s.transact(ctx, []types.TransactWriteItem{{Update: &types.Update{
				TableName: aws.String(s.table), Key: key,
				UpdateExpression:          aws.String("ADD #block :neg"),
				ConditionExpression:       aws.String("#block = :b"),
				ExpressionAttributeNames:  map[string]string{"#block": "block"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":b": numAV(int64(it.Block)), ":neg": numAV(int64(-it.Block))},
			}}, {Update: s.commitUpdate(tenant, month, -it.Block)}})
			if conditionCancelled(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("releasing credit blocks: %w", err)
			}
			break
		}
	}
	return nil
}
