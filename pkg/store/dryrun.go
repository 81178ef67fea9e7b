package store

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
)

// A dry run (Target.DryRun) takes the same decisions as a real run without
// writing what a real run writes. Its records are read against the stored
// state seen through the run's scratch space, and the writes of each
// decision — the same items, with the same conditions — go to that scratch
// space instead: contacts, phone items (claims and ledgers), email claims
// and links, each under the run's own key prefix
// (T#t#RUN#<r>#D#<original key without T#t#>, the original sort key), with
// a TTL and without index attributes, so no listing, index or sweeper ever
// sees them. A delete is a tombstone there (attribute dryTomb). Everything
// else a decision writes — outbox markers, double opt-in requests,
// memberships, group entries, history, denormalised statuses — is left out:
// none of it is read by a later decision of the run.
//
// A decision's conditions keep their meaning: on an item the scratch space
// holds, the original condition (an absent item is also a tombstone); on one
// it does not hold, "the scratch item is still absent" (the stored item does
// not change under a dry run). So two pages of the run racing for one phone
// conflict, re-read and re-merge as in a real run, and in-run dedup, existing
// contacts and retried pages count alike.
//
// Accepted inexactness: which of two racing records is "created" may differ
// between the dry run and the real run (the totals do not); a change made
// to the stored state meanwhile (a webhook, another connection's run) is
// not foreseen; a dry run longer than the scratch TTL forgets what it
// claimed first.

// DryScratchTTL is how long a dry run's scratch items are kept.
const DryScratchTTL = 7 * 24 * time.Hour

// attrTomb marks a scratch item as deleted by the run.
const attrTomb = "dryTomb"

// dryScope is one dry application's view of its run's scratch space.
type dryScope struct {
	tenant, run string
	expires     int64
	mu          sync.Mutex
	// held: original keys ("PK|SK") the scratch space is known to hold
	// (read there, or written by this process). Scratch items are never
	// deleted (tombstones), so the set only grows.
	held map[string]bool
}

func newDryScope(tenant, run string, now time.Time) *dryScope {
	return &dryScope{tenant: tenant, run: run, expires: now.Add(DryScratchTTL).Unix(), held: map[string]bool{}}
}

// scratchPK is the scratch partition of an original partition key.
func scratchPK(tenant, run, pk string) string {
	return runPK(tenant, run) + "#D#" + strings.TrimPrefix(pk, "T#"+tenant+"#")
}

