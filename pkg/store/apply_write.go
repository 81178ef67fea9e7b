package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	bucket    string // the contact's (contactBucket): where its memberships are
	groupsAdd []merge.Group
	groupsDel []merge.Group
	history   []subjectEntry
	messages  []consent.Message
	linkPut   *linkItem
	linkDel   bool
	// linkFold is the record's link folded into its contact (contactItem
	// Link), in the contact's put, or foldSide when the decision does not
	// put it; linkWasFolded: the link was read folded (a deleted link has
	// no item to delete).
	linkFold      *linkItem
	foldSide      *types.Update
	linkWasFolded bool
	// lnks are the folded links each contact put wrote (contact id ->
	// link, nil for none), which the page's loaded state takes on.
	lnks    map[string]*foldedLink
	held    *linkItem // the held deltas written (merge.MutHoldLink)
	heldDel bool      // the held deltas deleted
	// linkCond: linkPut is a first link (the record had no link, or held
	// deltas, when read); heldHash is the held item's applied hash then.
	linkCond bool
	heldHash string
	// marks are the run marks each contact put wrote (contact id ->
	// marks), which the page's loaded state takes on.
	marks map[string][]appliedMark
	// membersDone: the membership changes went into the decision's
	// transaction (membersInTransaction), not the side writes.
	membersDone bool
}

// writeDecision writes decision d (computed on snap.state; after is the state
// after merge.Apply) for record rec: one transaction for the contacts,
// phone items (claims + ledgers), email claims, held deltas and outbox
// markers, each conditioned on what was read; the link, memberships and
// history follow as side writes (effects).
func (s *Store) writeDecision(ctx context.Context, t Target, rec source.Record, snap snapshot, d merge.Decision, after merge.State, now time.Time) (effects, error) {
	fx, keys := decisionEffects(t, rec, snap, d)
	c, ok := after.Contacts[d.ContactID]
	if !ok {
		c = snap.state.Contacts[d.ContactID]
	}
	fx.bucket = contactBucket(c)
	fx.linkWasFolded = snap.linkRead && snap.link.folded
	lk := merge.LinkKey{ConnectionID: t.Conn.ID, ExternalID: rec.ExternalID}
	li := linkOf(t, rec, snap, d, after, fx)
	if li != nil && createdBy(t.TenantID, after.Contacts[d.ContactID], lk) && (fx.linkWasFolded || (!snap.linkRead && t.dry == nil)) {
		// The record's contact is the one it created, and it has no link
		// item: the link is folded into the contact. (A webhook's first
		// link then checks that no partial record held tags meanwhile:
		// putFirstLink.)
		li.folded = true
		carryRun(t, li, snap.link)
		fx.linkFold = li
	} else if li != nil {
		fx.linkPut = li
	}
	if li != nil && (!snap.linkRead || snap.link.ContactID == "") {
		fx.linkCond = true
		if snap.linkRead {
			fx.heldHash = snap.link.AppliedHash
		}
	}
	items, err := s.contactItems(t, rec, snap, d, after, keys, &fx)
	if err != nil {
		return fx, err
	}
	if items, err = s.claimItems(t, rec, snap, after, keys, &fx, items, now); err != nil {
		return fx, err
	}
	var dryKeys []string
	if t.dry != nil {
		items, dryKeys = t.dry.rewrite(items)
	} else if t.Delivery != nil && len(items) > 1 {
		items = s.membersInTransaction(t.TenantID, &fx, items)
	}
	if err := s.commitItems(ctx, t, keys, fx, after, items); err != nil {
		return fx, err
	}
	if t.dry != nil {
		t.dry.mark(dryKeys...)
	}
	return fx, nil
}

// linkOf is the link the decision leaves record rec with (nil: none, or
// deleted): its contact, the applied hash and what the run did.
func linkOf(t Target, rec source.Record, snap snapshot, d merge.Decision, after merge.State, fx effects) *linkItem {
	if fx.linkDel || d.ContactID == "" || d.Outcome == merge.Invalid {
		return nil
	}
	li := &linkItem{
		PK: linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), SK: skLink, ContactID: d.ContactID,
		AppliedHash: appliedHash(rec, t.Conn, t.WriteBack), UpdatedAt: rec.UpdatedAt, RunID: t.RunID, Outcome: string(d.Outcome),
	}
	if snap.linkRead && snap.link.ContactID == d.ContactID && rec.IsPartial() {
		// A partial record: the link keeps the applied hash and time of
		// the full record, whose next sync then stays free.
		li.AppliedHash, li.UpdatedAt = snap.link.AppliedHash, snap.link.UpdatedAt
	}
	if t.RunID != "" {
		li.Purposes = purposesOf(fx.messages)
		if c, ok := after.Contacts[d.ContactID]; ok {
			li.Pending = merge.Status(c, after.Ledger(c.Phone)) == consent.Pending
		}
	}
	return li
}

