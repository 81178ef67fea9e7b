package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// linkItem maps a source record to its contact and remembers what was last
// applied: the applied hash (record content plus the connection settings
// that shape the merge) lets an unchanged record cost one read and no
// write; the run and outcome make counts exact when a page is retried.
type linkItem struct {
	PK          string    `dynamodbav:"PK"`
	SK          string    `dynamodbav:"SK"`
	ContactID   string    `dynamodbav:"contactId,omitempty"`
	AppliedHash string    `dynamodbav:"appliedHash"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt"`
	RunID       string    `dynamodbav:"runId,omitempty"`
	Outcome     string    `dynamodbav:"outcome,omitempty"`
	// Purposes are the purposes of the messages the run's decision made
	// due, and Pending whether its contact then waited for a YES: a page
	// delivered again counts them as that run's (Applied.Counted) instead
	// of losing them.
	Purposes []string `dynamodbav:"purposes,omitempty"`
	Pending  bool     `dynamodbav:"pending,omitempty"`
	// Held is set, and ContactID empty, while the source record is not
	// linked to a contact: the group deltas of partial records that came
	// before the full one (merge.MutHoldLink). AppliedHash is then the
	// last held record's.
	Held *merge.Link `dynamodbav:"held,omitempty"`
	// folded: read from its contact (contactItem.Link), not an item of
	// its own; written there too.
	folded bool `dynamodbav:"-"`
}

type emailItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	ContactID string `dynamodbav:"contactId"`
}

// OutboxRef is the idempotency reference of a due message: one per
// (number, connection, purpose, event time).
func OutboxRef(m consent.Message) string {
	sum := sha256.Sum256([]byte(m.Phone + "|" + m.ConnectionID + "|" + string(m.Purpose) + "|" + m.At.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:16])
}

