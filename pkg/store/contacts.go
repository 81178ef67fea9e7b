package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/resources"
)

// maxNameKeyBytes bounds the name part of a name-index key (the rest is
// "#" and the contact id).
const maxNameKeyBytes = 900

// contactItem is a contact with its denormalised status and labels (for
// filtering lists) and its name-index key.
type contactItem struct {
	PK      string        `dynamodbav:"PK"`
	SK      string        `dynamodbav:"SK"`
	GSI1PK  string        `dynamodbav:"GSI1PK"`
	GSI1SK  string        `dynamodbav:"GSI1SK"`
	Contact merge.Contact `dynamodbav:"contact"`
	Status  string        `dynamodbav:"status"`
	Labels  []string      `dynamodbav:"labels,stringset,omitempty"`
	Version int64         `dynamodbav:"version"`
	// Marks say, for each source record of the contact that a sync run or
	// a webhook delivery applied, which one and its outcome, so either,
	// delivered again after a crash between the contact's write and its
	// side writes, is counted with what it did and redoes them, even when
	// another source or a webhook wrote the contact meanwhile (marksFor).
	Marks []appliedMark `dynamodbav:"marks,omitempty"`
	// Link is the link of the contact's creator — the source record whose
	// creatorID is the contact's id — folded into the contact while that
	// record is among its sources and has no link item of its own: a new
	// contact then costs no link write, and the record's next sync reads
	// the contact at the key its record gives instead of a link item
	// (apply_load.go loadLinks).
	Link *foldedLink `dynamodbav:"lnk,omitempty"`
}

// foldedLink is a linkItem without its keys and contact (the contact's),
// kept small — the contact item and its index entry stay under 1 KB
// each: the applied hash in binary, no updated-at (a link's is written,
// never read), and the run mark it replaces (contactItems).
type foldedLink struct {
	AppliedHash []byte   `dynamodbav:"h"`
	RunID       string   `dynamodbav:"r,omitempty"`
	Outcome     string   `dynamodbav:"o,omitempty"`
	Purposes    []string `dynamodbav:"p,omitempty"`
	Pending     bool     `dynamodbav:"pd,omitempty"`
}

// staleFold is a folded link's applied hash once marked stale
// (StaleLink): it is no record's (those are 16 bytes).
var staleFold = []byte{0}

// foldOf is li folded into its contact.
func foldOf(li linkItem) *foldedLink {
	h, err := hex.DecodeString(li.AppliedHash)
	if err != nil || li.AppliedHash == staleHash {
		h = staleFold
	}
	return &foldedLink{AppliedHash: h, RunID: li.RunID, Outcome: li.Outcome, Purposes: li.Purposes, Pending: li.Pending}
}

// item is f as the link item of record lk to contact id, marked folded.
func (f *foldedLink) item(tenant string, lk merge.LinkKey, id string) linkItem {
	h := hex.EncodeToString(f.AppliedHash)
	if bytes.Equal(f.AppliedHash, staleFold) {
		h = staleHash
	}
	return linkItem{PK: linkPK(tenant, lk.ConnectionID, lk.ExternalID), SK: skLink, ContactID: id,
		AppliedHash: h, RunID: f.RunID, Outcome: f.Outcome, Purposes: f.Purposes, Pending: f.Pending, folded: true}
}

// withoutRunMark is marks without source record lk's run mark: a link
// folded into the contact holds what that mark would (foldedLink).
func withoutRunMark(marks []appliedMark, lk merge.LinkKey) []appliedMark {
	return slices.DeleteFunc(marks, func(m appliedMark) bool {
		return m.ConnectionID == lk.ConnectionID && m.ExternalID == lk.ExternalID && !deliveryMark(m)
	})
}

// createdBy reports whether source record lk created contact c (c's id is
// its creatorID) and is still among its sources: its link may be folded
// into c.
func createdBy(tenant string, c merge.Contact, lk merge.LinkKey) bool {
	return c.ID == creatorID(tenant, lk.ConnectionID, lk.ExternalID) &&
		slices.ContainsFunc(c.Sources, func(l merge.Link) bool { return l.Key() == lk })
}

