package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// pageConcurrency bounds parallel writes inside one page (records that share
// no key are applied in parallel; records that share one, in order).
const pageConcurrency = 8

// ApplyRecords merges and writes a page of records of one connection.
//
// Records enter the core here, bulk pages and webhooks alike: each is first
// mapped through the connection's field map (merge.MapFields; a typed
// value that does not parse is noted field_invalid:<field>), then
// cut to source's limits (source.Bound, in place: a record's report row
// shows its bounded external id). A record that cannot be stored is
// Invalid with Bound's reason and costs nothing; a record cut to size
// carries the cut in its decision's reason. A record whose write DynamoDB
// refuses for good (ValidationException: an item over 400 KB, a key over
// its limit) is Invalid with ReasonWriteRejected; the others are applied.
func (s *Store) ApplyRecords(ctx context.Context, t Target, recs []source.Record, now time.Time) ([]Applied, error) {
	if t.DryRun {
		if t.RunID == "" {
			return nil, errors.New("store: a dry run needs its run id")
		}
		t.dry = newDryScope(t.TenantID, t.RunID, s.now())
	}
	out := make([]Applied, len(recs))
	notes := make([][]string, len(recs))
	keep := make([]int, 0, len(recs))
	for i := range recs {
		// The field map first (names, phone, email, typed custom fields),
		// then the bounds on what it produced.
		fn := merge.MapFields(&recs[i], t.Conn)
		n, invalid := source.Bound(&recs[i])
		if invalid != "" {
			out[i] = Applied{Decision: merge.Decision{Outcome: merge.Invalid, Reason: merge.Reason(invalid), At: now}}
			continue
		}
		notes[i] = append(n, fn...)
		keep = append(keep, i)
	}
	valid := recs
	if len(keep) < len(recs) {
		valid = make([]source.Record, len(keep))
		for j, i := range keep {
			valid[j] = recs[i]
		}
	}
	var applied []Applied
	if len(valid) > 0 {
		var err error
		if applied, err = s.applyRecords(ctx, t, valid, now); err != nil {
			return nil, err
		}
	}
	for j, i := range keep {
		a := applied[j]
		if d := &a.Decision; len(notes[i]) > 0 && (d.Outcome == merge.Created || d.Outcome == merge.Updated) {
			// The report says what was cut (after the merge's own reason).
			rs := append([]string{}, notes[i]...)
			if d.Reason != "" {
				rs = append([]string{string(d.Reason)}, rs...)
			}
			d.Reason = merge.Reason(strings.Join(rs, ","))
		}
		out[i] = a
	}
	return out, nil
}

// ReasonWriteRejected: DynamoDB refused the record's write for good (an
// item over 400 KB, a key over its limit); the record is reported invalid.
const ReasonWriteRejected merge.Reason = "write_rejected"

