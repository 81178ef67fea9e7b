package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// errStale: a condition of the decision's transaction failed because the
// stored state moved on; the caller re-reads and re-merges.
var errStale = errors.New("store: state changed since it was read")

// effects is what a decision writes outside its transaction (idempotent
// writes that can be repeated after a crash) and what it returns.
type effects struct {
	contactID string
	groupsAdd []merge.Group
	groupsDel []merge.Group
	history   []subjectEntry
	messages  []consent.Message
	linkPut   *linkItem
	linkDel   bool
	held      *linkItem // the held deltas written (merge.MutHoldLink)
	heldDel   bool      // the held deltas deleted
	// linkCond: linkPut is a first link (the record had no link, or held
	// deltas, when read); heldHash is the held item's applied hash then.
	linkCond bool
	heldHash string
}

// writeDecision writes decision d (computed on snap.state; after is the state
// after merge.Apply) for record rec: one transaction for the contacts,
// phone items (claims + ledgers), email claims and outbox markers, each
// conditioned on what was read; then link, memberships and history.
func (s *Store) writeDecision(ctx context.Context, t Target, rec source.Record, snap snapshot, d merge.Decision, after merge.State, now time.Time) (effects, error) {
	tenant := t.TenantID
	var fx effects
	fx.contactID = d.ContactID
	contacts := map[string]bool{}
	created := map[string]bool{}
	deleted := map[string]bool{}
	phones := map[string]bool{}
	emails := map[string]bool{}
	for _, m := range d.Mutations {
		switch m.Kind {
		case merge.MutCreateContact:
			created[m.ContactID] = true
			contacts[m.ContactID] = true
		case merge.MutDeleteContact:
			deleted[m.ContactID] = true
			contacts[m.ContactID] = true
		case merge.MutClaimPhone, merge.MutReleasePhone:
			phones[m.Value] = true
			contacts[m.ContactID] = true
		case merge.MutClaimEmail, merge.MutReleaseEmail:
			emails[m.Value] = true
			contacts[m.ContactID] = true
		case merge.MutConsent:
			phones[m.Consent.Phone] = true
			// A number's first state is recorded in its new ledger (signal,
			// time, evidence); history items record changes after that.
			if m.Consent.Change.StateChanged() && snap.phoneVer[m.Consent.Phone] > 0 {
				fx.history = append(fx.history, subjectEntry{m.Consent.Phone, consentHistory(m.Consent.Change)})
			}
		case merge.MutQueueMessage:
			if m.Message != nil {
				fx.messages = append(fx.messages, *m.Message)
			}
		case merge.MutHoldLink:
			h := *m.Link
			fx.held = &linkItem{PK: linkPK(tenant, t.Conn.ID, rec.ExternalID), SK: skLink,
				AppliedHash: appliedHash(rec, t.Conn, t.WriteBack), UpdatedAt: rec.UpdatedAt, Held: &h}
		case merge.MutAddGroup:
			fx.groupsAdd = append(fx.groupsAdd, m.Group())
			contacts[m.ContactID] = true
		case merge.MutRemoveGroup:
			fx.groupsDel = append(fx.groupsDel, m.Group())
			contacts[m.ContactID] = true
		case merge.MutRemoveLink:
			if m.Link.ConnectionID == t.Conn.ID && m.Link.ExternalID == rec.ExternalID {
				fx.linkDel = true
			}
			contacts[m.ContactID] = true
		default: // set_field, set_custom, put_link
			contacts[m.ContactID] = true
		}
	}
	var items []types.TransactWriteItem
	for _, id := range sortedSet(contacts) {
		if id == "" {
			continue
		}
		old, existed := snap.state.Contacts[id]
		if deleted[id] {
			if !existed {
				continue
			}
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table), Key: keyOf(contactPK(tenant, id), skContact),
				ConditionExpression:       aws.String("version = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": numAV(old.Version)},
			}})
			continue
		}
		c, ok := after.Contacts[id]
		if !ok {
			continue
		}
		c.Version = old.Version + 1
		var mark *appliedMark
		if t.RunID != "" && id == d.ContactID {
			mark = &appliedMark{ConnectionID: t.Conn.ID, ExternalID: rec.ExternalID, RunID: t.RunID, Outcome: string(d.Outcome),
				Purposes: purposesOf(fx.messages), Pending: merge.Status(c, after.Ledger(c.Phone)) == consent.Pending}
		}
		av, err := s.contactAV(tenant, c, string(merge.Status(c, after.Ledger(c.Phone))), mark)
		if err != nil {
			return fx, err
		}
		put := &types.Put{TableName: aws.String(s.table), Item: av}
		if !existed || created[id] {
			put.ConditionExpression = aws.String("attribute_not_exists(PK)")
		} else {
			put.ConditionExpression = aws.String("version = :v")
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": numAV(old.Version)}
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	// A number whose state changes shows it on the contact that has it: a
	// contact the decision does not put otherwise gets its denormalised
	// status set (a partial record's consent on its linked contact).
	for _, m := range d.Mutations {
		if m.Kind != merge.MutConsent || !m.Consent.Change.StateChanged() {
			continue
		}
		owner := after.Phones[m.Consent.Phone]
		if _, loaded := snap.state.Contacts[owner]; owner == "" || contacts[owner] || !loaded {
			continue
		}
		items = append(items, types.TransactWriteItem{Update: s.statusUpdate(tenant, owner, m.Consent.Ledger.State())})
	}
	for _, p := range sortedSet(phones) {
		rec := PhoneRecord{Phone: p, ContactID: after.Phones[p], Ledger: after.Ledger(p), Version: snap.phoneVer[p]}
		rec.Ledger.Phone = p
		// The contact's status follows its phone's state: the contact put
		// above already carries it.
		put, err := s.phonePut(tenant, rec)
		if err != nil {
			return fx, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	for _, e := range sortedSet(emails) {
		owner, stored := after.Emails[e], snap.emailOwn[e]
		switch {
		case owner == stored:
			continue
		case owner == "":
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table), Key: keyOf(emailPK(tenant, e), e),
				ConditionExpression:       aws.String("contactId = :o"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: stored}},
			}})
		default:
			av, err := marshalMap(emailItem{PK: emailPK(tenant, e), SK: e, ContactID: owner})
			if err != nil {
				return fx, err
			}
			put := &types.Put{TableName: aws.String(s.table), Item: av}
			if stored == "" {
				put.ConditionExpression = aws.String("attribute_not_exists(PK)")
			} else {
				put.ConditionExpression = aws.String("contactId = :o")
				put.ExpressionAttributeValues = map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: stored}}
			}
			items = append(items, types.TransactWriteItem{Put: put})
		}
	}
	switch {
	case fx.held != nil && len(fx.held.Held.Groups) == 0 && !fx.held.Held.Guest:
		// Nothing held any more (a delete, or deltas that cancel out).
		fx.heldDel, fx.held = true, nil
		if snap.linkRead {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table), Key: keyOf(linkPK(tenant, t.Conn.ID, rec.ExternalID), skLink),
				ConditionExpression:       aws.String("attribute_not_exists(contactId) AND appliedHash = :h"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: snap.link.AppliedHash}},
			}})
		}
	case fx.held != nil:
		// Conditioned on the link item as read: still unlinked and holding
		// what was read, or still absent.
		av, err := marshalMap(*fx.held)
		if err != nil {
			return fx, err
		}
		put := &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)")}
		if snap.linkRead {
			put.ConditionExpression = aws.String("attribute_not_exists(contactId) AND appliedHash = :h")
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: snap.link.AppliedHash}}
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	for _, m := range fx.messages {
		put, err := s.outboxPut(SMSEntry(tenant, m), now)
		if err != nil {
			return fx, err
		}
		items = append(items, put)
		if p, ok, err := s.pendingPut(SMSEntry(tenant, m)); err != nil {
			return fx, err
		} else if ok {
			items = append(items, p)
		}
	}
	var dryKeys []string
	if t.dry != nil {
		items, dryKeys = t.dry.rewrite(items)
	}
	if len(items) == 1 {
		// One item needs no transaction (which would cost twice the units).
		if err := s.writeOne(ctx, items[0]); err != nil {
			return fx, err
		}
	} else if len(items) > 0 {
		err := s.transact(ctx, "apply decision", items)
		if rejected(err) {
			return fx, fmt.Errorf("applying decision: %w", err) // not stale: refused for good
		}
		if cancelReasons(err) != nil {
			return fx, errStale
		}
		if err != nil {
			return fx, fmt.Errorf("applying decision: %w", err)
		}
	}
	if t.dry != nil {
		t.dry.mark(dryKeys...)
	}
	if !fx.linkDel && d.ContactID != "" && d.Outcome != merge.Invalid {
		fx.linkPut = &linkItem{
			PK: linkPK(tenant, t.Conn.ID, rec.ExternalID), SK: skLink, ContactID: d.ContactID,
			AppliedHash: appliedHash(rec, t.Conn, t.WriteBack), UpdatedAt: rec.UpdatedAt, RunID: t.RunID, Outcome: string(d.Outcome),
		}
		if t.RunID != "" {
			fx.linkPut.Purposes = purposesOf(fx.messages)
			if c, ok := after.Contacts[d.ContactID]; ok {
				fx.linkPut.Pending = merge.Status(c, after.Ledger(c.Phone)) == consent.Pending
			}
		}
		if !snap.linkRead || snap.link.ContactID == "" {
			fx.linkCond = true
			if snap.linkRead {
				fx.heldHash = snap.link.AppliedHash
			}
		}
	}
	return fx, nil
}