// keepsFold reports whether c, written by another record's decision,
// keeps the creator's folded link it had: its creator is still among its
// sources.
func keepsFold(tenant string, c merge.Contact) bool {
	return slices.ContainsFunc(c.Sources, func(l merge.Link) bool { return creatorID(tenant, l.ConnectionID, l.ExternalID) == c.ID })
}

// appliedMark is one source record's last application by a sync run or
// by a webhook delivery (RunID: Target.markedBy).
type appliedMark struct {
	ConnectionID string `dynamodbav:"conn"`
	ExternalID   string `dynamodbav:"ext"`
	RunID        string `dynamodbav:"run"`
	Outcome      string `dynamodbav:"outcome"`
	// Purposes and Pending: see linkItem.
	Purposes []string `dynamodbav:"purposes,omitempty"`
	Pending  bool     `dynamodbav:"pending,omitempty"`
}

// marksFor returns the marks contact c keeps when it is written: the ones
// it had (old) for its source records, but the one mark replaces (the same
// record's earlier mark of the same kind: a sync run's, or a webhook
// delivery's), then mark (when a run or a delivery wrote c for one of its
// records). A source record keeps one mark of each kind, so a webhook for
// it does not erase the mark of a run that crashed before its link; the
// marks are bounded by twice the contact's sources.
func marksFor(old []appliedMark, c merge.Contact, mark *appliedMark) []appliedMark {
	var out []appliedMark
	for _, m := range old {
		k := merge.LinkKey{ConnectionID: m.ConnectionID, ExternalID: m.ExternalID}
		if mark != nil && m.ConnectionID == mark.ConnectionID && m.ExternalID == mark.ExternalID && deliveryMark(m) == deliveryMark(*mark) {
			continue
		}
		if slices.ContainsFunc(c.Sources, func(l merge.Link) bool { return l.Key() == k }) {
			out = append(out, m)
		}
	}
	if mark != nil {
		out = append(out, *mark)
	}
	return out
}

// deliveryMark says whether m was written by a webhook delivery
// (Target.markedBy) rather than a sync run.
func deliveryMark(m appliedMark) bool { return strings.HasPrefix(m.RunID, deliveryMarkPrefix) }

// markOf is the mark of source record (conn, ext) among marks applied by
// run, if any.
func markOf(marks []appliedMark, run, conn, ext string) (appliedMark, bool) {
	for _, m := range marks {
		if m.RunID == run && m.ConnectionID == conn && m.ExternalID == ext {
			return m, true
		}
	}
	return appliedMark{}, false
}

// nameKey is the contact's sort key in the tenant's name index: lower-case
// "first last", else the email, then the id (so keys are unique).
func nameKey(c merge.Contact) string {
	n := strings.ToLower(strings.TrimSpace(c.FirstName.Value + " " + c.LastName.Value))
	if n == "" {
		n = c.EmailKey
	}
	// A sort key is at most 1,024 bytes: the name part keeps its first
	// maxNameKeyBytes (whole characters), whatever a source sent.
	if len(n) > maxNameKeyBytes {
		i := maxNameKeyBytes
		for i > 0 && !utf8.RuneStart(n[i]) {
			i--
		}
		n = n[:i]
	}
	return n + "#" + c.ID
}

func (s *Store) contactAV(tenant string, c merge.Contact, status string, marks []appliedMark, lnk *foldedLink) (map[string]types.AttributeValue, error) {
	return marshalMap(contactItem{
		PK: contactPK(tenant, c.ID), SK: skContact,
		GSI1PK: contactsIndexFor(tenant, c.ID, status), GSI1SK: nameKey(c),
		Contact: c, Status: status, Labels: c.Labels(), Version: c.Version, Marks: marks, Link: lnk,
	})
}

// contactsIndexFor is a contact's name-index partition: pending contacts
// (double opt-in, no YES yet) have their own, so the audience — the
// default listing — does not hold them (issue 18 item 7) and
// ?status=pending reads only them. Each is sharded by contact id
// (contactIndexShards).
func contactsIndexFor(tenant, id, status string) string {
	if status == string(consent.Pending) {
		return pendingIndexPK(tenant, id)
	}
	return contactsIndexPK(tenant, id)
}

