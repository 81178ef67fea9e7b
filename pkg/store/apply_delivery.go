package store

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// A webhook delivery's idempotency key is folded into the apply of its
// records (Target.Delivery) instead of costing a claim before the work and
// a completion after it (ClaimIdempotency, CompleteIdempotency: two
// writes):
//
//   - the key is read with the records' first reads, in the same
//     BatchGetItem as their links, phone items, suppressions and email
//     claims (prefetchDelivery); a completed key ends the apply there
//     (Applied.Duplicate): a redelivery costs one request, no write;
//   - the key is written completed with the apply's last writes, in the
//     BatchWriteItem that carries the records' links (a link kept as it
//     is, keepLink, joins it too), once every decision and side write is
//     done: a crash before it leaves the key unwritten, and the
//     platform's retry applies the delivery again (idempotent: the
//     decision is in the state it merges on);
//   - two copies of one delivery in flight at once both apply: every
//     decision is written on the conditions of what it read (versions,
//     owners, the link as read), so one commits; the other, its write
//     stale, reads again (reload) — the key with the rest, stopping if it
//     is completed by then — and merges on the committed state, where the
//     record changes nothing and makes nothing due. Texts are queued only
//     by the decision that changed the ledger, under their outbox
//     reference; write-backs under the record's
//     (messages.RecordWriteBackMessage).
//
// A key still IN_PROGRESS (claimed by ClaimIdempotency: the privacy
// webhooks' path, or a container of the previous version) answers
// ErrDeliveryInProgress.

// Delivery names the idempotency key of the webhook delivery whose records
// are applied.
type Delivery struct {
	Scope IdempotencyScope
	Key   string
	// KeepFor is how long the completed key is remembered (its TTL).
	KeepFor time.Duration
}

// ErrDeliveryInProgress: the delivery's key is claimed by another
// invocation that has not finished (ClaimIdempotency); the platform
// should retry later.
var ErrDeliveryInProgress = errors.New("store: the delivery is being processed")

// errDelivered: the delivery's key is completed (ApplyRecords answers
// Applied.Duplicate).
var errDelivered = errors.New("store: the delivery was applied before")

// prefetched are items read ahead (a delivery's first reads), served to
// the apply's eventually consistent reads: a key in keys was read, and is
// absent when items has no entry for it.
type prefetched struct {
	keys  map[string]bool
	items map[string]map[string]types.AttributeValue
	// consistent: read consistently (a re-read), so they serve consistent
	// reads too.
	consistent bool
}

// prefetchDelivery reads, in one request, the delivery's key and what the
// records' apply reads first: their links, and for the changed ones their
// phone items, suppression entries and email claims. It reports whether
// the delivery was already applied; a key still in progress is
// ErrDeliveryInProgress. A consistent prefetch is a stale decision's
// re-read (reload): a copy of the delivery may have completed it.
func (s *Store) prefetchDelivery(ctx context.Context, t Target, recs []source.Record, ids []merge.Identity, ld *loaded, consistent bool) (bool, error) {
	idem := keyOf(idemPK(t.TenantID, string(t.Delivery.Scope), t.Delivery.Key), skIdem)
	keys := []map[string]types.AttributeValue{idem}
	for i, r := range recs {
		keys = append(keys, keyOf(contactPK(t.TenantID, creatorID(t.TenantID, t.Conn.ID, r.ExternalID)), skContact),
			keyOf(linkPK(t.TenantID, t.Conn.ID, r.ExternalID), skLink))
		if p := ids[i].Phone; p != "" {
			keys = append(keys, keyOf(phonePK(t.TenantID, p), skPhone), keyOf(suppressionPK(t.TenantID, p), skSup))
		}
		if e := ids[i].EmailKey; e != "" {
			keys = append(keys, keyOf(emailPK(t.TenantID, e), e))
		}
	}
	items, err := s.batchGet(ctx, keys, consistent)
	if err != nil {
		return false, err
	}
	if item, ok := items[itemKey(idem)]; ok {
		var it idemItem
		if err := unmarshalMap(item, &it); err != nil {
			return false, err
		}
		now := s.now()
		switch {
		case it.ExpiresAt < now.Unix(): // expired, not yet deleted by the TTL
		case it.Status == idemCompleted:
			return true, nil
		case it.InProgressUntil >= now.UnixMilli():
			return false, ErrDeliveryInProgress
		}
		delete(items, itemKey(idem))
	}
	ld.pre = &prefetched{keys: map[string]bool{}, items: items, consistent: consistent}
	for _, k := range keys[1:] {
		ld.pre.keys[itemKey(k)] = true
	}
	return false, nil
}

// serve splits keys into what was prefetched (the items found) and the
// rest, still to read.
func (p *prefetched) serve(keys []map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, []map[string]types.AttributeValue) {
	got := map[string]map[string]types.AttributeValue{}
	var rest []map[string]types.AttributeValue
	for _, k := range keys {
		id := itemKey(k)
		if !p.keys[id] {
			rest = append(rest, k)
			continue
		}
		if it, ok := p.items[id]; ok {
			got[id] = it
		}
	}
	return got, rest
}

// getPrefetched reads keys, serving the prefetched ones from ld.pre.
func (s *Store) getPrefetched(ctx context.Context, ld *loaded, keys []map[string]types.AttributeValue, consistent bool) (map[string]map[string]types.AttributeValue, error) {
	got, rest := ld.pre.serve(keys)
	if len(rest) == 0 {
		return got, nil
	}
	items, err := s.batchGet(ctx, rest, consistent)
	if err != nil {
		return nil, err
	}
	maps.Copy(items, got)
	return items, nil
}

// completeDelivery adds the delivery's completed key to the apply's last
// writes (after its links).
func (s *Store) completeDelivery(t Target, side *pendingWrites) error {
	av, err := marshalMap(idemItem{
		PK: idemPK(t.TenantID, string(t.Delivery.Scope), t.Delivery.Key), SK: skIdem, Status: idemCompleted,
		ExpiresAt: s.now().Add(t.Delivery.KeepFor).Unix(), Result: "ok",
	})
	if err != nil {
		return err
	}
	side.last = append(side.last, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	return nil
}