// appliedHash combines the record's content hash with the settings that
// change what a merge of it produces.
func appliedHash(rec source.Record, conn merge.Connection, writeBack bool) string {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], merge.ContentHash(rec))
	h.Write(b[:])
	fmt.Fprintf(h, "|%s|%s|%s", conn.Label, conn.Mode, conn.DefaultRegion)
	keys := make([]string, 0, len(conn.FieldMap))
	for k := range conn.FieldMap {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "|%s=%s", k, conn.FieldMap[k])
		if t := conn.FieldTypes[k]; t != "" {
			fmt.Fprintf(h, ":%s", t)
		}
	}
	if writeBack {
		fmt.Fprint(h, "|writeback") // absent when off: existing hashes stay
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// loaded is the stored state around a set of records, with the versions and
// owners the conditional writes check.
type loaded struct {
	state    merge.State
	links    map[merge.LinkKey]linkItem
	phoneVer map[string]int64 // E.164 -> stored version (0: no item)
	emailOwn map[string]string
	marks    map[string][]appliedMark // contact id -> its source records' last run applications
	dry      *dryScope                // a dry run's scratch space (nil: none)
	pre      *prefetched              // a delivery's first reads (nil: none)
	// pending: contact id -> the contact item a claim read carries for it
	// (apply_claims.go), to complete it if it is missing.
	pending map[string][]byte
	// lnks: contact id -> its creator's folded link as read (nil: none).
	lnks map[string]*foldedLink
	// creatorTaken: a contact holds the record's creatorID (read with its
	// link): a contact the record creates gets another id.
	creatorTaken map[merge.LinkKey]bool
	// folded: the contact a record's folded link was read from, for a
	// page delivered again to redo its side writes (redoFolded).
	folded map[merge.LinkKey]contactItem
}

func newLoaded() *loaded {
	return &loaded{
		state: merge.State{
			Contacts: map[string]merge.Contact{}, Phones: map[string]string{}, Emails: map[string]string{},
			Links: map[merge.LinkKey]string{}, Ledgers: map[string]consent.Ledger{},
			Held: map[merge.LinkKey]merge.Link{},
		},
		links: map[merge.LinkKey]linkItem{}, phoneVer: map[string]int64{}, emailOwn: map[string]string{},
		marks: map[string][]appliedMark{}, pending: map[string][]byte{},
		lnks: map[string]*foldedLink{}, creatorTaken: map[merge.LinkKey]bool{}, folded: map[merge.LinkKey]contactItem{},
	}
}

// load reads links, phone items, email claims and the contacts they point
// to (and those contacts' own phone and email items) for the given records.
func (s *Store) load(ctx context.Context, tenant string, conn merge.Connection, recs []source.Record, ids []merge.Identity, consistent bool, into *loaded) error {
	return s.loadWith(ctx, tenant, conn, recs, ids, consistent, false, into)
}

// loadPage reads what a page's records need: their links first (a
// re-sync's unchanged records end there, 0.5 RCU each and no write), then
// the phones, emails and contacts of the others.
func (s *Store) loadPage(ctx context.Context, t Target, recs []source.Record, ids []merge.Identity, ld *loaded) error {
	if err := s.loadLinks(ctx, t.TenantID, t.Conn, recs, ld); err != nil {
		return err
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
	if len(changed) == 0 {
		return nil
	}
	return s.loadWith(ctx, t.TenantID, t.Conn, changed, changedIDs, false, true, ld)
}

// loadLinks reads only the records' links: enough to find the unchanged
// records of a re-sync (one eventually consistent read each). A record's
// link is first looked for in the contact its record would have created
// (creatorID: the link folded in), then, for the records without one, in
// its link item: a second read, for the records that matched a contact
// another record created and for the new ones.
func (s *Store) loadLinks(ctx context.Context, tenant string, conn merge.Connection, recs []source.Record, into *loaded) error {
	keys := make([]map[string]types.AttributeValue, len(recs))
	for i, r := range recs {
		keys[i] = keyOf(contactPK(tenant, creatorID(tenant, conn.ID, r.ExternalID)), skContact)
	}
	items, err := s.getItems(ctx, into, keys, false)
	if err != nil {
		return err
	}
	if err := into.takeFolded(items, tenant, conn, recs); err != nil {
		return err
	}
	var rest []source.Record
	var lkeys []map[string]types.AttributeValue
	for _, r := range recs {
		if !into.links[merge.LinkKey{ConnectionID: conn.ID, ExternalID: r.ExternalID}].folded {
			rest = append(rest, r)
			lkeys = append(lkeys, keyOf(linkPK(tenant, conn.ID, r.ExternalID), skLink))
		}
	}
	if len(rest) == 0 {
		return nil
	}
	if items, err = s.getItems(ctx, into, lkeys, false); err != nil {
		return err
	}
	return into.takeLinks(items, tenant, conn, rest)
}

// takeFolded takes the links folded into the contacts at the records'
// creatorIDs, and notes which of those ids a contact holds.
func (l *loaded) takeFolded(items map[string]map[string]types.AttributeValue, tenant string, conn merge.Connection, recs []source.Record) error {
	for _, r := range recs {
		lk := merge.LinkKey{ConnectionID: conn.ID, ExternalID: r.ExternalID}
		item, ok := items[contactPK(tenant, creatorID(tenant, conn.ID, r.ExternalID))+"|"+skContact]
		if !ok {
			continue
		}
		var it contactItem
		if err := unmarshalMap(item, &it); err != nil {
			return err
		}
		l.creatorTaken[lk] = true
		if it.Link == nil || !createdBy(tenant, it.Contact, lk) {
			continue
		}
		l.links[lk] = it.Link.item(tenant, lk, it.Contact.ID)
		l.state.Links[lk] = it.Contact.ID
		delete(l.state.Held, lk)
		l.folded[lk] = it
	}
	return nil
}

func (l *loaded) takeLinks(items map[string]map[string]types.AttributeValue, tenant string, conn merge.Connection, recs []source.Record) error {
	for _, r := range recs {
		lk := merge.LinkKey{ConnectionID: conn.ID, ExternalID: r.ExternalID}
		if l.links[lk].folded {
			continue // the contact's folded link is the record's
		}
		if item, ok := items[linkPK(tenant, conn.ID, r.ExternalID)+"|"+skLink]; ok {
			var it linkItem
			if err := unmarshalMap(item, &it); err != nil {
				return err
			}
			l.links[lk] = it
			switch {
			case it.ContactID != "":
				l.state.Links[lk] = it.ContactID
			case it.Held != nil:
				l.state.Held[lk] = *it.Held
			}
		}
	}
	return nil
}

// loadWith reads what recs can touch; with linksLoaded the links are
// already in into.
func (s *Store) loadWith(ctx context.Context, tenant string, conn merge.Connection, recs []source.Record, ids []merge.Identity, consistent, linksLoaded bool, into *loaded) error {
	var keys []map[string]types.AttributeValue
	for i, r := range recs {
		if !linksLoaded {
			keys = append(keys, keyOf(contactPK(tenant, creatorID(tenant, conn.ID, r.ExternalID)), skContact),
				keyOf(linkPK(tenant, conn.ID, r.ExternalID), skLink))
		}
		if p := ids[i].Phone; p != "" {
			keys = append(keys, keyOf(phonePK(tenant, p), skPhone))
		}
		if e := ids[i].EmailKey; e != "" {
			keys = append(keys, keyOf(emailPK(tenant, e), e))
		}
	}
	items, err := s.getItems(ctx, into, keys, consistent)
	if err != nil {
		return err
	}
	if !linksLoaded {
		if err := into.takeFolded(items, tenant, conn, recs); err != nil {
			return err
		}
		if err := into.takeLinks(items, tenant, conn, recs); err != nil {
			return err
		}
	}
	for i := range recs {
		if err := into.takePhone(items, tenant, ids[i].Phone); err != nil {
			return err
		}
		if err := into.takeEmail(items, tenant, ids[i].EmailKey); err != nil {
			return err
		}
	}
	if err := s.loadSuppressions(ctx, tenant, ids, into); err != nil {
		return err
	}
	return s.loadContacts(ctx, tenant, consistent, into)
}

// loadContacts reads the contacts referenced so far, then their own
// identifiers (two rounds).
func (s *Store) loadContacts(ctx context.Context, tenant string, consistent bool, into *loaded) error {
	for round := 0; round < 2; round++ {
		var ckeys []map[string]types.AttributeValue
		for _, id := range into.referencedContacts() {
			if _, ok := into.state.Contacts[id]; !ok {
				ckeys = append(ckeys, keyOf(contactPK(tenant, id), skContact))
			}
		}
		if len(ckeys) == 0 {
			break
		}
		citems, err := s.getItems(ctx, into, ckeys, consistent)
		if err != nil {
			return err
		}
		if err := s.completeMissing(ctx, tenant, ckeys, citems, into); err != nil {
			return err
		}
		var more []map[string]types.AttributeValue
		for _, item := range citems {
			var it contactItem
			if err := unmarshalMap(item, &it); err != nil {
				return err
			}
			c := it.Contact
			c.Version = it.Version
			into.state.Contacts[c.ID] = c
			into.marks[c.ID] = it.Marks
			into.lnks[c.ID] = it.Link
			for _, l := range c.Sources {
				into.state.Links[l.Key()] = c.ID
			}
			if _, ok := into.phoneVer[c.Phone]; c.Phone != "" && !ok {
				more = append(more, keyOf(phonePK(tenant, c.Phone), skPhone))
			}
			if _, ok := into.emailOwn[c.EmailKey]; c.EmailKey != "" && !ok {
				more = append(more, keyOf(emailPK(tenant, c.EmailKey), c.EmailKey))
			}
		}
		// Contacts that were referenced but do not exist (a claim left by a
		// deleted contact) are recorded as absent so the loop ends.
		for _, k := range ckeys {
			id := strings.TrimPrefix(k["PK"].(*types.AttributeValueMemberS).Value, contactPK(tenant, ""))
			if _, ok := into.state.Contacts[id]; !ok {
				into.dropContact(id)
			}
		}
		if len(more) == 0 {
			continue
		}
		mitems, err := s.getItems(ctx, into, more, consistent)
		if err != nil {
			return err
		}
		for _, c := range into.state.Contacts {
			if err := into.takePhone(mitems, tenant, c.Phone); err != nil {
				return err
			}
			if err := into.takeEmail(mitems, tenant, c.EmailKey); err != nil {
				return err
			}
		}
	}
	return nil
}

// completeMissing completes the referenced contacts that are missing but
// whose claims carry them (completeCreate), adding them to citems and
// their email claims to into. A dry run writes nothing: it sees such a
// claim as a claim left by a deleted contact.
func (s *Store) completeMissing(ctx context.Context, tenant string, ckeys []map[string]types.AttributeValue, citems map[string]map[string]types.AttributeValue, into *loaded) error {
	if into.dry != nil {
		return nil
	}
	for _, k := range ckeys {
		if _, ok := citems[itemKey(k)]; ok {
			continue
		}
		id := strings.TrimPrefix(avString(k["PK"]), contactPK(tenant, ""))
		payload, ok := into.pending[id]
		if !ok {
			continue
		}
		item, err := s.completeCreate(ctx, tenant, id, payload)
		if err != nil || item == nil {
			return err
		}
		citems[itemKey(k)] = item
		var it contactItem
		if err := unmarshalMap(item, &it); err != nil {
			return err
		}
		if e := it.Contact.EmailKey; e != "" && into.emailOwn[e] == "" {
			into.emailOwn[e], into.state.Emails[e] = id, id
		}
	}
	return nil
}

func (l *loaded) takePhone(items map[string]map[string]types.AttributeValue, tenant, p string) error {
	if p == "" {
		return nil
	}
	if _, done := l.phoneVer[p]; done {
		return nil
	}
	item, ok := items[phonePK(tenant, p)+"|"+skPhone]
	if !ok {
		l.phoneVer[p] = 0
		return nil
	}
	var it phoneItem
	if err := unmarshalMap(item, &it); err != nil {
		return err
	}
	rec := phoneRecordFrom(it)
	l.notePending(rec.ContactID, item)
	l.phoneVer[p] = rec.Version
	l.state.Ledgers[p] = rec.Ledger
	if rec.ContactID != "" {
		l.state.Phones[p] = rec.ContactID
	}
	return nil
}

func (l *loaded) takeEmail(items map[string]map[string]types.AttributeValue, tenant, e string) error {
	if e == "" {
		return nil
	}
	if _, done := l.emailOwn[e]; done {
		return nil
	}
	item, ok := items[emailPK(tenant, e)+"|"+e]
	if !ok {
		l.emailOwn[e] = ""
		return nil
	}
	var it emailItem
	if err := unmarshalMap(item, &it); err != nil {
		return err
	}
	l.notePending(it.ContactID, item)
	l.emailOwn[e] = it.ContactID
	l.state.Emails[e] = it.ContactID
	return nil
}

func (l *loaded) referencedContacts() []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range l.state.Links {
		add(id)
	}
	for _, id := range l.state.Phones {
		add(id)
	}
	for _, id := range l.state.Emails {
		add(id)
	}
	return ids
}

// dropContact forgets references to a contact that does not exist.
func (l *loaded) dropContact(id string) {
	for k, v := range l.state.Links {
		if v == id {
			delete(l.state.Links, k)
		}
	}
	for k, v := range l.state.Phones {
		if v == id {
			delete(l.state.Phones, k)
		}
	}
	for k, v := range l.state.Emails {
		if v == id {
			delete(l.state.Emails, k)
		}
	}
}

// loadSuppressions gives numbers without a phone item the opt-out of their
// hashed suppression entry, if any (a number whose data was redacted after
// it opted out): a later sync must still respect it.
func (s *Store) loadSuppressions(ctx context.Context, tenant string, ids []merge.Identity, into *loaded) error {
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if v, ok := into.phoneVer[id.Phone]; id.Phone != "" && ok && v == 0 {
			keys = append(keys, keyOf(suppressionPK(tenant, id.Phone), skSup))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	items, err := s.getItems(ctx, into, keys, false)
	if err != nil {
		return err
	}
	for _, id := range ids {
		item, ok := items[suppressionPK(tenant, id.Phone)+"|"+skSup]
		if !ok || id.Phone == "" {
			continue
		}
		var sup suppressionItem
		if err := unmarshalMap(item, &sup); err != nil {
			return err
		}
		at := sup.At
		if at.IsZero() {
			// Any entry is an opt-out: one stored without a time (before
			// redaction kept source opt-outs' times) counts from now.
			at = s.now()
		}
		l, _ := into.state.Ledger(id.Phone).Apply(consent.OptOutEvent(at, consent.Evidence{Text: sup.Reason, Provider: "suppression"}))
		into.state.Ledgers[id.Phone] = l
	}
	return nil
}

// reload re-reads everything one record touches with consistent reads and
// replaces it in its page's loaded state.
func (s *Store) reload(ctx context.Context, r *applying) error {
	fresh := newLoaded()
	fresh.dry = r.t.dry
	if r.t.Delivery != nil {
		// The delivery's key first, in the same read: a copy of the
		// delivery may have completed it (apply_delivery.go).
		if done, err := s.prefetchDelivery(ctx, r.t, []source.Record{r.rec}, []merge.Identity{r.id}, fresh, true); err != nil || done {
			return cmp.Or(err, errDelivered)
		}
	}
	if err := s.load(ctx, r.t.TenantID, r.t.Conn, []source.Record{r.rec}, []merge.Identity{r.id}, true, fresh); err != nil {
		return err
	}
	r.pg.mu.Lock()
	defer r.pg.mu.Unlock()
	ld, lk, id := r.pg.ld, r.lk, r.id
	if li, ok := fresh.links[lk]; ok {
		ld.links[lk] = li
	} else {
		delete(ld.links, lk)
	}
	delete(ld.folded, lk)
	delete(ld.creatorTaken, lk)
	// Forget what ld believed about the record's keys, then take the fresh view.
	if p := id.Phone; p != "" {
		delete(ld.state.Phones, p)
		delete(ld.state.Ledgers, p)
		delete(ld.phoneVer, p)
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
	maps.Copy(l.state.Contacts, o.state.Contacts)
	maps.Copy(l.state.Phones, o.state.Phones)
	maps.Copy(l.state.Emails, o.state.Emails)
	maps.Copy(l.state.Links, o.state.Links)
	maps.Copy(l.state.Ledgers, o.state.Ledgers)
	maps.Copy(l.state.Held, o.state.Held)
	maps.Copy(l.links, o.links)
	maps.Copy(l.marks, o.marks)
	maps.Copy(l.phoneVer, o.phoneVer)
	maps.Copy(l.emailOwn, o.emailOwn)
	maps.Copy(l.pending, o.pending)
	maps.Copy(l.lnks, o.lnks)
	maps.Copy(l.creatorTaken, o.creatorTaken)
	maps.Copy(l.folded, o.folded)
}

// snapshot is the part of the loaded state one record can touch, with the
// stored versions and owners its conditional writes check.
type snapshot struct {
	state    merge.State
	phoneVer map[string]int64
	emailOwn map[string]string
	// marks are the loaded contacts' run marks (contact id -> marks).
	marks map[string][]appliedMark
	// link is the record's link item as read (read: it exists), which a
	// held or first link is conditioned on.
	link     linkItem
	linkRead bool
	// lnks are the loaded contacts' creators' folded links; creatorTaken:
	// a contact holds the record's creatorID.
	lnks         map[string]*foldedLink
	creatorTaken bool
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
		phoneVer: map[string]int64{}, emailOwn: map[string]string{}, marks: map[string][]appliedMark{},
		lnks: map[string]*foldedLink{},
	}
	snap.link, snap.linkRead = l.links[lk]
	snap.creatorTaken = l.creatorTaken[lk]
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
		snap.marks[cid] = l.marks[cid]
		snap.lnks[cid] = l.lnks[cid]
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
			delete(l.marks, cid)
			delete(l.lnks, cid)
		}
	}
	maps.Copy(l.marks, fx.marks)
	maps.Copy(l.lnks, fx.lnks)
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
	if li := cmp.Or(fx.linkPut, fx.linkFold); li != nil {
		l.links[lk] = *li
		delete(l.state.Held, lk)
	}
	delete(l.folded, lk)
	for _, m := range d.Mutations {
		if m.Kind == merge.MutCreateContact {
			l.creatorTaken[lk] = true // its creatorID, or one for it when that was taken
		}
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