// sideWrites returns the idempotent writes that follow a committed
// decision: memberships, group list entries and history first, the link
// last (the link is the marker that everything before it is done). A page
// batches them across its records.
func (s *Store) sideWrites(tenant string, fx effects, linkKey map[string]types.AttributeValue) (first, last []types.WriteRequest, err error) {
	for _, g := range fx.groupsAdd {
		name := g.String()
		av, err := marshalMap(membershipItem{PK: groupPK(tenant, name), SK: "C#" + fx.contactID, ContactID: fx.contactID})
		if err != nil {
			return nil, nil, err
		}
		first = append(first, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		if s.groupKnown(tenant, name) {
			continue
		}
		gav, err := marshalMap(groupItem{PK: tenantPK(tenant), SK: groupSK(name), Name: name, Label: g.Label})
		if err != nil {
			return nil, nil, err
		}
		first = append(first, types.WriteRequest{PutRequest: &types.PutRequest{Item: gav}})
	}
	for _, g := range fx.groupsDel {
		first = append(first, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyOf(groupPK(tenant, g.String()), "C#"+fx.contactID)}})
	}
	for _, h := range fx.history {
		av, err := historyAV(tenant, h.subject, h.entry)
		if err != nil {
			return nil, nil, err
		}
		first = append(first, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	}
	switch {
	case fx.linkPut != nil:
		av, err := marshalMap(*fx.linkPut)
		if err != nil {
			return nil, nil, err
		}
		last = append(last, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	case fx.linkDel:
		last = append(last, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: linkKey}})
	}
	return first, last, nil
}

