package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Usage shards (heat.md: one tenant's texts sent). A sent text is counted
// on one of usageShards shards, chosen by its message reference (k =
// FNV-1a(ref) mod 16), and on no item of the tenant's key T#t:
//
//   - the month's counters: PK=T#t#USAGE#<k>, SK=<yyyy-mm> — messages,
//     credits and the per-connection and per-purpose counters (as the
//     central item had them), plus "settled", the credits of the
//     reservations the shard's sent messages ended (their reservations
//     are on the shard's block, PK=T#t#BLOCK#<k>, blocks.go), and
//     "uncapped", the credits of sends counted without the cap (not in
//     the month's committed credits);
//   - the running total: PK=T#t#CREDITS#<k>, SK=TOTAL — "credits", and
//     "capped" while the tenant has a cap (set by SetCreditCap's rebase,
//     removed with the cap).
//
// Month counters and totals are on partition keys of their own, so a text
// writes each of two shard keys once (2 WCU each, in the marker's
// transaction); under a cap its reservation writes a third, the shard's
// block. GetMonthUsage sums the month's 16 shards and the central
// item's counters (written there before the shards: the sums stay whole
// across the change); CreditsUsed adds the 16 totals to the tenant item's
// creditsUsed the same way (GetTenant, read for every text, reads the
// tenant item alone).
//
// The credit cap's committed credits stay on one central item (PK=T#t,
// SK=USAGE#<yyyy-mm>, "committed"): conditional writes there are what make
// the cap exact across concurrent senders. Shards take them in blocks
// (on a key of their own, blocks.go) and reserve texts from those. A
// text checked against a cap (OutboxResult.Capped, or holding a
// reservation) adds to committed only what its credits pass its
// reservation by; a text checked without a cap does not touch it but adds
// its credits to its shard's "uncapped". So at every moment
//
//	committed = Σ over the month's shards (block + reserved − settled + credits − uncapped)
//
// (plus what the central item counted before the shards). Setting a cap
// folds each shard's uncapped credits into committed and gives its block
// back (rebaseUsage), so the cap counts what was really sent. The fold of
// a shard is one transaction, conditioned on the uncapped credits (on its
// month's counters) and block (on its block's key) it read, that also
// sets the shard's "capped" flag; a send checked without a cap conditions its total's write
// on that flag's absence and, finding it set, counts itself as capped. So
// every uncapped send lands either before its shard's fold (folded) or
// after it (counted in committed): the rebase is exact, with sends in
// flight too. What can still pass the cap is what passed it before the
// shards: opt-out confirmations and help replies (never held), a send
// whose real parts exceed its reservation, and texts whose sender read the
// tenant before the cap was stored (they reserve nothing and are counted,
// not held).
const (
	usageShards     = 16
	usageTotalSK    = "TOTAL"
	usageShardBase  = "#USAGE#"
	creditShardBase = "#CREDITS#"
)

func usageShard(ref string) int            { return shard(ref, usageShards) }
func usageShardPK(t string, k int) string  { return "T#" + t + usageShardBase + strconv.Itoa(k) }
func creditShardPK(t string, k int) string { return "T#" + t + creditShardBase + strconv.Itoa(k) }
func usageCentralKey(t, month string) map[string]types.AttributeValue {
	return keyOf(tenantPK(t), usageSK(month))
}

// shardUsageUpdate counts one sent message of credits parts for conn and
// purpose on its month's shard item; settled is the reservation of the
// shard's month it ends (0: none; what the message did not use goes back
// to the shard's block, blocks.go), free the credits counted without the
// cap.
func (s *Store) shardUsageUpdate(tenant string, k int, month, conn, purpose string, credits, settled, free int) *types.Update {
	expr := "SET tenantId = :t, #month = :month ADD messages :one, credits :n, #cm :one, #cc :n, #pm :one, #pc :n"
	vals := map[string]types.AttributeValue{
		":t": &types.AttributeValueMemberS{Value: tenant}, ":month": &types.AttributeValueMemberS{Value: month},
		":one": numAV(1), ":n": numAV(int64(credits)),
	}
	if settled != 0 {
		expr += ", settled :settled"
		vals[":settled"] = numAV(int64(settled))
	}
	if free != 0 {
		expr += ", uncapped :free"
		vals[":free"] = numAV(int64(free))
	}
	names := map[string]string{
		"#month": "month",
		"#cm":    usageConn + conn + "#m", "#cc": usageConn + conn + "#c",
		"#pm": usagePurp + purpose + "#m", "#pc": usagePurp + purpose + "#c",
	}
	return &types.Update{
		TableName: aws.String(s.table), Key: keyOf(usageShardPK(tenant, k), month),
		UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	}
}

// totalUpdate adds credits to the shard's running total; uncapped, only
// while the shard is not flagged capped (a cap was set meanwhile: the
// caller counts the send as capped).
func (s *Store) totalUpdate(tenant string, k, credits int, uncapped bool) *types.Update {
	u := &types.Update{
		TableName: aws.String(s.table), Key: keyOf(creditShardPK(tenant, k), usageTotalSK),
		UpdateExpression: aws.String("SET tenantId = :t ADD credits :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberS{Value: tenant}, ":n": numAV(int64(credits)),
		},
	}
	if uncapped {
		u.ConditionExpression = aws.String("attribute_not_exists(capped)")
	}
	return u
}

// totalKeys are the keys of the tenant's 16 running totals.
func totalKeys(tenant string) []map[string]types.AttributeValue {
	keys := make([]map[string]types.AttributeValue, usageShards)
	for k := range keys {
		keys[k] = keyOf(creditShardPK(tenant, k), usageTotalSK)
	}
	return keys
}

// sumCredits adds the "credits" numbers of items.
func sumCredits(items ...map[string]types.AttributeValue) (int, error) {
	n := 0
	for _, item := range items {
		v, err := numAttr(item, "credits")
		if err != nil {
			return 0, err
		}
		n += v
	}
	return n, nil
}

// numAttr reads a number attribute (0 when absent).
func numAttr(item map[string]types.AttributeValue, name string) (int, error) {
	av, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	v, err := strconv.Atoi(av.Value)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", name, err)
	}
	return v, nil
}