// decisionKeys are the keys a decision's transaction writes.
type decisionKeys struct {
	contacts, created, deleted, phones, emails map[string]bool
}

// decisionEffects sorts a decision's mutations into the keys its
// transaction writes and the effects outside it.
func decisionEffects(t Target, rec source.Record, snap snapshot, d merge.Decision) (effects, decisionKeys) {
	fx := effects{contactID: d.ContactID}
	k := decisionKeys{contacts: map[string]bool{}, created: map[string]bool{}, deleted: map[string]bool{}, phones: map[string]bool{}, emails: map[string]bool{}}
	moved := false
	for _, m := range d.Mutations {
		switch m.Kind {
		case merge.MutCreateContact:
			k.created[m.ContactID] = true
			k.contacts[m.ContactID] = true
		case merge.MutDeleteContact:
			k.deleted[m.ContactID] = true
			k.contacts[m.ContactID] = true
		case merge.MutClaimPhone, merge.MutReleasePhone:
			k.phones[m.Value] = true
			k.contacts[m.ContactID] = true
		case merge.MutClaimEmail, merge.MutReleaseEmail:
			k.emails[m.Value] = true
			k.contacts[m.ContactID] = true
		case merge.MutConsent:
			k.phones[m.Consent.Phone] = true
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
			fx.held = &linkItem{PK: linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), SK: skLink,
				AppliedHash: appliedHash(rec, t.Conn, t.WriteBack), UpdatedAt: rec.UpdatedAt, Held: &h}
		case merge.MutAddGroup:
			fx.groupsAdd = append(fx.groupsAdd, m.Group())
			k.contacts[m.ContactID] = true
		case merge.MutRemoveGroup:
			fx.groupsDel = append(fx.groupsDel, m.Group())
			k.contacts[m.ContactID] = true
		case merge.MutRemoveLink:
			if m.Link.ConnectionID == t.Conn.ID && m.Link.ExternalID == rec.ExternalID {
				fx.linkDel = true
			}
			k.contacts[m.ContactID] = true
		case merge.MutPutLink:
			if m.Link.ConnectionID == t.Conn.ID && m.Link.ExternalID == rec.ExternalID {
				moved = true // put on a contact too: its link is kept (linkOf)
			}
			k.contacts[m.ContactID] = true
		default: // set_field, set_custom
			k.contacts[m.ContactID] = true
		}
	}
	fx.linkDel = fx.linkDel && !moved
	return fx, k
}

