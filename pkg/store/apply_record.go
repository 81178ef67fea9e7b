package store

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// rewriteMemberships puts a contact's group memberships (and group list
// entries) again, from its sources: the recovery of a page that crashed
// between a contact's transaction and its batched side writes.
func (s *Store) rewriteMemberships(ctx context.Context, tenant string, c merge.Contact) error {
	var members memberChanges
	first, err := s.membershipWrites(tenant, c, &members)
	if err != nil {
		return err
	}
	if err := s.writeMembers(ctx, tenant, &members); err != nil {
		return err
	}
	return s.batchWrite(ctx, first)
}

// membershipWrites notes contact c's group memberships, from its sources,
// in members and returns the group list entries to put with them.
func (s *Store) membershipWrites(tenant string, c merge.Contact, members *memberChanges) ([]types.WriteRequest, error) {
	fx := effects{contactID: c.ID, bucket: contactBucket(c)}
	for _, l := range c.Sources {
		for _, name := range l.Groups {
			fx.groupsAdd = append(fx.groupsAdd, merge.Group{Label: l.Label, Name: name})
		}
		if l.Guest {
			fx.groupsAdd = append(fx.groupsAdd, merge.Group{Label: l.Label, Name: merge.GuestsGroup})
		}
	}
	if len(fx.groupsAdd) == 0 {
		return nil, nil
	}
	first, _, err := s.sideWrites(tenant, fx, nil, members)
	return first, err
}

// redoFolded redoes, for a page or delivery applied again, the side
// writes of a record whose folded link shows this content applied: the
// link was written with its contact, before them, so it does not say
// they were done. The contact's mark (marksFor; a run's is the folded
// link's run, withoutRunMark) says whether this run or delivery wrote it;
// if so its memberships go with the page's side writes again
// (idempotent), and the mark is returned to count.
func (s *Store) redoFolded(r *applying, link linkItem) (appliedMark, bool, error) {
	by := r.t.markedBy()
	r.pg.mu.Lock()
	it, ok := r.pg.ld.folded[r.lk]
	r.pg.mu.Unlock()
	if by == "" || !ok || r.t.dry != nil {
		return appliedMark{}, false, nil
	}
	mark, marked := appliedBy(r.t, it.Marks, r.lk, link)
	if !marked {
		return appliedMark{}, false, nil
	}
	first, err := s.membershipWrites(r.t.TenantID, it.Contact, &r.pg.side.members)
	if err != nil {
		return appliedMark{}, false, err
	}
	r.pg.mu.Lock()
	r.pg.side.first = append(r.pg.side.first, first...)
	delete(r.pg.ld.folded, r.lk)
	r.pg.mu.Unlock()
	return mark, true, nil
}

// putFirstLink writes a source record's first link, conditioned on the
// link item being as read (absent, or holding the deltas read). When a
// partial record held deltas on it meanwhile (a tag webhook that raced
// the customer's create), the link is written all the same and those
// deltas are applied to the now linked record, so none is lost.
//
// A link folded into its contact (written with it) has no item to put:
// the link item is deleted on the same condition instead — a write of
// nothing while it is absent, the same unit as the put — and held deltas
// found are applied the same way.
func (s *Store) putFirstLink(ctx context.Context, t Target, it linkItem, heldHash string, now time.Time) error {
	av, err := marshalMap(it)
	if err != nil {
		return err
	}
	first := types.TransactWriteItem{Put: conditionedPut(s.table, av, condHeld, ":h", heldHash)}
	if it.folded {
		p := first.Put
		first = types.TransactWriteItem{Delete: &types.Delete{TableName: p.TableName, Key: keyOf(it.PK, it.SK),
			ConditionExpression: p.ConditionExpression, ExpressionAttributeValues: p.ExpressionAttributeValues}}
	}
	err = s.commitDecision(ctx, []types.TransactWriteItem{first})
	if !errors.Is(err, errStale) {
		return err
	}
	key := keyOf(it.PK, it.SK)
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{key}, true)
	if err != nil {
		return err
	}
	var cur linkItem
	if item, ok := items[it.PK+"|"+it.SK]; ok {
		if err := unmarshalMap(item, &cur); err != nil {
			return err
		}
	}
	// The link is this record's: it was merged and its contact written.
	if it.folded {
		err = s.writeItem(ctx, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key}})
	} else {
		err = s.put(ctx, av)
	}
	if err != nil {
		return err
	}
	if cur.ContactID != "" || cur.Held == nil {
		return nil // another writer linked it (last writer wins, as before) or it went
	}
	h := cur.Held
	delta := source.Record{Label: h.Label, ConnectionID: t.Conn.ID, ExternalID: h.ExternalID,
		AddGroups: h.Groups, Guest: h.Guest, Partial: true}
	if len(delta.AddGroups) == 0 && !delta.Guest {
		return nil
	}
	t.Delivery = nil // the delivery is completed by the apply that called this
	_, err = s.ApplyRecord(ctx, t, delta, now)
	return err
}

