package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
)

// Group leavers (source.Plan.CompleteGroups).
//
// A connector whose records carry group memberships as deltas (a Klaviyo
// list member page: AddGroups) names, in a full plan, the groups it lists
// completely. While the run's pages are applied, every record that puts
// its source record in one of those groups leaves an assertion item,
// PK=T#t#RUN#<r>#S#<extId> SK=G#<group> (AssertGroups: idempotent puts,
// written before the page is recorded, so a counted page's assertions
// exist and a retried page writes the same items). When the run's last
// page is recorded and no page failed, RemoveLeavers reads each complete
// group's members (PK=T#t#G#<Label - group>, 100 at a time), their
// contacts, and the assertions of this connection's source links that give
// the group: a link without one left the group at the source, and loses it
// (a partial record with RemoveGroups, merged with KeepDeltaBase). Nothing
// is held in memory but one page of members.
//
// "Complete" means the group's listing ran to its end in this run: no page
// of the run failed (a failed page fails the run, and a failed run removes
// nothing), and no page said its group's listing ended early
// (source.Page.Incomplete: a list deleted mid-run answers 404; such a group
// is marked with an INCOMPLETE#<group> item in the run's partition and left
// alone). A group missing from the plan (a list deleted before it) is not
// in CompleteGroups: its members keep it.
//
// Each removal first writes its report row, as its own row item
// (ROWS#~left#<hash(group)>#<extId>: outcome updated, reason left_group),
// then applies the removal; the run's groups_left count is then set from
// the number of those items. A crash anywhere in between is repaired by
// doing it again: a row rewritten is the same item, a removal already
// applied is no longer found, and a membership item whose contact no
// longer has the group (a crash between the contact's write and its side
// writes) is deleted when it is met. Two deliveries that both saw the
// run's last page recorded do not do this work at once: ClaimRunEnd leases
// it (endHolder, endUntil on the run item) to one of them.

// assertTTL is how long assertion items are kept: well beyond any run's
// lock (they are only read at the run's end).
const assertTTL = 14 * 24 * time.Hour

// maxCompleteGroups bounds a plan's complete groups (the rest are not
// treated as complete: their members keep them).
const maxCompleteGroups = 1000

// ReasonLeftGroup is the reason of a report row whose source record left a
// group that the run listed completely.
const ReasonLeftGroup = "left_group"

func assertPK(t, run, extID string) string { return runPK(t, run) + "#S#" + extID }

// BoundGroups cuts group names as source.Bound cuts a record's (so a name
// of the plan matches the same name carried by its records), keeping at
// most maxCompleteGroups unique names.
func BoundGroups(groups []string) []string {
	var out []string
	for start := 0; start < len(groups) && len(out) < maxCompleteGroups; start += source.MaxGroups {
		r := source.Record{ExternalID: "x", AddGroups: slices.Clone(groups[start:min(start+source.MaxGroups, len(groups))])}
		source.Bound(&r)
		for _, g := range r.AddGroups {
			if g != "" && !slices.Contains(out, g) && len(out) < maxCompleteGroups {
				out = append(out, g)
			}
		}
	}
	return out
}

// SetCompleteGroups records the groups a run's plan lists completely. It
// is called before SetPlan; once the run is planned (a retried planning
// message) the groups recorded first stay.
func (s *Store) SetCompleteGroups(ctx context.Context, tenant, runID string, groups []string) error {
	groups = BoundGroups(groups)
	if len(groups) == 0 {
		return nil
	}
	cond := expression.Name("status").Equal(expression.Value(RunRunning)).And(expression.Name("planned").Equal(expression.Value(false)))
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("completeGroups"), expression.Value(groups))).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("building complete groups update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), runSK(runID)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	return written(err, nil, "storing complete groups")
}

type assertItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// AssertedGroups returns, for a record applied by a full run, the groups
// of complete it puts its source record in (its AddGroups, or its Groups
// when HasGroups). A deleted, out-of-scope or unreadable record asserts
// nothing.
func AssertedGroups(rec source.Record, complete []string) []string {
	if rec.Deleted || rec.OutOfScope || rec.Unreadable != "" || len(complete) == 0 {
		return nil
	}
	var out []string
	add := func(gs []string) {
		for _, g := range gs {
			if g != "" && slices.Contains(complete, g) && !slices.Contains(out, g) && !slices.Contains(rec.RemoveGroups, g) {
				out = append(out, g)
			}
		}
	}
	add(rec.AddGroups)
	if rec.HasGroups {
		add(rec.Groups)
	}
	return out
}