// applyRecords merges and writes bounded records. It
// reads the stored state with BatchGetItem (eventually consistent), skips
// unchanged records without writing, merges the rest in memory and writes
// each decision with conditional writes; a decision whose conditions fail
// is re-read (consistently), re-merged and retried, bounded, with jitter.
// The result has one Applied per record, in order.
func (s *Store) applyRecords(ctx context.Context, t Target, recs []source.Record, now time.Time) ([]Applied, error) {
	ids := make([]merge.Identity, len(recs))
	for i, r := range recs {
		ids[i] = merge.Identify(r, t.Conn.DefaultRegion)
	}
	// Links first: a re-sync's unchanged records end there (0.5 RCU each,
	// no write); only the others need their phones, emails and contacts.
	ld := newLoaded()
	ld.dry = t.dry
	if err := s.loadLinks(ctx, t.TenantID, t.Conn, recs, ld); err != nil {
		return nil, err
	}
	var changed []source.Record
	var changedIDs []merge.Identity
	for i, r := range recs {
		lk := merge.LinkKey{ConnectionID: t.Conn.ID, ExternalID: r.ExternalID}
		li, ok := ld.links[lk]
		if !ok || r.Deleted || li.AppliedHash != appliedHash(r, t.Conn, t.WriteBack) {
			changed = append(changed, r)
			changedIDs = append(changedIDs, ids[i])
		} else {
			// Unchanged: it ends at its link (ld.links). Its contact is not
			// the merge's business, so it must not pull that contact and its
			// identifiers into the load below.
			delete(ld.state.Links, lk)
		}
	}
	if len(changed) > 0 {
		if err := s.loadWith(ctx, t.TenantID, t.Conn, changed, changedIDs, false, true, ld); err != nil {
			return nil, err
		}
	}
	out := make([]Applied, len(recs))
	var side pendingWrites // guarded by mu
	groups := groupRecords(t.Conn.ID, recs, ids, ld)
	var (
		mu       sync.Mutex // guards ld
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
	)
	sem := make(chan struct{}, pageConcurrency)
	for _, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var mg merge.Merger // this goroutine's: its decisions reuse one buffer
			for _, i := range g {
				a, err := s.applyOne(ctx, t, recs[i], ids[i], ld, &side, &mu, &mg, now)
				if rejected(err) {
					// This record's write can never succeed: it is the
					// record's problem, not the page's.
					out[i] = Applied{Decision: merge.Decision{Outcome: merge.Invalid, Reason: ReasonWriteRejected, At: now}}
					continue
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("record %s: %w", recs[i].ExternalID, err) })
					return
				}
				a.Decision.Mutations = nil // written; the next merge reuses them
				out[i] = a
			}
		}()
	}
	wg.Wait()
	for i := range out {
		out[i].Identity = ids[i]
	}
	// The side writes of every decision that committed, batched: links last.
	if err := s.batchWrite(ctx, side.first); err != nil {
		return nil, errors.Join(firstErr, err)
	}
	for _, it := range side.firstLinks {
		if err := s.putFirstLink(ctx, t, it.item, it.heldHash, now); err != nil {
			return nil, errors.Join(firstErr, err)
		}
	}
	if err := s.batchWrite(ctx, side.last); err != nil {
		return nil, errors.Join(firstErr, err)
	}
	if t.dry != nil {
		t.dry.mark(side.dryKeys...)
	}
	return out, firstErr
}

// rewriteMemberships puts a contact's group memberships (and group list
// entries) again, from its sources: the recovery of a page that crashed
// between a contact's transaction and its batched side writes.
func (s *Store) rewriteMemberships(ctx context.Context, tenant string, c merge.Contact) error {
	var fx effects
	fx.contactID = c.ID
	for _, l := range c.Sources {
		for _, name := range l.Groups {
			fx.groupsAdd = append(fx.groupsAdd, merge.Group{Label: l.Label, Name: name})
		}
		if l.Guest {
			fx.groupsAdd = append(fx.groupsAdd, merge.Group{Label: l.Label, Name: merge.GuestsGroup})
		}
	}
	if len(fx.groupsAdd) == 0 {
		return nil
	}
	first, _, err := s.sideWrites(tenant, fx, nil)
	if err != nil {
		return err
	}
	return s.batchWrite(ctx, first)
}

// pendingWrites collects a page's side writes.
type pendingWrites struct {
	first, last []types.WriteRequest
	firstLinks  []firstLink // webhooks: first links, conditioned (putFirstLink)
	dryKeys     []string    // a dry run: the original keys of last's scratch writes
}

// firstLink is the first link item of a source record, and the applied
// hash of the held deltas it replaces ("" when there were none).
type firstLink struct {
	item     linkItem
	heldHash string
}

// putFirstLink writes a source record's first link, conditioned on the
// link item being as read (absent, or holding the deltas read). When a
// partial record held deltas on it meanwhile (a tag webhook that raced
// the customer's create), the link is written all the same and those
// deltas are applied to the now linked record, so none is lost.
func (s *Store) putFirstLink(ctx context.Context, t Target, it linkItem, heldHash string, now time.Time) error {
	av, err := marshalMap(it)
	if err != nil {
		return err
	}
	put := &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	if heldHash != "" {
		put.ConditionExpression = aws.String("attribute_not_exists(contactId) AND appliedHash = :h")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: heldHash}}
	}
	err = s.writeOne(ctx, types.TransactWriteItem{Put: put})
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
	if err := s.put(ctx, av); err != nil {
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
	_, err = s.ApplyRecord(ctx, t, delta, now)
	return err
}