// appliedBy is the mark of t's run or delivery for record lk among a
// contact's marks, or, for a run, the record's folded link when that run
// wrote it (a folded link holds its run's mark: withoutRunMark).
func appliedBy(t Target, marks []appliedMark, lk merge.LinkKey, link linkItem) (appliedMark, bool) {
	if m, ok := markOf(marks, t.markedBy(), lk.ConnectionID, lk.ExternalID); ok {
		return m, true
	}
	if t.RunID != "" && link.folded && link.RunID == t.RunID {
		return appliedMark{ConnectionID: lk.ConnectionID, ExternalID: lk.ExternalID, RunID: link.RunID,
			Outcome: link.Outcome, Purposes: link.Purposes, Pending: link.Pending}, true
	}
	return appliedMark{}, false
}

// carryRun keeps, in a folded link a webhook writes (t has no run), the
// run part of the link it replaces: the folded link is also its last
// run's mark (withoutRunMark), which a page of that run delivered again
// after a crash counts what it did by.
func carryRun(t Target, li *linkItem, was linkItem) {
	if t.RunID == "" && was.folded {
		li.RunID, li.Outcome, li.Purposes, li.Pending = was.RunID, was.Outcome, was.Purposes, was.Pending
	}
}

// applyOne applies one record: it merges the record on the state its page
// loaded and writes the decision conditioned on that state; when the state
// moved on meanwhile (errStale) it reads the record's keys again,
// consistently, and merges again, after rereadPause (bounded, jittered).
// The SDK's retryer cannot do this: the write itself must change.
func (s *Store) applyOne(ctx context.Context, r *applying, mg *merge.Merger) (Applied, error) {
	for attempt := 1; ; attempt++ {
		a, err := s.applyAttempt(ctx, r, mg)
		if !errors.Is(err, errStale) {
			return a, err
		}
		if err := s.rereadPause(ctx, attempt); err != nil {
			return Applied{}, err
		}
		if err := s.reload(ctx, r); err != nil {
			return Applied{}, err
		}
	}
}

// applyAttempt merges the record on the loaded state and writes what it
// decided: nothing for a record its link shows applied as it is, the link
// alone for a decision without mutations (keepLink), else the decision
// (writeDecision) and what follows it (afterDecision).
func (s *Store) applyAttempt(ctx context.Context, r *applying, mg *merge.Merger) (Applied, error) {
	t, rec, pg := r.t, r.rec, r.pg
	pg.mu.Lock()
	link, linked := pg.ld.links[r.lk]
	if linked && link.AppliedHash == r.hash && !rec.Deleted {
		pg.mu.Unlock()
		a := Applied{Decision: merge.Decision{Outcome: merge.Unchanged, Reason: merge.ReasonDuplicate, ContactID: link.ContactID}}
		if t.RunID != "" && link.RunID == t.RunID {
			// A retried page: count what this run did.
			a.Decision.Outcome = merge.Outcome(link.Outcome)
			a.Counted, a.Pending = countedOf(link.Purposes), link.Pending
		}
		if link.folded {
			mark, again, err := s.redoFolded(r, link)
			if err != nil {
				return Applied{}, err
			}
			if again {
				// Applied by this run or delivery, which may have crashed
				// before its side writes: count what it did.
				a.Decision.Outcome = merge.Outcome(mark.Outcome)
				a.Counted, a.Pending = countedOf(mark.Purposes), mark.Pending
			}
		}
		return a, nil
	}
	snap := pg.ld.snapshot(r.id, r.lk)
	nid := creatorID(t.TenantID, t.Conn.ID, rec.ExternalID)
	if _, loaded := snap.state.Contacts[nid]; loaded || snap.creatorTaken {
		nid = randomContactID() // its own is a contact it left
	}
	d := mg.Merge(merge.Input{Record: rec, Identity: r.id, Connection: t.Conn, Now: r.now, NewID: nid, State: snap.state, KeepDeltaBase: t.keepDeltaBase})
	after := merge.Apply(snap.state, d)
	if c, ok := after.Contacts[nid]; ok && c.Bucket == "" {
		c.Bucket = pg.buckets.take()
		after.Contacts[nid] = c
	}
	pg.mu.Unlock()
	if len(d.Mutations) == 0 {
		return s.keepLink(ctx, r, snap, d, link, linked)
	}
	if s.beforeWrite != nil {
		s.beforeWrite()
	}
	fx, err := s.writeDecision(ctx, t, rec, snap, d, after, r.now)
	if err != nil {
		return Applied{}, err
	}
	return s.afterDecision(ctx, r, snap, d, after, fx)
}