// AssertGroups records that records of the run put their source records in
// groups of complete (AssertedGroups); the bulk-sync handler calls it for
// a page's applied records before it records the page.
func (s *Store) AssertGroups(ctx context.Context, tenant, runID string, recs []source.Record, complete []string) error {
	exp := s.now().Add(assertTTL).Unix()
	var items []any
	for _, r := range recs {
		for _, g := range AssertedGroups(r, complete) {
			items = append(items, assertItem{PK: assertPK(tenant, runID, r.ExternalID), SK: "G#" + g, ExpiresAt: exp})
		}
	}
	return s.putItems(ctx, "group assertions", items)
}

// Asserted returns the external ids among extIDs that a record of the run
// put in at least one of groups.
func (s *Store) Asserted(ctx context.Context, tenant, runID string, extIDs, groups []string) (map[string]bool, error) {
	var keys []map[string]types.AttributeValue
	for _, x := range extIDs {
		for _, g := range groups {
			keys = append(keys, keyOf(assertPK(tenant, runID, x), "G#"+g))
		}
	}
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return nil, fmt.Errorf("reading group assertions: %w", err)
	}
	for _, x := range extIDs {
		for _, g := range groups {
			if _, ok := items[assertPK(tenant, runID, x)+"|G#"+g]; ok {
				out[x] = true
			}
		}
	}
	return out, nil
}

// MarkIncomplete records that the listings of groups ended early in the
// run (source.Page.Incomplete): RemoveLeavers leaves them alone.
func (s *Store) MarkIncomplete(ctx context.Context, tenant, runID string, groups []string) error {
	exp := s.now().Add(assertTTL).Unix()
	var items []any
	for _, g := range BoundGroups(groups) {
		items = append(items, assertItem{PK: runPK(tenant, runID), SK: "INCOMPLETE#" + g, ExpiresAt: exp})
	}
	return s.putItems(ctx, "incomplete groups", items)
}

