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
			if m.Consent.Change.StateChanged() {
				fx.history = append(fx.history, subjectEntry{m.Consent.Phone, consentHistory(m.Consent.Change)})
			}
		case merge.MutQueueMessage:
			if m.Message != nil {
				fx.messages = append(fx.messages, *m.Message)
			}
		case merge.MutAddGroup:
			fx.groupsAdd = append(fx.groupsAdd, m.Group)
			contacts[m.ContactID] = true
		case merge.MutRemoveGroup:
			fx.groupsDel = append(fx.groupsDel, m.Group)
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
		av, err := s.contactAV(tenant, c, string(merge.Status(c, after.Ledger(c.Phone))))
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
	for _, m := range fx.messages {
		av, err := marshalMap(outboxItem{
			PK: outboxPK(tenant, OutboxRef(m)), SK: skOut, Status: "pending", Phone: m.Phone,
			ConnectionID: m.ConnectionID, Purpose: string(m.Purpose), At: m.At, ExpiresAt: now.Add(30 * 24 * time.Hour).Unix(),
		})
		if err != nil {
			return fx, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	}
	if len(items) > 0 {
		err := s.transact(ctx, "apply decision", items)
		if cancelReasons(err) != nil {
			return fx, errStale
		}
		if err != nil {
			return fx, fmt.Errorf("applying decision: %w", err)
		}
	}
	if !fx.linkDel && d.ContactID != "" && d.Outcome != merge.Invalid {
		fx.linkPut = &linkItem{
			PK: linkPK(tenant, t.Conn.ID, rec.ExternalID), SK: skLink, ContactID: d.ContactID,
			AppliedHash: appliedHash(rec, t.Conn), UpdatedAt: rec.UpdatedAt, RunID: t.RunID, Outcome: string(d.Outcome),
		}
	}
	return fx, nil
}

// finish writes the idempotent side effects of a committed decision:
// memberships, the group list, history, and last the link (the link is the
// marker that everything before it is done).
func (s *Store) finish(ctx context.Context, tenant string, fx effects) error {
	var writes []types.WriteRequest
	for _, g := range fx.groupsAdd {
		name := g.String()
		av, err := marshalMap(membershipItem{PK: groupPK(tenant, name), SK: "C#" + fx.contactID, ContactID: fx.contactID})
		if err != nil {
			return err
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		if s.groupKnown(tenant, name) {
			continue
		}
		gav, err := marshalMap(groupItem{PK: tenantPK(tenant), SK: groupSK(name), Name: name, Label: g.Label})
		if err != nil {
			return err
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: gav}})
	}
	for _, g := range fx.groupsDel {
		writes = append(writes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyOf(groupPK(tenant, g.String()), "C#"+fx.contactID)}})
	}
	for _, h := range fx.history {
		av, err := historyAV(tenant, h.subject, h.entry)
		if err != nil {
			return err
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	}
	if err := s.batchWrite(ctx, writes); err != nil {
		return err
	}
	if fx.linkDel && fx.linkPut == nil {
		return nil
	}
	if fx.linkPut != nil {
		av, err := marshalMap(*fx.linkPut)
		if err != nil {
			return err
		}
		return s.put(ctx, av)
	}
	return nil
}

// deleteLink removes a source record's link item.
func (s *Store) deleteLink(ctx context.Context, tenant, conn, ext string) error {
	return s.withRetry(ctx, "delete link", func() error {
		out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyOf(linkPK(tenant, conn, ext), skLink), ReturnConsumedCapacity: s.capacityMode()})
		if out != nil {
			s.trackOne(true, out.ConsumedCapacity)
		}
		return err
	})
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