// ApplyRecord merges and writes one record (webhooks).
func (s *Store) ApplyRecord(ctx context.Context, t Target, rec source.Record, now time.Time) (Applied, error) {
	out, err := s.ApplyRecords(ctx, t, []source.Record{rec}, now)
	if err != nil {
		return Applied{}, err
	}
	return out[0], nil
}

func (s *Store) applyOne(ctx context.Context, t Target, rec source.Record, id merge.Identity, ld *loaded, side *pendingWrites, mu *sync.Mutex, mg *merge.Merger, now time.Time) (Applied, error) {
	lk := merge.LinkKey{ConnectionID: t.Conn.ID, ExternalID: rec.ExternalID}
	hash := appliedHash(rec, t.Conn, t.WriteBack)
	for attempt := 1; ; attempt++ {
		mu.Lock()
		link, linked := ld.links[lk]
		if linked && link.AppliedHash == hash && !rec.Deleted {
			mu.Unlock()
			a := Applied{Decision: merge.Decision{Outcome: merge.Unchanged, Reason: merge.ReasonDuplicate, ContactID: link.ContactID}}
			if t.RunID != "" && link.RunID == t.RunID {
				// A retried page: count what this run did.
				a.Decision.Outcome = merge.Outcome(link.Outcome)
				a.Counted, a.Pending = countedOf(link.Purposes), link.Pending
			}
			return a, nil
		}
		snap := ld.snapshot(id, lk)
		d := mg.Merge(merge.Input{Record: rec, Identity: id, Connection: t.Conn, Now: now, NewID: NewID("c_"), State: snap.state, KeepDeltaBase: t.keepDeltaBase})
		after := merge.Apply(snap.state, d)
		mu.Unlock()

		if len(d.Mutations) == 0 {
			// Nothing to change; make sure the link remembers this content
			// (first sight after a crash, or a link item lost).
			if d.ContactID != "" && d.Outcome != merge.Invalid && !rec.Deleted {
				mu.Lock()
				mark, marked := ld.marks[d.ContactID]
				c := snap.state.Contacts[d.ContactID]
				mu.Unlock()
				crashed := marked && t.RunID != "" && mark.RunID == t.RunID && mark.ConnectionID == t.Conn.ID && mark.ExternalID == rec.ExternalID
				var again Applied // what the crashed application did, counted again
				if crashed {
					again.Counted, again.Pending = countedOf(mark.Purposes), mark.Pending
					// This run wrote the contact for this record and crashed
					// before its link: count what it did, and redo the side
					// writes it may have lost (idempotent puts).
					d.Outcome = merge.Outcome(mark.Outcome)
					if t.dry == nil {
						if err := s.rewriteMemberships(ctx, t.TenantID, c); err != nil {
							return Applied{}, err
						}
					}
				}
				if !crashed && linked && link.ContactID == d.ContactID && rec.IsPartial() {
					// A partial record the contact already reflects (a
					// Klaviyo list member page, a Shopify tag or consent
					// webhook): the link item keeps the full record's hash,
					// so that record's next sync stays free instead of the
					// two taking turns.
					return writeBackDue(t, rec, id, snap.state, Applied{Decision: d}), nil
				}
				li := linkItem{PK: linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), SK: skLink, ContactID: d.ContactID,
					AppliedHash: hash, UpdatedAt: rec.UpdatedAt, RunID: t.RunID, Outcome: string(d.Outcome)}
				if crashed {
					li.Purposes, li.Pending = mark.Purposes, mark.Pending
				}
				av, err := marshalMap(li)
				if err != nil {
					return Applied{}, err
				}
				if t.dry != nil {
					av = t.dry.item(av)
				}
				if err := s.put(ctx, av); err != nil {
					return Applied{}, err
				}
				if t.dry != nil {
					t.dry.mark(li.PK + "|" + li.SK)
				}
				mu.Lock()
				ld.links[lk] = li
				mu.Unlock()
				return writeBackDue(t, rec, id, snap.state, Applied{Decision: d, Wrote: true, Counted: again.Counted, Pending: again.Pending}), nil
			}
			return Applied{Decision: d}, nil
		}
		if s.beforeWrite != nil {
			s.beforeWrite()
		}
		fx, err := s.writeDecision(ctx, t, rec, snap, d, after, now)
		if errors.Is(err, errStale) {
			if attempt >= s.maxAttempts {
				return Applied{}, fmt.Errorf("%w after %d attempts", ErrConflict, attempt)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return Applied{}, err
			}
			if err := s.reload(ctx, t, rec, id, ld, mu); err != nil {
				return Applied{}, err
			}
			continue
		}
		if err != nil {
			return Applied{}, err
		}
		if fx.linkPut != nil && linked && link.ContactID == d.ContactID && rec.IsPartial() {
			// A partial record: the link item keeps the applied hash and
			// time of the full record, whose next sync then stays free.
			fx.linkPut.AppliedHash, fx.linkPut.UpdatedAt = link.AppliedHash, link.UpdatedAt
		}
		if s.afterWrite != nil {
			if err := s.afterWrite(); err != nil {
				return Applied{}, err // a crash between the transaction and the side writes
			}
		}
		if err := s.staleOnOptOut(ctx, t.TenantID, lk, d, after); err != nil {
			return Applied{}, err
		}
		// A webhook's first link is conditioned (putFirstLink): a partial
		// record may hold deltas on it meanwhile. Bulk pages batch theirs.
		sfx := fx
		cond := t.RunID == "" && fx.linkCond && fx.linkPut != nil
		if cond {
			sfx.linkPut = nil
		}
		var first, last []types.WriteRequest
		var dryKeys []string
		if t.dry != nil {
			// A dry run keeps only the link, in its scratch space
			// (sideWrites would also note groups as known).
			last, dryKeys, err = s.dryLinkWrites(t, rec, fx)
		} else {
			first, last, err = s.sideWrites(t.TenantID, sfx, keyOf(linkPK(t.TenantID, t.Conn.ID, rec.ExternalID), skLink))
		}
		if err != nil {
			return Applied{}, err
		}
		mu.Lock()
		side.first = append(side.first, first...)
		side.last = append(side.last, last...)
		side.dryKeys = append(side.dryKeys, dryKeys...)
		if cond {
			side.firstLinks = append(side.firstLinks, firstLink{item: *fx.linkPut, heldHash: fx.heldHash})
		}
		ld.absorb(snap.state, after, d, fx, lk)
		mu.Unlock()
		pending := false
		if c, ok := after.Contacts[d.ContactID]; ok && d.ContactID != "" {
			pending = merge.Status(c, after.Ledger(c.Phone)) == consent.Pending
		}
		return writeBackDue(t, rec, id, after, Applied{Decision: d, Messages: fx.messages, Wrote: true, Pending: pending}), nil
	}
}