// redirected reports whether items of partition pk are kept in the scratch
// space (what later decisions read: contacts, phones, email claims, links).
func (d *dryScope) redirected(pk string) bool {
	rest, ok := strings.CutPrefix(pk, "T#"+d.tenant+"#")
	if !ok {
		return false
	}
	for _, p := range []string{"C#", "P#", "EMAILS#", "S#"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

func (d *dryScope) scratchKey(key map[string]types.AttributeValue) map[string]types.AttributeValue {
	return keyOf(scratchPK(d.tenant, d.run, strAV(key["PK"])), strAV(key["SK"]))
}

func (d *dryScope) mark(keys ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		d.held[k] = true
	}
}

func (d *dryScope) holds(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held[key]
}

// item is the scratch copy of an original item: its scratch key, no index
// attributes, a TTL.
func (d *dryScope) item(orig map[string]types.AttributeValue) map[string]types.AttributeValue {
	it := maps.Clone(orig)
	for _, a := range []string{resources.AttrGSI1PK, resources.AttrGSI1SK, resources.AttrGSI2PK, resources.AttrGSI2SK} {
		delete(it, a)
	}
	maps.Copy(it, d.scratchKey(orig))
	it[resources.AttrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(d.expires, 10)}
	return it
}

// tomb is the scratch item of a deleted original.
func (d *dryScope) tomb(key map[string]types.AttributeValue) map[string]types.AttributeValue {
	it := d.scratchKey(key)
	it[attrTomb] = &types.AttributeValueMemberBOOL{Value: true}
	it[resources.AttrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(d.expires, 10)}
	return it
}

// condition translates an original write's condition to its scratch item
// (see the comment at the top of this file).
func (d *dryScope) condition(key string, cond *string, names map[string]string, values map[string]types.AttributeValue) (*string, map[string]string, map[string]types.AttributeValue) {
	if cond == nil {
		return nil, nil, nil
	}
	if !d.holds(key) {
		return aws.String(condAbsent), nil, nil
	}
	c := strings.ReplaceAll(*cond, "attribute_not_exists(PK)", "(attribute_not_exists(PK) OR attribute_exists("+attrTomb+"))")
	return &c, names, values
}

// rewrite turns a decision's transaction items into their scratch writes,
// and returns the original keys they write (to mark once written).
func (d *dryScope) rewrite(items []types.TransactWriteItem) ([]types.TransactWriteItem, []string) {
	var out []types.TransactWriteItem
	var keys []string
	for _, it := range items {
		switch {
		case it.Put != nil && d.redirected(strAV(it.Put.Item["PK"])):
			key := itemKey(it.Put.Item)
			p := &types.Put{TableName: it.Put.TableName, Item: d.item(it.Put.Item)}
			p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues =
				d.condition(key, it.Put.ConditionExpression, it.Put.ExpressionAttributeNames, it.Put.ExpressionAttributeValues)
			out = append(out, types.TransactWriteItem{Put: p})
			keys = append(keys, key)
		case it.Delete != nil && d.redirected(strAV(it.Delete.Key["PK"])):
			key := itemKey(it.Delete.Key)
			p := &types.Put{TableName: it.Delete.TableName, Item: d.tomb(it.Delete.Key)}
			p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues =
				d.condition(key, it.Delete.ConditionExpression, it.Delete.ExpressionAttributeNames, it.Delete.ExpressionAttributeValues)
			out = append(out, types.TransactWriteItem{Put: p})
			keys = append(keys, key)
		}
		// Anything else (outbox markers, pending requests, status
		// updates) is not the dry run's to write.
	}
	return out, keys
}

// request is the scratch write of a side write (a link put or delete).
func (d *dryScope) request(w types.WriteRequest) (types.WriteRequest, string, bool) {
	switch {
	case w.PutRequest != nil && d.redirected(strAV(w.PutRequest.Item["PK"])):
		return types.WriteRequest{PutRequest: &types.PutRequest{Item: d.item(w.PutRequest.Item)}}, itemKey(w.PutRequest.Item), true
	case w.DeleteRequest != nil && d.redirected(strAV(w.DeleteRequest.Key["PK"])):
		return types.WriteRequest{PutRequest: &types.PutRequest{Item: d.tomb(w.DeleteRequest.Key)}}, itemKey(w.DeleteRequest.Key), true
	}
	return types.WriteRequest{}, "", false
}

// getItems reads keys as ld sees them: the stored items, or in a dry run
// the stored items overlaid by the run's scratch items (a tombstone hides
// its item).
func (s *Store) getItems(ctx context.Context, ld *loaded, keys []map[string]types.AttributeValue, consistent bool) (map[string]map[string]types.AttributeValue, error) {
	if ld.pre != nil && (!consistent || ld.pre.consistent) {
		return s.getPrefetched(ctx, ld, keys, consistent)
	}
	d := ld.dry
	if d == nil {
		return s.batchGet(ctx, keys, consistent)
	}
	all := make([]map[string]types.AttributeValue, 0, 2*len(keys))
	back := map[string]map[string]types.AttributeValue{} // scratch key -> original key
	for _, k := range keys {
		all = append(all, k)
		if d.redirected(strAV(k["PK"])) {
			sk := d.scratchKey(k)
			back[itemKey(sk)] = k
			all = append(all, sk)
		}
	}
	items, err := s.batchGet(ctx, all, consistent)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]types.AttributeValue, len(items))
	for id, it := range items {
		if _, scratch := back[id]; !scratch {
			out[id] = it
		}
	}
	for sid, k := range back {
		it, ok := items[sid]
		if !ok {
			continue
		}
		orig := itemKey(k)
		d.mark(orig)
		if _, dead := it[attrTomb]; dead {
			delete(out, orig)
			continue
		}
		it = maps.Clone(it)
		maps.Copy(it, k)
		out[orig] = it
	}
	return out, nil
}

func strAV(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// dryLinkWrites are the scratch writes of a dry decision's link (put or
// delete), and the original keys they write.
func (s *Store) dryLinkWrites(t Target, rec source.Record, fx effects) ([]types.WriteRequest, []string, error) {
	var w types.WriteRequest
	switch {
	case fx.linkPut != nil:
		av, err := marshalMap(*fx.linkPut)
		if err != nil {
			return nil, nil, err
		}
		w = types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
	case fx.linkDel:
		w = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyOf(linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), skLink)}}
	default:
		return nil, nil, nil
	}
	sw, key, ok := t.dry.request(w)
	if !ok {
		return nil, nil, nil
	}
	return []types.WriteRequest{sw}, []string{key}, nil
}