// keepLink ends a record whose decision changes nothing: its link must
// remember this content (first sight after a crash, or a link item lost);
// what a crashed application of this run did is counted again, and its
// side writes, which it may have lost, are redone (idempotent puts).
func (s *Store) keepLink(ctx context.Context, r *applying, snap snapshot, d merge.Decision, link linkItem, linked bool) (Applied, error) {
	t, rec, pg := r.t, r.rec, r.pg
	if d.ContactID == "" || d.Outcome == merge.Invalid || rec.Deleted {
		return Applied{Decision: d}, nil
	}
	pg.mu.Lock()
	marks := pg.ld.marks[d.ContactID]
	c := snap.state.Contacts[d.ContactID]
	// The record's link folded into the contact, as read with it (a
	// contact a claim's payload completed has one its record's first read
	// did not see).
	var fold *foldedLink
	if f := pg.ld.lnks[d.ContactID]; f != nil && createdBy(t.TenantID, c, r.lk) {
		fold = f
	}
	pg.mu.Unlock()
	if fold != nil && !(linked && link.folded) {
		link, linked = fold.item(t.TenantID, r.lk, d.ContactID), true
	}
	mark, marked := appliedBy(t, marks, r.lk, link)
	crashed := marked && t.markedBy() != ""
	var again Applied // what the crashed application did, counted again
	if crashed {
		again.Counted, again.Pending = countedOf(mark.Purposes), mark.Pending
		// This run wrote the contact for this record and crashed before
		// its link.
		d.Outcome = merge.Outcome(mark.Outcome)
		if t.dry == nil {
			if err := s.rewriteMemberships(ctx, t.TenantID, c); err != nil {
				return Applied{}, err
			}
		}
	}
	if !crashed && linked && link.ContactID == d.ContactID && rec.IsPartial() {
		// A partial record the contact already reflects (a Klaviyo list
		// member page, a Shopify tag or consent webhook): the link item
		// keeps the full record's hash, so that record's next sync stays
		// free instead of the two taking turns.
		return writeBackDue(t, rec, r.id, snap.state, Applied{Decision: d}), nil
	}
	li := linkItem{PK: linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), SK: skLink, ContactID: d.ContactID,
		AppliedHash: r.hash, UpdatedAt: rec.UpdatedAt, RunID: t.RunID, Outcome: string(d.Outcome)}
	if crashed {
		li.Purposes, li.Pending = mark.Purposes, mark.Pending
	}
	if linked && link.folded && link.ContactID == d.ContactID {
		// The link is folded into the contact: it is updated there (a
		// webhook keeps the last run's part, carryRun).
		li.folded = true
		carryRun(t, &li, link)
		if t.dry == nil {
			if err := s.writeFold(ctx, s.foldUpdate(t.TenantID, d.ContactID, foldOf(li))); err != nil {
				return Applied{}, err
			}
		}
		pg.mu.Lock()
		pg.ld.links[r.lk] = li
		pg.ld.lnks[d.ContactID] = foldOf(li)
		pg.mu.Unlock()
		return writeBackDue(t, rec, r.id, snap.state, Applied{Decision: d, Wrote: true, Counted: again.Counted, Pending: again.Pending}), nil
	}
	av, err := marshalMap(li)
	if err != nil {
		return Applied{}, err
	}
	if t.dry != nil {
		av = t.dry.item(av)
	}
	if t.Delivery != nil {
		// A delivery's link rides its last batch, with its key.
		pg.mu.Lock()
		pg.side.last = append(pg.side.last, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		pg.mu.Unlock()
	} else if err := s.put(ctx, av); err != nil {
		return Applied{}, err
	}
	if t.dry != nil {
		t.dry.mark(li.PK + "|" + li.SK)
	}
	pg.mu.Lock()
	pg.ld.links[r.lk] = li
	pg.mu.Unlock()
	return writeBackDue(t, rec, r.id, snap.state, Applied{Decision: d, Wrote: true, Counted: again.Counted, Pending: again.Pending}), nil
}

