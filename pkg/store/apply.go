package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// Target says where records are applied: the tenant, the connection's merge
// settings and the run (empty for webhooks).
type Target struct {
	TenantID string
	Conn     merge.Connection
	RunID    string
	// WriteBack: the connection writes opt-outs back to its source
	// (writeBackOptOuts). Each applied record then says whether its
	// number's opt-out is due there (Applied.WriteBack), decided with the
	// ledger the apply path reads anyway; the setting is part of the
	// applied hash, so turning it on makes the next sync look at every
	// record once.
	WriteBack bool
	// DryRun applies the records of run RunID without writing what a real
	// run writes: the decisions go to the run's scratch space (dryrun.go),
	// no message becomes due (Applied.Messages says what would).
	DryRun bool

	dry *dryScope // set by ApplyRecords for a dry run
	// keepDeltaBase: the records are the run end's removals of groups
	// their source record left (merge.Input.KeepDeltaBase).
	keepDeltaBase bool
}

// Applied is the result of applying one record.
type Applied struct {
	// Decision is the record's decision without its mutations (nil: they
	// were written, and their memory is reused for the next record).
	Decision merge.Decision
	// Messages are the SMS that became due; their outbox markers were
	// written with the decision, and the caller enqueues them.
	Messages []consent.Message
	// Wrote is false when the record cost no write (unchanged).
	Wrote bool
	// Identity is what the merge read from the record (zero when the
	// record was refused before it): its report row says why a phone or
	// email was not used, and masks the one in conflict.
	Identity merge.Identity
	// Pending: the record's contact waits for a YES to a double opt-in
	// request (set when the decision was written, or by this run's earlier
	// application of the record).
	Pending bool
	// WriteBack: the target writes opt-outs back and the record still
	// shows its number (Identity.Phone) subscribed while the number is
	// unsubscribed, with no newer explicit opt-in
	// (consent.Ledger.WriteBackDue): the caller writes the opt-out back to
	// it. OptedOutAt is then the time of the opt-out in force.
	WriteBack  bool
	OptedOutAt time.Time
	// Counted are the purposes of the messages this run's earlier
	// application of the record made due (a page delivered again after it
	// was applied): the run counts them as its own, and does not queue them
	// again (their outbox markers were written with that decision).
	Counted []consent.Purpose
}

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
	marks    map[string]appliedMark // contact id -> its last run application
	dry      *dryScope              // a dry run's scratch space (nil: none)
}

func newLoaded() *loaded {
	return &loaded{
		state: merge.State{
			Contacts: map[string]merge.Contact{}, Phones: map[string]string{}, Emails: map[string]string{},
			Links: map[merge.LinkKey]string{}, Ledgers: map[string]consent.Ledger{},
			Held: map[merge.LinkKey]merge.Link{},
		},
		links: map[merge.LinkKey]linkItem{}, phoneVer: map[string]int64{}, emailOwn: map[string]string{},
		marks: map[string]appliedMark{},
	}
}

// load reads links, phone items, email claims and the contacts they point
// to (and those contacts' own phone and email items) for the given records.
func (s *Store) load(ctx context.Context, tenant string, conn merge.Connection, recs []source.Record, ids []merge.Identity, consistent bool, into *loaded) error {
	return s.loadWith(ctx, tenant, conn, recs, ids, consistent, false, into)
}

// loadLinks reads only the records' links: enough to find the unchanged
// records of a re-sync (one eventually consistent read each).
func (s *Store) loadLinks(ctx context.Context, tenant string, conn merge.Connection, recs []source.Record, into *loaded) error {
	keys := make([]map[string]types.AttributeValue, len(recs))
	for i, r := range recs {
		keys[i] = keyOf(linkPK(tenant, conn.ID, r.ExternalID), skLink)
	}
	items, err := s.getItems(ctx, into, keys, false)
	if err != nil {
		return err
	}
	return into.takeLinks(items, tenant, conn, recs)
}

func (l *loaded) takeLinks(items map[string]map[string]types.AttributeValue, tenant string, conn merge.Connection, recs []source.Record) error {
	for _, r := range recs {
		lk := merge.LinkKey{ConnectionID: conn.ID, ExternalID: r.ExternalID}
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
			keys = append(keys, keyOf(linkPK(tenant, conn.ID, r.ExternalID), skLink))
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
	// Contacts referenced so far, then their own identifiers.
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
		var more []map[string]types.AttributeValue
		for _, item := range citems {
			var it contactItem
			if err := unmarshalMap(item, &it); err != nil {
				return err
			}
			c := it.Contact
			c.Version = it.Version
			into.state.Contacts[c.ID] = c
			if it.Applied != nil {
				into.marks[c.ID] = *it.Applied
			}
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
	items, err := s.batchGet(ctx, keys, false)
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
