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
//     central item had them), plus "reserved", the credits reservations
//     of the shard's messages hold in the month (ReserveCredits adds,
//     the message's finish takes away), and "uncapped", the credits of
//     sends counted without the cap (not in the month's committed credits);
//   - the running total: PK=T#t#CREDITS#<k>, SK=TOTAL — "credits", and
//     "capped" while the tenant has a cap (set by SetCreditCap's rebase,
//     removed with the cap).
//
// Month counters and totals are on partition keys of their own, so a text
// writes each of two shard keys once (2 WCU each, in the marker's
// transaction). GetMonthUsage sums the month's 16 shards and the central
// item's counters (written there before the shards: the sums stay whole
// across the change); CreditsUsed adds the 16 totals to the tenant item's
// creditsUsed the same way (GetTenant, read for every text, reads the
// tenant item alone).
//
// The credit cap's committed credits stay on one central item (PK=T#t,
// SK=USAGE#<yyyy-mm>, "committed"): conditional writes there are what make
// the cap exact across concurrent senders. Shards take them in blocks
// ("block" on the month item, blocks.go) and reserve texts from those. A
// text checked against a cap (OutboxResult.Capped, or holding a
// reservation) adds to committed only what its credits pass its
// reservation by; a text checked without a cap does not touch it but adds
// its credits to its shard's "uncapped". So at every moment
//
//	committed = Σ over the month's shards (credits + reserved + block − uncapped)
//
// (plus what the central item counted before the shards). Setting a cap
// folds each shard's uncapped credits into committed and gives its block
// back (rebaseUsage), so the cap counts what was really sent. The fold of
// a shard is one transaction, conditioned on the uncapped credits and
// block it read, that also sets the shard's "capped" flag; a send checked without a cap conditions its total's write
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
// purpose on its month's shard item; reservedBack is the reservation of the
// shard's month it turns into credits (0: none), free the credits counted
// without the cap, blockBack what of the reservation the message did not
// use (back to the shard's block: blocks.go).
func (s *Store) shardUsageUpdate(tenant string, k int, month, conn, purpose string, credits, reservedBack, free, blockBack int) *types.Update {
	expr := "SET tenantId = :t, #month = :month ADD messages :one, credits :n, #cm :one, #cc :n, #pm :one, #pc :n"
	vals := map[string]types.AttributeValue{
		":t": &types.AttributeValueMemberS{Value: tenant}, ":month": &types.AttributeValueMemberS{Value: month},
		":one": numAV(1), ":n": numAV(int64(credits)),
	}
	if reservedBack != 0 {
		expr += ", reserved :back"
		vals[":back"] = numAV(int64(-reservedBack))
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
	if blockBack != 0 {
		expr += ", #block :blockBack"
		vals[":blockBack"] = numAV(int64(blockBack))
		names["#block"] = "block"
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
	shardKey := keyOf(usageShardPK(tenant, k), month)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.rereadPause(ctx, attempt); err != nil {
				return fmt.Errorf("rebasing usage on a cap: %w", err)
			}
		}
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: shardKey, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("reading usage shard: %w", err)
		}
		free, err := numAttr(out.Item, "uncapped")
		if err != nil {
			return err
		}
		blk, err := numAttr(out.Item, "block")
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
		// credits goes back to it (blocks.go), each as read.
		cond := "(attribute_not_exists(uncapped) OR uncapped = :free) AND (attribute_not_exists(#block) OR #block = :blk)"
		vals := map[string]types.AttributeValue{":free": numAV(int64(free)), ":blk": numAV(int64(blk))}
		items := []types.TransactWriteItem{{Update: flag}}
		if free == 0 && blk == 0 {
			items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(s.table), Key: shardKey, ConditionExpression: aws.String(cond),
				ExpressionAttributeNames: map[string]string{"#block": "block"}, ExpressionAttributeValues: vals,
			}})
		} else {
			vals[":negfree"], vals[":negblk"] = numAV(int64(-free)), numAV(int64(-blk))
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: shardKey,
				UpdateExpression:         aws.String("ADD uncapped :negfree, #block :negblk"),
				ConditionExpression:      aws.String(cond),
				ExpressionAttributeNames: map[string]string{"#block": "block"}, ExpressionAttributeValues: vals,
			}})
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
		}
		err = s.transact(ctx, items)
		if reasons := cancelReasons(err); len(reasons) > 1 && reasons[1] == "ConditionalCheckFailed" {
			continue // an uncapped send counted on the shard, or its block changed, meanwhile: read it again
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