// incompleteGroups lists the groups MarkIncomplete recorded for the run.
func (s *Store) incompleteGroups(ctx context.Context, tenant, runID string) (map[string]bool, error) {
	out := map[string]bool{}
	in := s.prefixQuery(runPK(tenant, runID), "INCOMPLETE#")
	in.ConsistentRead = aws.Bool(true)
	err := s.queryAll(ctx, "reading incomplete groups", in, func(res *dynamodb.QueryOutput) error {
		for _, item := range res.Items {
			var it assertItem
			if err := unmarshalMap(item, &it); err != nil {
				return err
			}
			out[it.SK[len("INCOMPLETE#"):]] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deferredItem holds the external ids of a page's out-of-scope records,
// whose fate waits for the run's end (DeferOutOfScope).
type deferredItem struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	IDs       []string `dynamodbav:"ids"`
	ExpiresAt int64    `dynamodbav:"expiresAt"`
}

// deferredPerItem bounds an item of deferred ids (128-byte ids: 64 KB).
const deferredPerItem = 500

// Deferred is one stored batch of deferred out-of-scope record ids.
type Deferred struct {
	Key string // unique within the run: it names the batch's virtual page
	IDs []string
}

// DeferOutOfScope stores the external ids of a page's out-of-scope
// records in a full run with complete groups: a record is out of scope
// only if no record of the run put it in one of them, which is known at
// the run's end (ListDeferred). Items are keyed by the page, so a retried
// page rewrites the same ones.
func (s *Store) DeferOutOfScope(ctx context.Context, tenant, runID, pageID string, ids []string) error {
	exp := s.now().Add(assertTTL).Unix()
	var items []any
	for i, start := 0, 0; start < len(ids); i, start = i+1, start+deferredPerItem {
		items = append(items, deferredItem{PK: runPK(tenant, runID), SK: fmt.Sprintf("DEFER#%s#%03d", pageID, i),
			IDs: ids[start:min(start+deferredPerItem, len(ids))], ExpiresAt: exp})
	}
	return s.putItems(ctx, "deferred records", items)
}

// ListDeferred reads the run's deferred batches a few at a time (cursor ""
// first; next "" at the end).
func (s *Store) ListDeferred(ctx context.Context, tenant, runID, cursor string) (batches []Deferred, next string, err error) {
	in := s.prefixQuery(runPK(tenant, runID), "DEFER#")
	in.ConsistentRead, in.Limit = aws.Bool(true), aws.Int32(4)
	if cursor != "" {
		in.ExclusiveStartKey = keyOf(runPK(tenant, runID), cursor)
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("reading deferred records: %w", err)
	}
	for _, item := range res.Items {
		var it deferredItem
		if err := unmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		batches = append(batches, Deferred{Key: it.SK, IDs: it.IDs})
	}
	if res.LastEvaluatedKey != nil && len(batches) > 0 {
		next = batches[len(batches)-1].Key
	}
	return batches, next, nil
}

// leaverPage is how many members of a group RemoveLeavers reads at once.
const leaverPage = 100

// leaverBundles is how many member bundles (up to bucketSize members each)
// one query of RemoveLeavers reads.
const leaverBundles = 25

// RemoveLeavers removes, at the end of a full run that completes, each of
// the run's complete groups (not marked incomplete) from this connection's
// source links that no record of the run put in it, and sets the run's
// groups_left count. t is the connection's target with the run's id.
// Idempotent: call it again after a crash (see the top of this file).
func (s *Store) RemoveLeavers(ctx context.Context, t Target, run Run, now time.Time) (int, error) {
	incomplete, err := s.incompleteGroups(ctx, t.TenantID, run.ID)
	if err != nil {
		return 0, err
	}
	label := t.Conn.Label
	for _, g := range run.CompleteGroups {
		if incomplete[g] {
			continue
		}
		if err := s.removeGroupLeavers(ctx, t, run, label, g, now); err != nil {
			return 0, err
		}
	}
	n, err := s.countLeft(ctx, t.TenantID, run.ID)
	if err != nil {
		return 0, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(t.TenantID), runSK(run.ID)),
		UpdateExpression:          aws.String("SET #c.#g = :n"),
		ConditionExpression:       aws.String("#s = :running"),
		ExpressionAttributeNames:  map[string]string{"#c": "counts", "#g": "groupsLeft", "#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": numAV(int64(n)), ":running": &types.AttributeValueMemberS{Value: RunRunning}},
	})
	if conditionFailed(err) {
		err = nil // finished meanwhile by another delivery: it counted
	}
	return n, err
}

func leftRowSK(group, extID string) string { return "ROWS#~left#" + hashHex(group)[:16] + "#" + extID }

// countLeft counts the run's left_group row items.
func (s *Store) countLeft(ctx context.Context, tenant, runID string) (int, error) {
	in := s.prefixQuery(runPK(tenant, runID), "ROWS#~left#")
	in.Select, in.ConsistentRead = types.SelectCount, aws.Bool(true)
	n := 0
	err := s.queryAll(ctx, "counting groups left", in, func(res *dynamodb.QueryOutput) error { n += int(res.Count); return nil })
	return n, err
}

// removeGroupLeavers pages through the members of "<label> - <g>", shard
// after shard (groupShards), leaverPage members at a time.
func (s *Store) removeGroupLeavers(ctx context.Context, t Target, run Run, label, g string, now time.Time) error {
	hub := merge.GroupName(label, g)
	exp := now.Add(resources.RetentionPeriod).Unix()
	for _, pk := range groupPKs(t.TenantID, hub) {
		in := &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPartition),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
			Limit:                     aws.Int32(leaverBundles), ReturnConsumedCapacity: s.capacityMode(),
		}
		err := s.queryAll(ctx, "listing members of a complete group", in, func(res *dynamodb.QueryOutput) error {
			s.trackOne(false, res.ConsumedCapacity)
			size := 0
			var ids []member
			for _, item := range res.Items {
				size += itemSize(item)
				b := strings.TrimPrefix(attrS(item, "SK"), membersSK)
				for _, id := range bundleIDs(item) {
					ids = append(ids, member{b, id})
				}
			}
			s.estimate(false, 0.5*float64((size+4095)/4096))
			for len(ids) > 0 {
				n := min(len(ids), leaverPage)
				if err := s.removeLeaversOfPage(ctx, t, run, label, g, ids[:n], exp, now); err != nil {
					return err
				}
				ids = ids[n:]
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// removeLeaversOfPage removes from group g those of the members ids (at
// most leaverPage) that this run's records no longer put there: a report
// row, then the removal (a partial record that leaves the group).
func (s *Store) removeLeaversOfPage(ctx context.Context, t Target, run Run, label, g string, ids []member, exp int64, now time.Time) error {
	hub := merge.GroupName(label, g)
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, m := range ids {
		keys[i] = keyOf(contactPK(t.TenantID, m.id), skContact)
	}
	// Consistent reads: a membership put after its contact's write
	// is never met with the contact as it was before.
	got, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return err
	}
	type leaver struct{ contactID, extID string }
	var cands []leaver
	var stale memberChanges
	for _, m := range ids {
		cid := m.id
		item, ok := got[contactPK(t.TenantID, cid)+"|"+skContact]
		var c contactItem
		if ok {
			if err := unmarshalMap(item, &c); err != nil {
				return err
			}
		}
		if !ok || !slices.Contains(c.Contact.Groups, hub) || contactBucket(c.Contact) != m.bucket {
			// A membership its contact does not have (a crash between
			// a contact's write and its side writes, or an id a new
			// contact took in another bucket): repaired here.
			stale.note(memberChange{group: hub, contactID: cid, bucket: m.bucket})
			continue
		}
		for _, l := range c.Contact.Sources {
			if l.ConnectionID == t.Conn.ID && l.Label == label && slices.Contains(l.Groups, g) {
				cands = append(cands, leaver{cid, l.ExternalID})
			}
		}
	}
	if err := s.writeMembers(ctx, t.TenantID, &stale); err != nil { // none: no call
		return err
	}
	extIDs := make([]string, len(cands))
	for i, c := range cands {
		extIDs[i] = c.extID
	}
	asserted, err := s.Asserted(ctx, t.TenantID, run.ID, extIDs, []string{g})
	if err != nil {
		return err
	}
	var rows []any
	var recs []source.Record
	for _, c := range cands {
		if asserted[c.extID] {
			continue
		}
		row := ReportRow{ExternalID: c.extID, Outcome: string(merge.Updated), Reason: ReasonLeftGroup, ContactID: c.contactID, Group: hub}
		rows = append(rows, rowsItem{PK: runPK(t.TenantID, run.ID), SK: leftRowSK(g, c.extID), Rows: []ReportRow{row}, ExpiresAt: exp})
		recs = append(recs, source.Record{Label: label, ConnectionID: t.Conn.ID, ExternalID: c.extID, RemoveGroups: []string{g}, Partial: true})
	}
	if len(recs) > 0 {
		// The row first: a crash before the removal repeats both; one
		// after it finds the removal done and the row written.
		if err := s.putItems(ctx, "left_group rows", rows); err != nil {
			return err
		}
		lt := t
		lt.keepDeltaBase = true
		if _, err := s.ApplyRecords(ctx, lt, recs, now); err != nil {
			return fmt.Errorf("removing group leavers: %w", err)
		}
	}
	return nil
}

// ErrRunEnding is returned by ClaimRunEnd when another attempt is doing the
// run's end work (its lease has not expired): try again later.
var ErrRunEnding = errors.New("store: another attempt is finishing the run")

// ClaimRunEnd leases the end-of-run work of a running run (deferred
// out-of-scope records, leavers) to holder for d, so two deliveries that
// both saw the last page recorded do not do it at once (their report rows
// would overwrite each other's). The same holder may claim again; an
// expired lease (a crashed attempt) may be taken over.
func (s *Store) ClaimRunEnd(ctx context.Context, tenant, runID, holder string, d time.Duration) error {
	now := s.now()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), runSK(runID)),
		UpdateExpression:         aws.String("SET endHolder = :h, endUntil = :u"),
		ConditionExpression:      aws.String("#s = :running AND (attribute_not_exists(endUntil) OR endUntil < :now OR endHolder = :h)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h": &types.AttributeValueMemberS{Value: holder}, ":u": numAV(now.Add(d).UnixMilli()),
			":now": numAV(now.UnixMilli()), ":running": &types.AttributeValueMemberS{Value: RunRunning},
		},
	})
	return written(err, ErrRunEnding, "claiming the run end")
}
