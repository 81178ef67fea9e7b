package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/merge"
)

// Group memberships are bundled by the contact's bucket (merge.Contact
// Bucket, given when the contact is created): a group's members of one
// bucket are one item (PK groupPK, SK K#<bucket>, attribute "ids", a string
// set) that a membership change updates with ADD or DELETE. The contacts a
// page creates share a bucket (bucketSize of them, then a new one:
// pageBuckets), so a page adds its new contacts to a group with one write
// per bucketSize contacts instead of one per contact, and a bundle stays
// under 1 KB (a change to an older contact's groups costs 1 WCU, as a
// membership item of its own did). A contact is in exactly one item of
// each of its groups (its bucket's), so a listing never shows it twice
// (an id in another bucket's bundle, left by a deleted contact whose id a
// new one took, is not its), and a removal knows where it is from the
// contact alone.
//
// Like the membership items before them, bundles are an index: the contact
// item decides (its Groups and Bucket). A listing shows a member only if
// the contact still has the group, and the run end's leaver pass takes out
// ids whose contact does not (a crash between a contact's write and its
// side writes).
const (
	bucketLen  = 8
	bucketSize = 32 // 32 ids of 26 bytes: a bundle under 1 KB with its key
	membersSK  = "K#"
	attrIDs    = "ids"
)

// contactBucket is c's bucket: the one it was created with, or for a
// contact stored without one, the first bucketLen characters of its id
// after "c_" (ids were once given by bucket).
func contactBucket(c merge.Contact) string {
	if c.Bucket != "" {
		return c.Bucket
	}
	b := strings.TrimPrefix(c.ID, "c_")
	if len(b) > bucketLen {
		b = b[:bucketLen]
	}
	return b
}

// creatorID is the id of the contact source record (conn, ext) creates:
// derived from the record (96 bits of SHA-256), so the record finds the
// contact it created, and its link folded into it (contactItem.Link),
// with one read of the contact's key.
func creatorID(tenant, conn, ext string) string {
	sum := sha256.Sum256([]byte(tenant + "\x00" + conn + "\x00" + ext))
	return "c_" + hex.EncodeToString(sum[:12])
}

// randomContactID is a new contact's id when its record's own
// (creatorID) is taken: by the contact the record created before and
// left, which still holds other records.
func randomContactID() string { return "c_" + randomHex(12) }

// pageBuckets hands out the bucket of a page's new contacts, bucketSize
// contacts a bucket. Not safe for concurrent use (the page's lock guards
// it).
type pageBuckets struct {
	bucket string
	used   int
}

// take returns the bucket for one more new contact.
func (b *pageBuckets) take() string {
	if b.bucket == "" || b.used >= bucketSize {
		b.bucket, b.used = randomHex(bucketLen/2), 0
	}
	b.used++
	return b.bucket
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// memberChange is one contact joining (add) or leaving a group.
type memberChange struct {
	group, contactID, bucket string
	add                      bool
}

// memberChanges collects membership changes, the last one of each
// (group, contact) winning, and writes them as one update per bundle.
type memberChanges struct {
	mu   sync.Mutex
	last map[[3]string]bool // (group, contact id, bucket) -> add
}

func (m *memberChanges) note(ch ...memberChange) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[[3]string]bool{}
	}
	for _, c := range ch {
		m.last[[3]string{c.group, c.contactID, c.bucket}] = c.add
	}
}

// noteEffects notes a decision's group changes for its contact.
func (m *memberChanges) noteEffects(fx effects) {
	for _, g := range fx.groupsAdd {
		m.note(memberChange{group: g.String(), contactID: fx.contactID, bucket: fx.bucket, add: true})
	}
	for _, g := range fx.groupsDel {
		m.note(memberChange{group: g.String(), contactID: fx.contactID, bucket: fx.bucket})
	}
}

// bundleUpdate is one bundle's ADD or DELETE of ids.
type bundleUpdate struct {
	pk, sk string
	add    bool
	ids    []string
}

// updates groups the changes by bundle and kind, in a stable order.
func (m *memberChanges) updates(tenant string) []bundleUpdate {
	m.mu.Lock()
	defer m.mu.Unlock()
	byKey := map[[3]string]*bundleUpdate{}
	var out []*bundleUpdate
	for k, add := range m.last {
		group, id, bucket := k[0], k[1], k[2]
		pk, sk := groupPK(tenant, group, bucket), membersSK+bucket
		kind := "-"
		if add {
			kind = "+"
		}
		key := [3]string{pk, sk, kind}
		u := byKey[key]
		if u == nil {
			u = &bundleUpdate{pk: pk, sk: sk, add: add}
			byKey[key] = u
			out = append(out, u)
		}
		u.ids = append(u.ids, id)
	}
	res := make([]bundleUpdate, len(out))
	for i, u := range out {
		slices.Sort(u.ids)
		res[i] = *u
	}
	slices.SortFunc(res, func(a, b bundleUpdate) int {
		return strings.Compare(a.pk+"|"+a.sk+"|"+fmt.Sprint(a.add), b.pk+"|"+b.sk+"|"+fmt.Sprint(b.add))
	})
	return res
}

// memberWriters bounds a page's concurrent bundle updates.
const memberWriters = 8