// afterDecision follows a committed decision: the other links an opt-out
// makes stale, the decision's side writes queued for its page, and its
// writes absorbed into the page's loaded state.
func (s *Store) afterDecision(ctx context.Context, r *applying, snap snapshot, d merge.Decision, after merge.State, fx effects) (Applied, error) {
	t, rec, pg := r.t, r.rec, r.pg
	if s.afterWrite != nil {
		if err := s.afterWrite(); err != nil {
			return Applied{}, err // a crash between the transaction and the side writes
		}
	}
	if err := s.staleOnOptOut(ctx, t, r.lk, d, after); err != nil {
		return Applied{}, err
	}
	// A webhook's first link is conditioned (putFirstLink): a partial
	// record may hold deltas on it meanwhile. Bulk pages batch theirs.
	sfx := fx
	cond := t.RunID == "" && fx.linkCond && (fx.linkPut != nil || fx.linkFold != nil)
	if cond {
		sfx.linkPut = nil
	}
	var first, last []types.WriteRequest
	var dryKeys []string
	var err error
	if t.dry != nil {
		// A dry run keeps only the link, in its scratch space
		// (sideWrites would also note groups as known).
		last, dryKeys, err = s.dryLinkWrites(t, rec, fx)
	} else {
		first, last, err = s.sideWrites(t.TenantID, sfx, keyOf(linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), skLink), &pg.side.members)
	}
	if err != nil {
		return Applied{}, err
	}
	pg.mu.Lock()
	pg.side.first = append(pg.side.first, first...)
	pg.side.last = append(pg.side.last, last...)
	if fx.foldSide != nil && t.dry == nil {
		pg.side.folds = append(pg.side.folds, fx.foldSide)
	}
	pg.side.dryKeys = append(pg.side.dryKeys, dryKeys...)
	if cond {
		pg.side.firstLinks = append(pg.side.firstLinks, firstLink{item: *cmp.Or(fx.linkPut, fx.linkFold), heldHash: fx.heldHash})
	}
	pg.ld.absorb(snap.state, after, d, fx, r.lk)
	pg.mu.Unlock()
	pending := false
	if c, ok := after.Contacts[d.ContactID]; ok && d.ContactID != "" {
		pending = merge.Status(c, after.Ledger(c.Phone)) == consent.Pending
	}
	return writeBackDue(t, rec, r.id, after, Applied{Decision: d, Messages: fx.messages, Wrote: true, Pending: pending}), nil
}

// staleOnOptOut marks the links of the other source records of a contact
// whose number this decision unsubscribed (a source's own opt-out: a
// marketing tool's unsubscribe) with StaleLink, so each of their
// connections' next sync applies them again and writes the opt-out back to
// those that still show the number subscribed, instead of finding them
// unchanged. Only connections that write opt-outs back need it (the
// setting is part of the applied hash: turning it on re-applies every
// record anyway): the decision's own connection says so through t, another
// one is read once. A flip to unsubscribed is rare; nothing else pays for
// it.
func (s *Store) staleOnOptOut(ctx context.Context, t Target, self merge.LinkKey, d merge.Decision, after merge.State) error {
	writesBack := map[string]bool{t.Conn.ID: t.WriteBack}
	for _, m := range d.Mutations {
		if m.Kind != merge.MutConsent || m.Consent == nil || !m.Consent.Change.StateChanged() || m.Consent.Change.To != consent.Unsubscribed {
			continue
		}
		c, ok := after.Contacts[after.Phones[m.Consent.Phone]]
		if !ok {
			continue
		}
		for _, l := range c.Sources {
			if l.Guest || l.Key() == self {
				continue
			}
			on, known := writesBack[l.ConnectionID]
			if !known {
				conn, err := s.GetConnection(ctx, t.TenantID, l.ConnectionID)
				switch {
				case errors.Is(err, ErrNotFound):
				case err != nil:
					return err
				default:
					on = conn.Enabled && conn.WriteBackOptOuts
				}
				writesBack[l.ConnectionID] = on
			}
			if !on {
				continue
			}
			if err := s.StaleLink(ctx, t.TenantID, l.ConnectionID, l.ExternalID); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeBackDue sets a's WriteBack when the target writes opt-outs back and
// the record, applied, still shows its number subscribed while the number
// is unsubscribed (consent.Ledger.WriteBackDue on st, the state after the
// record). The ledger is the one the apply path read for the record's
// phone: the decision costs no read. Guests (no source record to write
// to), deleted, invalid and skipped records never get one.
func writeBackDue(t Target, rec source.Record, id merge.Identity, st merge.State, a Applied) Applied {
	if !t.WriteBack || id.Phone == "" || rec.Guest || rec.Deleted || rec.OutOfScope ||
		a.Decision.Outcome == merge.Invalid || a.Decision.Outcome == merge.Skipped {
		return a
	}
	l := st.Ledger(id.Phone)
	if !l.WriteBackDue(rec.Consent.State) {
		return a
	}
	a.WriteBack = true
	a.OptedOutAt, _ = l.OptedOutAt()
	return a
}