// contactItems are the decision's contact puts and deletes, each
// conditioned on the version read (or on being new), and the status
// updates of contacts whose number changed state but that the decision
// does not put.
func (s *Store) contactItems(t Target, rec source.Record, snap snapshot, d merge.Decision, after merge.State, k decisionKeys, fx *effects) ([]types.TransactWriteItem, error) {
	tenant := t.TenantID
	var items []types.TransactWriteItem
	for _, id := range slices.Sorted(maps.Keys(k.contacts)) {
		if id == "" {
			continue
		}
		old, existed := snap.state.Contacts[id]
		if k.deleted[id] {
			if existed {
				items = append(items, types.TransactWriteItem{Delete: &types.Delete{
					TableName: aws.String(s.table), Key: keyOf(contactPK(tenant, id), skContact),
					ConditionExpression: aws.String(condVersion), ExpressionAttributeValues: map[string]types.AttributeValue{":v": numAV(old.Version)},
				}})
			}
			continue
		}
		c, ok := after.Contacts[id]
		if !ok {
			continue
		}
		c.Version = old.Version + 1
		var mark *appliedMark
		if by := t.markedBy(); by != "" && id == d.ContactID {
			mark = &appliedMark{ConnectionID: t.Conn.ID, ExternalID: rec.ExternalID, RunID: by, Outcome: string(d.Outcome),
				Purposes: purposesOf(fx.messages), Pending: merge.Status(c, after.Ledger(c.Phone)) == consent.Pending}
		}
		marks := marksFor(snap.marks[id], c, mark)
		if fx.linkFold != nil && id == d.ContactID && t.RunID != "" {
			// The folded link says what this run did (its run, outcome,
			// purposes): the record's run mark would say it again.
			marks = withoutRunMark(marks, merge.LinkKey{ConnectionID: t.Conn.ID, ExternalID: rec.ExternalID})
		}
		if fx.marks == nil {
			fx.marks, fx.lnks = map[string][]appliedMark{}, map[string]*foldedLink{}
		}
		fx.marks[id] = marks
		var lnk *foldedLink
		switch {
		case fx.linkFold != nil && id == d.ContactID:
			lnk = foldOf(*fx.linkFold)
		case id != creatorID(t.TenantID, t.Conn.ID, rec.ExternalID) && keepsFold(t.TenantID, c):
			lnk = snap.lnks[id] // its creator's, as read
		}
		fx.lnks[id] = lnk
		av, err := s.contactAV(tenant, c, string(merge.Status(c, after.Ledger(c.Phone))), marks, lnk)
		if err != nil {
			return nil, err
		}
		put := &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String(condAbsent)}
		if existed && !k.created[id] {
			put.ConditionExpression = aws.String(condVersion)
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": numAV(old.Version)}
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	if fx.linkFold != nil && !k.contacts[d.ContactID] {
		// The decision does not put the contact its link is folded into
		// (a consent change alone): the link is updated there after it.
		fx.foldSide = s.foldUpdate(tenant, d.ContactID, foldOf(*fx.linkFold))
		if fx.lnks == nil {
			fx.lnks = map[string]*foldedLink{}
		}
		fx.lnks[d.ContactID] = foldOf(*fx.linkFold)
	}
	// A number whose state changes shows it on the contact that has it: a
	// contact the decision does not put otherwise gets its denormalised
	// status set (a partial record's consent on its linked contact).
	for _, m := range d.Mutations {
		if m.Kind != merge.MutConsent || !m.Consent.Change.StateChanged() {
			continue
		}
		owner := after.Phones[m.Consent.Phone]
		if _, loaded := snap.state.Contacts[owner]; owner == "" || k.contacts[owner] || !loaded {
			continue
		}
		up := s.statusUpdate(tenant, owner, m.Consent.Ledger.State())
		if fx.foldSide != nil && owner == d.ContactID {
			// The folded link goes with the status (foldUpdate's
			// expression, in the same update).
			up.UpdateExpression = aws.String(*up.UpdateExpression + ", lnk = :l")
			maps.Copy(up.ExpressionAttributeValues, fx.foldSide.ExpressionAttributeValues)
			fx.foldSide = nil
		}
		items = append(items, types.TransactWriteItem{Update: up})
	}
	return items, nil
}

// claimItems appends the decision's phone items (owner and ledger, at the
// version read), email claims (owned as read), held deltas (the link item
// as read) and outbox markers to items.
func (s *Store) claimItems(t Target, rec source.Record, snap snapshot, after merge.State, k decisionKeys, fx *effects, items []types.TransactWriteItem, now time.Time) ([]types.TransactWriteItem, error) {
	tenant := t.TenantID
	for _, p := range slices.Sorted(maps.Keys(k.phones)) {
		rec := PhoneRecord{Phone: p, ContactID: after.Phones[p], Ledger: after.Ledger(p), Version: snap.phoneVer[p]}
		rec.Ledger.Phone = p
		// The contact's status follows its phone's state: the contact put
		// above already carries it.
		put, err := s.phonePut(tenant, rec)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	for _, e := range slices.Sorted(maps.Keys(k.emails)) {
		owner, stored := after.Emails[e], snap.emailOwn[e]
		switch {
		case owner == stored:
			continue
		case owner == "":
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table), Key: keyOf(emailPK(tenant, e), e),
				ConditionExpression: aws.String(condOwner), ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: stored}},
			}})
		default:
			av, err := marshalMap(emailItem{PK: emailPK(tenant, e), SK: e, ContactID: owner})
			if err != nil {
				return nil, err
			}
			items = append(items, types.TransactWriteItem{Put: conditionedPut(s.table, av, condOwner, ":o", stored)})
		}
	}
	switch {
	case fx.held != nil && len(fx.held.Held.Groups) == 0 && !fx.held.Held.Guest:
		// Nothing held any more (a delete, or deltas that cancel out).
		fx.heldDel, fx.held = true, nil
		if snap.linkRead {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table), Key: keyOf(linkPK(tenant, t.Conn.ID, rec.ExternalID), skLink),
				ConditionExpression: aws.String(condHeld), ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: snap.link.AppliedHash}},
			}})
		}
	case fx.held != nil:
		// Conditioned on the link item as read: still unlinked and holding
		// what was read, or still absent.
		av, err := marshalMap(*fx.held)
		if err != nil {
			return nil, err
		}
		hash := ""
		if snap.linkRead {
			hash = snap.link.AppliedHash
		}
		items = append(items, types.TransactWriteItem{Put: conditionedPut(s.table, av, condHeld, ":h", hash)})
	}
	for _, m := range fx.messages {
		put, err := s.outboxPut(SMSEntry(tenant, m), now)
		if err != nil {
			return nil, err
		}
		items = append(items, put)
		if p, ok, err := s.pendingPut(SMSEntry(tenant, m)); err != nil {
			return nil, err
		} else if ok {
			items = append(items, p)
		}
	}
	return items, nil
}