// contactsIndexBaseFor is the partition a listing of status reads, before
// its shards.
func contactsIndexBaseFor(tenant, status string) string {
	if status == string(consent.Pending) {
		return pendingIndexBase(tenant)
	}
	return contactsIndexBase(tenant)
}

// statusUpdate is the update of a contact's denormalised status, which
// moves it between the name index's partitions.
func (s *Store) statusUpdate(tenant, id string, status consent.State) *types.Update {
	return &types.Update{
		TableName: aws.String(s.table), Key: keyOf(contactPK(tenant, id), skContact),
		UpdateExpression:         aws.String("SET #st = :s, GSI1PK = :ix"),
		ConditionExpression:      aws.String(condExists),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":  &types.AttributeValueMemberS{Value: string(status)},
			":ix": &types.AttributeValueMemberS{Value: contactsIndexFor(tenant, id, string(status))},
		},
	}
}

// ContactView is a contact as readers see it, with its consent status.
type ContactView struct {
	merge.Contact
	Status string
}

func viewOf(it contactItem) ContactView {
	c := it.Contact
	c.Version = it.Version
	return ContactView{Contact: c, Status: it.Status}
}

// GetContact reads one contact of the tenant.
func (s *Store) GetContact(ctx context.Context, tenant, id string) (ContactView, error) {
	if !keyable(tenant) || !keyable(id) {
		return ContactView{}, ErrNotFound // no such key can exist
	}
	var it contactItem
	if err := s.getItem(ctx, "contact", true, contactPK(tenant, id), skContact, &it); err != nil {
		return ContactView{}, err
	}
	return viewOf(it), nil
}

// ContactFilter narrows a contact listing.
type ContactFilter struct {
	// Query is a case-insensitive prefix of the name ("first last") or, when
	// it contains "@", of the email.
	Query  string
	Source string // a source label, e.g. "Shopify"
	Group  string // a group name, e.g. "Shopify - VIP"
	// Status is subscribed, not_subscribed, unsubscribed or pending; ""
	// lists every contact except pending ones (the audience: a double
	// opt-in contact joins it with its YES).
	Status string
}

// ListContacts lists a tenant's contacts in name order: the name index's
// shards merged (queryMerged), the cursor the last entry's key with the
// index's base partition, from which every shard resumes.
func (s *Store) ListContacts(ctx context.Context, tenant string, f ContactFilter, limit int, cursor string) ([]ContactView, string, error) {
	q := strings.ToLower(strings.TrimSpace(f.Query))
	if err := checkFilter(f); err != nil {
		return nil, "", err
	}
	if f.Group != "" {
		start, _, err := decodeCursor(cursor, tableListing(groupBasePK(tenant, f.Group), "C#"))
		if err != nil {
			return nil, "", err
		}
		return s.listGroupContacts(ctx, tenant, f, limit, start)
	}
	base := contactsIndexBaseFor(tenant, f.Status)
	l := listing{pk: "GSI1PK", pkValue: base, sk: "GSI1SK",
		index: true, tablePK: contactPK(tenant, ""), tablePKPrefix: true, tableSK: skContact}
	if q != "" && !strings.Contains(q, "@") {
		l.skPrefix = q
	}
	start, _, err := decodeCursor(cursor, l)
	if err != nil {
		return nil, "", err
	}
	var ins []*dynamodb.QueryInput
	for _, pk := range shardKeys(base, contactIndexShards) {
		in := &dynamodb.QueryInput{
			TableName: aws.String(s.table), IndexName: aws.String(resources.GSI1),
			KeyConditionExpression:    aws.String(keyIndex1),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
			ExclusiveStartKey:         shardStart(start, "GSI1PK", pk),
		}
		s.contactsFilter(in, f, q)
		ins = append(ins, in)
	}
	items, more, err := s.queryMerged(ctx, ins, "GSI1SK", limit)
	if err != nil {
		return nil, "", fmt.Errorf("listing contacts: %w", err)
	}
	out := make([]ContactView, 0, len(items))
	for _, item := range items {
		var it contactItem
		if err := unmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		out = append(out, viewOf(it))
	}
	next := ""
	if more {
		next = mergedCursor(items[len(items)-1], []string{"PK", "SK", "GSI1SK"}, "GSI1PK", base)
	}
	return out, next, nil
}