// staleOnOptOut marks the links of the other source records of a contact
// whose number this decision unsubscribed (a source's own opt-out: a
// marketing tool's unsubscribe) with StaleLink, so each of their
// connections' next sync applies them again and writes the opt-out back to
// those that still show the number subscribed, instead of finding them
// unchanged. A flip to unsubscribed is rare; nothing else pays for it.
func (s *Store) staleOnOptOut(ctx context.Context, tenant string, self merge.LinkKey, d merge.Decision, after merge.State) error {
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
			if err := s.StaleLink(ctx, tenant, l.ConnectionID, l.ExternalID); err != nil {
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

// reload re-reads everything one record touches with consistent reads and
// replaces it in ld.
func (s *Store) reload(ctx context.Context, t Target, rec source.Record, id merge.Identity, ld *loaded, mu *sync.Mutex) error {
	fresh := newLoaded()
	fresh.dry = ld.dry
	if err := s.load(ctx, t.TenantID, t.Conn, []source.Record{rec}, []merge.Identity{id}, true, fresh); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	lk := merge.LinkKey{ConnectionID: t.Conn.ID, ExternalID: rec.ExternalID}
	if li, ok := fresh.links[lk]; ok {
		ld.links[lk] = li
	} else {
		delete(ld.links, lk)
	}
	// Forget what ld believed about the record's keys, then take the fresh view.
	for _, p := range []string{id.Phone} {
		if p != "" {
			delete(ld.state.Phones, p)
			delete(ld.state.Ledgers, p)
			delete(ld.phoneVer, p)
		}
	}
	if id.EmailKey != "" {
		delete(ld.state.Emails, id.EmailKey)
		delete(ld.emailOwn, id.EmailKey)
	}
	delete(ld.state.Links, lk)
	delete(ld.state.Held, lk)
	for cid := range fresh.state.Contacts {
		delete(ld.state.Contacts, cid)
	}
	ld.merge(fresh)
	return nil
}

// merge copies every entry of o into l.
func (l *loaded) merge(o *loaded) {
	for k, v := range o.state.Contacts {
		l.state.Contacts[k] = v
	}
	for k, v := range o.state.Phones {
		l.state.Phones[k] = v
	}
	for k, v := range o.state.Emails {
		l.state.Emails[k] = v
	}
	for k, v := range o.state.Links {
		l.state.Links[k] = v
	}
	for k, v := range o.state.Ledgers {
		l.state.Ledgers[k] = v
	}
	for k, v := range o.state.Held {
		l.state.Held[k] = v
	}
	for k, v := range o.links {
		l.links[k] = v
	}
	for k, v := range o.marks {
		l.marks[k] = v
	}
	for k, v := range o.phoneVer {
		l.phoneVer[k] = v
	}
	for k, v := range o.emailOwn {
		l.emailOwn[k] = v
	}
}

// snapshot is the part of the loaded state one record can touch, with the
// stored versions and owners its conditional writes check.
type snapshot struct {
	state    merge.State
	phoneVer map[string]int64
	emailOwn map[string]string
	// link is the record's link item as read (read: it exists), which a
	// held or first link is conditioned on.
	link     linkItem
	linkRead bool
}

// snapshot extracts what one record can touch: its link, phone and email,
// the contacts they point to, and those contacts' own identifiers and
// ledgers. Merge and Apply then work on small private maps.
func (l *loaded) snapshot(id merge.Identity, lk merge.LinkKey) snapshot {
	snap := snapshot{
		state: merge.State{
			Contacts: map[string]merge.Contact{}, Phones: map[string]string{}, Emails: map[string]string{},
			Links: map[merge.LinkKey]string{}, Ledgers: map[string]consent.Ledger{},
			Held: map[merge.LinkKey]merge.Link{},
		},
		phoneVer: map[string]int64{}, emailOwn: map[string]string{},
	}
	snap.link, snap.linkRead = l.links[lk]
	if h, ok := l.state.Held[lk]; ok {
		snap.state.Held[lk] = h
	}
	sub := snap.state
	addPhone := func(p string) {
		if p == "" {
			return
		}
		snap.phoneVer[p] = l.phoneVer[p]
		if owner, ok := l.state.Phones[p]; ok {
			sub.Phones[p] = owner
		}
		if led, ok := l.state.Ledgers[p]; ok {
			sub.Ledgers[p] = led
		}
	}
	addEmail := func(e string) {
		if e == "" {
			return
		}
		snap.emailOwn[e] = l.emailOwn[e]
		if owner, ok := l.state.Emails[e]; ok {
			sub.Emails[e] = owner
		}
	}
	addContact := func(cid string) {
		c, ok := l.state.Contacts[cid]
		if !ok || cid == "" {
			return
		}
		if _, done := sub.Contacts[cid]; done {
			return
		}
		sub.Contacts[cid] = c
		for _, s := range c.Sources {
			sub.Links[s.Key()] = cid
		}
		addPhone(c.Phone)
		addEmail(c.EmailKey)
	}
	addPhone(id.Phone)
	addEmail(id.EmailKey)
	if cid, ok := l.state.Links[lk]; ok {
		sub.Links[lk] = cid
		addContact(cid)
	}
	addContact(sub.Phones[id.Phone])
	addContact(sub.Emails[id.EmailKey])
	return snap
}

// absorb folds a written decision back into ld: the after-state of the
// record's keys with the versions the writes gave them.
func (l *loaded) absorb(before, after merge.State, d merge.Decision, fx effects, lk merge.LinkKey) {
	for cid := range before.Contacts {
		if _, ok := after.Contacts[cid]; !ok {
			l.dropContact(cid)
			delete(l.state.Contacts, cid)
		}
	}
	for cid, c := range after.Contacts {
		old, existed := before.Contacts[cid]
		if touched(d, cid) {
			if existed {
				c.Version = old.Version + 1
			} else {
				c.Version = 1
			}
		}
		l.state.Contacts[cid] = c
	}
	written := map[string]bool{}
	for _, m := range d.Mutations {
		switch m.Kind {
		case merge.MutClaimPhone, merge.MutReleasePhone:
			written[m.Value] = true
		case merge.MutConsent:
			written[m.Consent.Phone] = true
		}
	}
	for p := range written {
		l.phoneVer[p]++
		if owner, ok := after.Phones[p]; ok {
			l.state.Phones[p] = owner
		} else {
			delete(l.state.Phones, p)
		}
		led := after.Ledger(p)
		led.Version = l.phoneVer[p]
		l.state.Ledgers[p] = led
	}
	for e := range before.Emails {
		if _, ok := after.Emails[e]; !ok {
			delete(l.state.Emails, e)
			l.emailOwn[e] = ""
		}
	}
	for e, owner := range after.Emails {
		l.state.Emails[e] = owner
		l.emailOwn[e] = owner
	}
	for k, cid := range after.Links {
		l.state.Links[k] = cid
	}
	if fx.linkDel {
		delete(l.links, lk)
		delete(l.state.Links, lk)
	}
	if fx.linkPut != nil {
		l.links[lk] = *fx.linkPut
		delete(l.state.Held, lk)
	}
	if fx.held != nil {
		l.links[lk] = *fx.held
		l.state.Held[lk] = *fx.held.Held
	}
	if fx.heldDel {
		delete(l.links, lk)
		delete(l.state.Held, lk)
	}
}

func touched(d merge.Decision, cid string) bool {
	for _, m := range d.Mutations {
		if m.ContactID == cid && m.Kind != merge.MutConsent && m.Kind != merge.MutQueueMessage {
			return true
		}
	}
	return false
}

// groupRecords partitions record indexes into groups that share no key
// (link, phone, email or referenced contact); each group keeps page order.
func groupRecords(conn string, recs []source.Record, ids []merge.Identity, ld *loaded) [][]int {
	parent := make([]int, len(recs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	claim := func(key string, i int) {
		if key[2:] == "" {
			return // no identifier of this kind: nothing shared
		}
		if j, ok := owner[key]; ok {
			parent[find(i)] = find(j)
			return
		}
		owner[key] = i
	}
	for i, r := range recs {
		lk := merge.LinkKey{ConnectionID: conn, ExternalID: r.ExternalID}
		claim("l:"+r.ExternalID, i)
		claim("p:"+ids[i].Phone, i)
		claim("e:"+ids[i].EmailKey, i)
		for _, cid := range []string{ld.state.Links[lk], ld.state.Phones[ids[i].Phone], ld.state.Emails[ids[i].EmailKey]} {
			if cid != "" {
				claim("c:"+cid, i)
				if c, ok := ld.state.Contacts[cid]; ok {
					claim("p:"+c.Phone, i)
					claim("e:"+c.EmailKey, i)
				}
			}
		}
	}
	byRoot := map[int][]int{}
	var roots []int
	for i := range recs {
		r := find(i)
		if _, ok := byRoot[r]; !ok {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], i)
	}
	out := make([][]int, len(roots))
	for i, r := range roots {
		out[i] = byRoot[r]
	}
	return out
}