// conditionedPut puts av on condition cond with :name = was, or, when was
// is "" (nothing was read), on the item being absent.
func conditionedPut(table string, av map[string]types.AttributeValue, cond, name, was string) *types.Put {
	if was == "" {
		return &types.Put{TableName: aws.String(table), Item: av, ConditionExpression: aws.String(condAbsent)}
	}
	return &types.Put{TableName: aws.String(table), Item: av, ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: was}}}
}

// commitItems writes a decision's conditioned items: a lone creation of a
// sync page as ordered puts (commitCreate: half the units, three round
// trips), anything else as commitDecision does. A webhook delivery's
// creation stays one transaction: its latency is the platform's wait, and
// one request instead of three is what keeps a delivery at four
// (TestWebhook_RequestsPerDelivery). Items another writer adds to a
// decision (extra) go with it into commitDecision's transaction.
func (s *Store) commitItems(ctx context.Context, t Target, k decisionKeys, fx effects, after merge.State, items []types.TransactWriteItem, extra ...types.TransactWriteItem) error {
	if len(extra) == 0 && t.Delivery == nil {
		if id := createOrder(t, k, fx, after, items); id != "" {
			return s.commitCreate(ctx, id, items)
		}
	}
	return s.commitDecision(ctx, append(items, extra...))
}

// commitDecision writes a decision's conditioned items: one alone (a
// transaction would cost twice the units), more in one transaction. A
// failed condition is errStale, for the caller to read again; a write
// refused for good (rejected) is not.
func (s *Store) commitDecision(ctx context.Context, items []types.TransactWriteItem) error {
	var err error
	switch len(items) {
	case 0:
		return nil
	case 1:
		err = s.writeItem(ctx, items[0])
	default:
		err = s.transact(ctx, items)
	}
	switch {
	case err == nil:
		return nil
	case conditionFailed(err) || (cancelReasons(err) != nil && !rejected(err)):
		return errStale
	}
	return fmt.Errorf("applying decision: %w", err)
}

// sideWrites returns the idempotent writes that follow a committed
// decision: memberships (noted in members, written by bundle), group list
// entries and history first, the link last (the link is the marker that
// everything before it is done). A page batches them across its records.
func (s *Store) sideWrites(tenant string, fx effects, linkKey map[string]types.AttributeValue, members *memberChanges) (first, last []types.WriteRequest, err error) {
	if !fx.membersDone {
		members.noteEffects(fx)
	}
	for _, g := range fx.groupsAdd {
		name := g.String()
		if s.groupKnown(tenant, name) {
			continue
		}
		gav, err := marshalMap(groupItem{PK: tenantPK(tenant), SK: groupSK(name), Name: name, Label: g.Label})
		if err != nil {
			return nil, nil, err
		}
		first = append(first, types.WriteRequest{PutRequest: &types.PutRequest{Item: gav}})
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
	case fx.linkDel && !fx.linkWasFolded:
		last = append(last, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: linkKey}})
	}
	return first, last, nil
}

// foldUpdate sets the creator's link folded into contact id (a decision
// or a link refresh that does not put the contact). The contact's version
// stays: the update must not fail the decisions of webhooks racing it on
// the contact (each would read again). A writer that read the contact
// before it puts the link it read back (contactItems carries it), as a
// link item's last writer won: the record's next sync applies it again
// and writes the link once more.
func (s *Store) foldUpdate(tenant, id string, f *foldedLink) *types.Update {
	av, _ := marshalMap(f) // a struct of strings, bytes and a bool: never fails
	return &types.Update{
		TableName: aws.String(s.table), Key: keyOf(contactPK(tenant, id), skContact),
		UpdateExpression:          aws.String("SET lnk = :l"),
		ConditionExpression:       aws.String(condExists),
		ExpressionAttributeValues: map[string]types.AttributeValue{":l": &types.AttributeValueMemberM{Value: av}},
	}
}

// writeFold writes a foldUpdate; a contact deleted meanwhile took the link
// with it (its record's next sync finds neither).
func (s *Store) writeFold(ctx context.Context, u *types.Update) error {
	err := s.writeItem(ctx, types.TransactWriteItem{Update: u})
	if err == nil || conditionFailed(err) {
		return nil
	}
	return fmt.Errorf("updating a folded link: %w", err)
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

// subjectEntry is a history entry with the phone or contact it belongs to.
type subjectEntry struct {
	subject string
	entry   HistoryEntry
}