// rebaseUsage folds every shard's uncapped credits of month into the month's
// committed credits, gives its block back (blocks.go) and flags the shards
// capped (see the package comment above). Concurrent rebases do not count a shard twice: each fold is
// conditioned on the uncapped credits it read.
func (s *Store) rebaseUsage(ctx context.Context, tenant, month string) error {
	for k := range usageShards {
		if err := s.foldShard(ctx, tenant, month, k); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) foldShard(ctx context.Context, tenant, month string, k int) error {
	shardKey, blockKey := keyOf(usageShardPK(tenant, k), month), blockShardKey(tenant, k, month)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.rereadPause(ctx, attempt); err != nil {
				return fmt.Errorf("rebasing usage on a cap: %w", err)
			}
		}
		got, err := s.batchGet(ctx, []map[string]types.AttributeValue{shardKey, blockKey}, true)
		if err != nil {
			return fmt.Errorf("reading usage shard: %w", err)
		}
		free, err := numAttr(got[itemKey(shardKey)], "uncapped")
		if err != nil {
			return err
		}
		blk, err := numAttr(got[itemKey(blockKey)], "block")
		if err != nil {
			return err
		}
		if s.beforeFold != nil {
			s.beforeFold(k)
		}
		flag := &types.Update{
			TableName: aws.String(s.table), Key: keyOf(creditShardPK(tenant, k), usageTotalSK),
			UpdateExpression:          aws.String("SET tenantId = :t, capped = :true"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tenant}, ":true": &types.AttributeValueMemberBOOL{Value: true}},
		}
		// The shard's uncapped credits join committed and its block of
		// credits goes back to it (blocks.go), each as read: the month's
		// counters (item 1) and the block (item 2) are conditioned on what
		// was read, written when there is something to move.
		items := []types.TransactWriteItem{{Update: flag}}
		freeCond := "attribute_not_exists(uncapped) OR uncapped = :free"
		freeVals := map[string]types.AttributeValue{":free": numAV(int64(free))}
		if free == 0 {
			items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(s.table), Key: shardKey, ConditionExpression: aws.String(freeCond), ExpressionAttributeValues: freeVals,
			}})
		} else {
			freeVals[":negfree"] = numAV(int64(-free))
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: shardKey, UpdateExpression: aws.String("ADD uncapped :negfree"),
				ConditionExpression: aws.String(freeCond), ExpressionAttributeValues: freeVals,
			}})
		}
		blkCond := "attribute_not_exists(#block) OR #block = :blk"
		blkNames := map[string]string{"#block": "block"}
		blkVals := map[string]types.AttributeValue{":blk": numAV(int64(blk))}
		if blk == 0 {
			items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(s.table), Key: blockKey, ConditionExpression: aws.String(blkCond),
				ExpressionAttributeNames: blkNames, ExpressionAttributeValues: blkVals,
			}})
		} else {
			blkVals[":negblk"] = numAV(int64(-blk))
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: blockKey, UpdateExpression: aws.String("ADD #block :negblk"),
				ConditionExpression: aws.String(blkCond), ExpressionAttributeNames: blkNames, ExpressionAttributeValues: blkVals,
			}})
		}
		if free != blk {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: usageCentralKey(tenant, month),
				UpdateExpression:         aws.String("SET tenantId = :t, #month = :month ADD committed :d"),
				ExpressionAttributeNames: map[string]string{"#month": "month"},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":t": &types.AttributeValueMemberS{Value: tenant}, ":month": &types.AttributeValueMemberS{Value: month},
					":d": numAV(int64(free - blk)),
				},
			}})
		}
		err = s.transact(ctx, items)
		if reasons := cancelReasons(err); len(reasons) > 2 && (reasons[1] == "ConditionalCheckFailed" || reasons[2] == "ConditionalCheckFailed") {
			continue // an uncapped send counted on the shard, or its block changed, meanwhile: read them again
		}
		if err != nil {
			return fmt.Errorf("rebasing usage on a cap: %w", err)
		}
		return nil
	}
}

// uncapShards removes the shards' capped flags (the cap was removed):
// sends checked without a cap stop writing the central item.
func (s *Store) uncapShards(ctx context.Context, tenant string) error {
	for _, key := range totalKeys(tenant) {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key,
			UpdateExpression:    aws.String("REMOVE capped"),
			ConditionExpression: aws.String("attribute_exists(capped)"),
		})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("removing the cap from usage shards: %w", err)
		}
	}
	return nil
}