// contactsFilter sets a name-index shard query's prefix and filters.
func (s *Store) contactsFilter(in *dynamodb.QueryInput, f ContactFilter, q string) {
	var filters []string
	in.ExpressionAttributeNames = map[string]string{}
	if q != "" && !strings.Contains(q, "@") {
		in.KeyConditionExpression = aws.String("GSI1PK = :pk AND begins_with(GSI1SK, :q)")
		in.ExpressionAttributeValues[":q"] = &types.AttributeValueMemberS{Value: q}
	} else if q != "" {
		filters = append(filters, "begins_with(contact.EmailKey, :q)")
		in.ExpressionAttributeValues[":q"] = &types.AttributeValueMemberS{Value: q}
	}
	if f.Source != "" {
		filters = append(filters, "contains(labels, :src)")
		in.ExpressionAttributeValues[":src"] = &types.AttributeValueMemberS{Value: f.Source}
	}
	switch {
	case f.Status == string(consent.Pending):
		// Its own partition holds only pending contacts.
	case f.Status != "":
		filters = append(filters, "#st = :st")
		in.ExpressionAttributeNames["#st"] = "status"
		in.ExpressionAttributeValues[":st"] = &types.AttributeValueMemberS{Value: f.Status}
	default:
		// A pending contact written before pending ones had their own
		// partition is still here until its next write: left out (the
		// merge reads on until the page is full, so paging stays exact).
		filters = append(filters, "#st <> :pending")
		in.ExpressionAttributeNames["#st"] = "status"
		in.ExpressionAttributeValues[":pending"] = &types.AttributeValueMemberS{Value: string(consent.Pending)}
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	if len(in.ExpressionAttributeNames) == 0 {
		in.ExpressionAttributeNames = nil
	}
}

func (s *Store) listGroupContacts(ctx context.Context, tenant string, f ContactFilter, limit int, start map[string]types.AttributeValue) ([]ContactView, string, error) {
	var after member
	if v, ok := start["SK"].(*types.AttributeValueMemberS); ok {
		after = memberAfter(v.Value)
	}
	ms, more, err := s.groupMembers(ctx, tenant, f.Group, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("listing group: %w", err)
	}
	next := ""
	if more && len(ms) > 0 {
		next = encodeCursor(map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: groupBasePK(tenant, f.Group)},
			"SK": &types.AttributeValueMemberS{Value: memberCursor(ms[len(ms)-1])},
		}, 0)
	}
	keys := make([]map[string]types.AttributeValue, len(ms))
	for i, m := range ms {
		keys[i] = keyOf(contactPK(tenant, m.id), skContact)
	}
	items, err := s.batchGet(ctx, keys, false)
	if err != nil {
		return nil, "", err
	}
	var out []ContactView
	q := strings.ToLower(strings.TrimSpace(f.Query))
	for _, m := range ms {
		item, ok := items[contactPK(tenant, m.id)+"|"+skContact]
		if !ok {
			continue // a membership whose contact was deleted meanwhile
		}
		// A membership left behind by a crash between a contact's write and
		// its membership delete is not shown: the contact item decides.
		var it contactItem
		if err := unmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		v := viewOf(it)
		if contactBucket(v.Contact) != m.bucket || !slices.Contains(v.Groups, f.Group) || (f.Status != "" && v.Status != f.Status) || (f.Status == "" && v.Status == string(consent.Pending)) || (f.Source != "" && !slices.Contains(v.Labels(), f.Source)) ||
			(q != "" && !strings.HasPrefix(nameKey(v.Contact), q) && !strings.HasPrefix(v.EmailKey, q)) {
			continue
		}
		out = append(out, v)
	}
	return out, next, nil
}