// writeMembers writes the membership changes: one UpdateItem per bundle
// and kind (a set's ADD and DELETE are idempotent, so a page delivered
// again writes them again harmlessly).
func (s *Store) writeMembers(ctx context.Context, tenant string, m *memberChanges) error {
	ups := m.updates(tenant)
	if len(ups) == 0 {
		return nil
	}
	errs := make([]error, len(ups))
	sem := make(chan struct{}, memberWriters)
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = s.updateBundle(ctx, u)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// bundleUpdateOf is u as an update: ADD or DELETE of its ids on the set.
func (s *Store) bundleUpdateOf(u bundleUpdate) *types.Update {
	op := "DELETE"
	if u.add {
		op = "ADD"
	}
	return &types.Update{
		TableName: aws.String(s.table), Key: keyOf(u.pk, u.sk),
		UpdateExpression:          aws.String(op + " " + attrIDs + " :ids"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":ids": &types.AttributeValueMemberSS{Value: u.ids}},
	}
}

// updateBundle adds ids to, or deletes them from, one bundle.
func (s *Store) updateBundle(ctx context.Context, u bundleUpdate) error {
	up := s.bundleUpdateOf(u)
	rv := types.ReturnValueUpdatedOld
	if u.add {
		rv = types.ReturnValueUpdatedNew
	}
	in := &dynamodb.UpdateItemInput{
		TableName: up.TableName, Key: up.Key, UpdateExpression: up.UpdateExpression,
		ExpressionAttributeValues: up.ExpressionAttributeValues, ReturnConsumedCapacity: s.capacityMode(),
	}
	if s.usage != nil {
		// The set before or after, to price the write by AWS's rule (the
		// larger of the item before and after).
		in.ReturnValues = rv
	}
	out, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		return fmt.Errorf("updating group members: %w", err)
	}
	s.trackOne(true, out.ConsumedCapacity)
	if s.usage != nil {
		item := keyOf(u.pk, u.sk)
		if v, ok := out.Attributes[attrIDs]; ok {
			item[attrIDs] = v
		}
		s.estimate(true, kbUnits(itemSize(item)))
	}
	return nil
}

// bundleIDs is the ids of a bundle item (none when its set is gone).
func bundleIDs(item map[string]types.AttributeValue) []string {
	if v, ok := item[attrIDs].(*types.AttributeValueMemberSS); ok {
		ids := slices.Clone(v.Value)
		slices.Sort(ids)
		return ids
	}
	return nil
}

// member is a group's member as its bundle lists it: the bundle's
// bucket and the contact id.
type member struct{ bucket, id string }

// groupMembers lists group's members after after (zero: from the first),
// in (bucket, id) order, at most limit, and whether more may follow. A
// bundle's sort key is its bucket, so the bundles of the group's shards
// merged by sort key, each's ids in order, are the members in that order;
// the listing resumes at after's bundle.
func (s *Store) groupMembers(ctx context.Context, tenant, group string, after member, limit int) ([]member, bool, error) {
	limit = max(limit, 1)
	from := membersSK + after.bucket
	var out []member
	lastSK := ""
	n := limit/20 + 2 // bundles a round: a page's bundles hold up to bucketSize ids
	for {
		var ins []*dynamodb.QueryInput
		for _, pk := range groupPKs(tenant, group) {
			in := &dynamodb.QueryInput{
				TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND SK >= :from"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":pk": &types.AttributeValueMemberS{Value: pk}, ":from": &types.AttributeValueMemberS{Value: from},
				},
				ReturnConsumedCapacity: s.capacityMode(),
			}
			if lastSK != "" {
				in.ExclusiveStartKey = keyOf(pk, lastSK)
			}
			ins = append(ins, in)
		}
		items, more, err := s.queryMerged(ctx, ins, "SK", n)
		if err != nil {
			return nil, false, err
		}
		for _, item := range items {
			b := strings.TrimPrefix(attrS(item, "SK"), membersSK)
			for _, id := range bundleIDs(item) {
				if b > after.bucket || (b == after.bucket && id > after.id) {
					out = append(out, member{b, id})
				}
			}
		}
		if len(items) > 0 {
			lastSK = attrS(items[len(items)-1], "SK")
		}
		if len(out) >= limit {
			return out[:limit], len(out) > limit || more, nil
		}
		if !more {
			return out, false, nil
		}
		n = min(2*n, 100)
	}
}

// memberCursor is the sort key a group listing's cursor carries: the last
// member listed.
func memberCursor(m member) string { return "C#" + m.bucket + "#" + m.id }

// memberAfter reads a cursor's sort key back (a cursor of one id alone,
// from before buckets were kept, resumes at that id's bucket of old).
func memberAfter(sk string) member {
	rest, ok := strings.CutPrefix(sk, "C#")
	if !ok || rest == "" {
		return member{}
	}
	if b, id, ok := strings.Cut(rest, "#"); ok {
		return member{b, id}
	}
	return member{contactBucket(merge.Contact{ID: rest}), rest}
}

// maxMembersInTransaction bounds the membership changes a webhook's
// decision carries in its transaction (a record with more writes them as
// side writes).
const maxMembersInTransaction = 10

// membersInTransaction adds a webhook decision's membership changes to its
// transaction, which it is anyway (items holds two or more): an update in
// a transaction costs 2 WCU instead of 1, but a delivery keeps its
// requests (TestWebhook_RequestsPerDelivery) and its memberships commit
// with its contact. fx.membersDone tells the side writes.
func (s *Store) membersInTransaction(tenant string, fx *effects, items []types.TransactWriteItem) []types.TransactWriteItem {
	n := len(fx.groupsAdd) + len(fx.groupsDel)
	if n == 0 || n > maxMembersInTransaction {
		return items
	}
	var m memberChanges
	m.noteEffects(*fx)
	for _, u := range m.updates(tenant) {
		items = append(items, types.TransactWriteItem{Update: s.bundleUpdateOf(u)})
	}
	fx.membersDone = true
	return items
}