func consentHistory(ch consent.Change) HistoryEntry {
	d := map[string]string{"from": string(ch.From), "to": string(ch.To), "event": string(ch.Kind)}
	add := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	add("connectionId", ch.ConnectionID)
	add("text", ch.Evidence.Text)
	add("messageId", ch.Evidence.MessageID)
	add("provider", ch.Evidence.Provider)
	if !ch.SourceAt.IsZero() {
		d["sourceAt"] = ch.SourceAt.UTC().Format(time.RFC3339)
	}
	return HistoryEntry{At: ch.At, EventID: string(ch.Kind) + "-" + ch.ConnectionID + "-" + ch.Evidence.MessageID, Kind: "consent_change", Detail: d}
}

type groupItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Name  string `dynamodbav:"name"`
	Label string `dynamodbav:"label"`
}

// batchWrite writes up to 25 requests per call, retrying unprocessed ones.
func (s *Store) batchWrite(ctx context.Context, writes []types.WriteRequest) error {
	writes = dedupWrites(writes)
	for _, w := range writes {
		if w.PutRequest != nil {
			s.estimate(true, writeUnits(w.PutRequest.Item, false))
		} else {
			s.estimate(true, 1)
		}
	}
	for start := 0; start < len(writes); start += 25 {
		req := map[string][]types.WriteRequest{s.table: writes[start:min(start+25, len(writes))]}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 3*s.maxAttempts {
				return &RetryError{Op: "batch write", Attempts: attempt, Err: errors.New("unprocessed items")}
			}
			if attempt > 0 {
				if err := sleep(ctx, backoff(min(attempt, 6))); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req, ReturnConsumedCapacity: s.capacityMode()})
			if err != nil {
				if retryable(err) {
					continue
				}
				return fmt.Errorf("batch write: %w", err)
			}
			s.track(true, out.ConsumedCapacity...)
			req = out.UnprocessedItems
		}
	}
	return nil
}

// purposesOf lists the purposes of due messages (what a run counts).
func purposesOf(msgs []consent.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Purpose))
	}
	return out
}

// countedOf is the inverse of purposesOf.
func countedOf(ps []string) []consent.Purpose {
	var out []consent.Purpose
	for _, p := range ps {
		out = append(out, consent.Purpose(p))
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// subjectEntry is a history entry with the phone or contact it belongs to.
type subjectEntry struct {
	subject string
	entry   HistoryEntry
}

// writeOne performs a single conditional write of a decision; a failed
// condition is errStale.
func (s *Store) writeOne(ctx context.Context, it types.TransactWriteItem) error {
	if it.Put != nil {
		s.estimate(true, writeUnits(it.Put.Item, false))
	} else {
		s.estimate(true, 1)
	}
	err := s.withRetry(ctx, "apply decision", func() error {
		switch {
		case it.Put != nil:
			out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: it.Put.TableName, Item: it.Put.Item, ConditionExpression: it.Put.ConditionExpression,
				ExpressionAttributeNames: it.Put.ExpressionAttributeNames, ExpressionAttributeValues: it.Put.ExpressionAttributeValues,
				ReturnConsumedCapacity: s.capacityMode(),
			})
			if out != nil {
				s.trackOne(true, out.ConsumedCapacity)
			}
			return err
		case it.Delete != nil:
			out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: it.Delete.TableName, Key: it.Delete.Key, ConditionExpression: it.Delete.ConditionExpression,
				ExpressionAttributeNames: it.Delete.ExpressionAttributeNames, ExpressionAttributeValues: it.Delete.ExpressionAttributeValues,
				ReturnConsumedCapacity: s.capacityMode(),
			})
			if out != nil {
				s.trackOne(true, out.ConsumedCapacity)
			}
			return err
		}
		return errors.New("store: unsupported single write")
	})
	if conditionFailed(err) {
		return errStale
	}
	if err != nil {
		return fmt.Errorf("applying decision: %w", err)
	}
	return nil
}

// dedupWrites keeps the last write of each key: one BatchWriteItem request
// must not name a key twice.
func dedupWrites(writes []types.WriteRequest) []types.WriteRequest {
	index := map[string]int{}
	out := writes[:0:0]
	for _, w := range writes {
		var k string
		if w.PutRequest != nil {
			k = itemKey(w.PutRequest.Item)
		} else if w.DeleteRequest != nil {
			k = itemKey(w.DeleteRequest.Key)
		}
		if i, ok := index[k]; ok && k != "" {
			out[i] = w
			continue
		}
		index[k] = len(out)
		out = append(out, w)
	}
	return out
}
