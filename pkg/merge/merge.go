package merge

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// Merge decides what the record in does to the contacts of in.State
// (design.md §3). It is deterministic, reads in.State only and returns
// the mutations to apply. See the package documentation for the rules.
// The decision is its own: each call merges with a fresh Merger.
func Merge(in Input) Decision {
	var mg Merger
	return mg.Merge(in)
}

// Merger merges records like Merge, but reuses the memory of its decisions:
// a warm Merger allocates nothing for a decision of its own (the consent
// package still allocates a changed ledger's lists). The Decision a call
// returns, with its mutations and what they point to, is valid until the
// next call; copy what must outlive it. The zero Merger is ready; it is not
// safe for concurrent use (use one per goroutine).
type Merger struct {
	muts    []Mutation
	put     Link // the decision's MutPutLink link
	removed Link // its MutRemoveLink link
	cu      ConsentUpdate
	keys    fieldKeys // the record's custom field names, gathered by the hash
}

// Merge decides what the record in does (see the package-level Merge).
func (mg *Merger) Merge(in Input) Decision {
	mg.muts = mg.muts[:0]
	m := merger{in: in, sink: mg}
	return m.run()
}

func (m *merger) run() Decision {
	m.d.At = m.in.Now
	m.init()
	if m.in.Record.Deleted {
		return m.remove()
	}
	return m.upsert()
}

// merger carries one Merge call.
type merger struct {
	in    Input // by value: a pointer would move it to the heap
	label string
	key   LinkKey

	linked  bool    // the record's link exists and its contact is in State
	linkedC Contact // the linked contact
	oldLink Link    // the link as stored on linkedC
	held    Link    // the deltas held for the record while it is not linked
	hasHeld bool
	d       Decision
	changed bool // the contact itself changed (not just the link's hash)

	claimedEmail string // the email this decision claims for the target

	// phoneTaken, emailTaken: match found the record's phone or email
	// claimed (by any contact, loaded or not); claims reads them.
	phoneTaken, emailTaken bool
	// byPhone: match chose the contact that has the record's phone.
	byPhone bool

	sink *Merger // receives the mutations and what they point to
}

func (m *merger) init() {
	m.label = cmp.Or(m.in.Connection.Label, m.in.Record.Label, m.in.Record.Platform.DefaultLabel())
	connID := cmp.Or(m.in.Connection.ID, m.in.Record.ConnectionID)
	m.key = LinkKey{ConnectionID: connID, ExternalID: m.in.Record.ExternalID}
	id, ok := m.in.State.Links[m.key]
	if !ok {
		m.held, m.hasHeld = m.in.State.Held[m.key]
		return
	}
	if m.linkedC, ok = m.in.State.Contacts[id]; !ok {
		return
	}
	for i := range m.linkedC.Sources {
		if l := &m.linkedC.Sources[i]; l.ConnectionID == connID && l.ExternalID == m.key.ExternalID {
			m.linked, m.oldLink = true, *l
			return
		}
	}
	m.linkedC = Contact{}
}

func (m *merger) add(mu Mutation) { m.sink.muts = append(m.sink.muts, mu) }

// decision returns m.d with the mutations collected in the Merger.
func (m *merger) decision() Decision {
	if len(m.sink.muts) > 0 {
		m.d.Mutations = m.sink.muts
	}
	return m.d
}

// remove handles a record deleted at the source: the source leaves the
// contact, and the contact goes when no source and no hub data remain. The
// phone's ledger stays (opt-outs are never deleted).
func (m *merger) remove() Decision {
	if !m.linked {
		m.d = Decision{Outcome: Unchanged, Reason: ReasonNotLinked, At: m.in.Now}
		if m.hasHeld {
			m.dropHeld() // deleted before it was ever linked: nothing to keep
		}
		return m.decision()
	}
	if m.olderThanLink() {
		return Decision{Outcome: Unchanged, Reason: ReasonOlderThan, ContactID: m.linkedC.ID, At: m.in.Now}
	}
	m.detach(&m.linkedC, true)
	m.d.Outcome, m.d.ContactID = Updated, m.linkedC.ID
	if m.d.Reason == "" {
		m.d.Reason = ReasonSourceRemoved
	}
	return m.decision()
}

// detach removes the record's link from c (with the group memberships only
// it gave) and, when mayDelete, deletes c when nothing else keeps it.
func (m *merger) detach(c *Contact, mayDelete bool) {
	m.add(Mutation{Kind: MutRemoveLink, ContactID: c.ID, Link: m.removedLink(m.oldLink)})
	m.groupDiff(c, &m.oldLink, &Link{})
	if len(c.Sources) > 1 || c.HubData || !mayDelete {
		return
	}
	if c.Phone != "" {
		m.add(Mutation{Kind: MutReleasePhone, ContactID: c.ID, Value: c.Phone})
	}
	if c.EmailKey != "" {
		m.add(Mutation{Kind: MutReleaseEmail, ContactID: c.ID, Value: c.EmailKey})
	}
	m.add(Mutation{Kind: MutDeleteContact, ContactID: c.ID, At: m.in.Now})
	if c.ID == m.linkedC.ID {
		m.d.Reason = ReasonContactGone
	}
}

// removedLink returns where the decision keeps the link it removes.
func (m *merger) removedLink(l Link) *Link {
	m.sink.removed = l
	return &m.sink.removed
}

func (m *merger) olderThanLink() bool {
	return !m.in.Record.UpdatedAt.IsZero() && m.in.Record.UpdatedAt.Before(m.oldLink.UpdatedAt)
}

// upsert handles a created or updated record.
func (m *merger) upsert() Decision {
	hash := contentHash(&m.in.Record, &m.sink.keys)
	partial := m.in.Record.IsPartial()
	if m.linked {
		switch {
		case !partial && m.olderThanLink():
			// The contact keeps the newer record, but consent is ordered by
			// the ledger itself: a timestamped signal still counts. A stale
			// signal without a timestamp cannot be ordered and is dropped.
			m.d.Outcome, m.d.Reason, m.d.ContactID = Unchanged, ReasonOlderThan, m.linkedC.ID
			if !m.in.Record.Consent.At.IsZero() {
				m.consent(m.in.Identity.Phone)
			}
			return m.decision()
		case hash == m.oldLink.Hash:
			return Decision{Outcome: Unchanged, Reason: ReasonDuplicate, ContactID: m.linkedC.ID, At: m.in.Now}
		case partial && deltaBase(&m.in.Record) == m.oldLink.DeltaBase && (!m.in.Record.IsGroupDelta() || m.deltaHeld()):
			// The partial record applied last, again (a replayed consent
			// webhook, a member page whose group the link has).
			return Decision{Outcome: Unchanged, Reason: ReasonDuplicate, ContactID: m.linkedC.ID, At: m.in.Now}
		}
	}
	var target Contact
	var create, ok bool
	switch {
	case partial && m.linked:
		// Partial records are partial (design.md §3): what the record
		// carries updates the contact its source record is linked to; its
		// identifiers only fill what that contact lacks, when free. No
		// re-match, no moved link, no deleted contact.
		target, ok = m.linkedC, true
		m.taken()
	case partial && m.in.Identity == (Identity{}):
		// Nothing to match and no contact yet: hold the deltas for the
		// full record. (One whose identifiers are all invalid is invalid,
		// as its full record will be.)
		return m.hold()
	default:
		// A full record, or a partial one that is not linked yet and
		// carries identifiers (a Klaviyo member page carries the profile,
		// Shopify's consent topic the phone): matched from what it carries.
		target, create, ok = m.match()
	}
	if !ok {
		return Decision{Outcome: Invalid, Reason: ReasonNoIdentifier, PhoneReason: m.in.Identity.PhoneReason, At: m.in.Now}
	}
	if m.linked && m.linkedC.ID != target.ID {
		// The source record now lands on another contact (only a full
		// record moves it): it leaves the old one. When the phone rule
		// chose the contact, no contact is deleted (design.md §3): the old
		// one keeps what is its own, its email first.
		m.detach(&m.linkedC, !m.byPhone)
		m.linked, m.oldLink = false, Link{}
	}
	if create {
		m.add(Mutation{Kind: MutCreateContact, ContactID: target.ID, At: m.in.Now})
		m.changed = true
	}
	m.claims(&target)
	if p := m.in.Identity.Phone; p != "" && target.Phone != p && m.phoneTaken && m.d.Reason == "" {
		// The record's phone belongs to another contact and stays there
		// (a partial record never re-matches): the report says so.
		m.d.Reason = ReasonPhoneConflict
	}
	m.fields(&target)
	m.link(&target, hash)
	phone := m.in.Identity.Phone
	if phone == "" && partial && m.linked && m.in.Record.Consent.State != source.SignalNone {
		// A partial record's consent without its phone (a Klaviyo consent
		// event names only the profile) speaks for the number of the
		// contact its source record is linked to (loaded with it).
		phone = target.Phone
	}
	if m.consent(phone) && target.Phone == phone {
		m.changed = true // the contact's status changed
	}
	m.d.ContactID = target.ID
	m.d.PhoneReason = m.in.Identity.PhoneReason
	switch {
	case create:
		m.d.Outcome = Created
	case m.changed:
		m.d.Outcome = Updated
	default:
		m.d.Outcome = Unchanged
		if m.d.Reason == "" {
			m.d.Reason = ReasonNoChange
		}
	}
	return m.decision()
}

// match applies the matching rules (design.md §3) and returns the target
// contact (a new, empty one when create), and sets m.newPhone/Reason. ok is
// false when the record has no identifier and no link.
func (m *merger) match() (target Contact, create, ok bool) {
	st := &m.in.State
	phone, email := m.in.Identity.Phone, m.in.Identity.EmailKey
	var pOwner, eOwner Contact
	var hasP, hasE bool
	if phone != "" {
		pOwner, hasP = m.owner(st.Phones, phone)
		m.phoneTaken = hasP
	}
	if email != "" {
		eOwner, hasE = m.owner(st.Emails, email)
		m.emailTaken = hasE
	}
	fresh := Contact{ID: m.in.NewID}
	switch {
	case phone == "" && email == "":
		if m.linked {
			return m.linkedC, false, true
		}
		return Contact{}, false, false
	case email == "": // only phone
		if hasP {
			m.byPhone = true
			return pOwner, false, true
		}
		return fresh, true, true
	case phone == "": // only email
		if hasE {
			return eOwner, false, true
		}
		return fresh, true, true
	case !hasP && !hasE: // neither known
		return fresh, true, true
	case hasP && hasE && pOwner.ID == eOwner.ID:
		return pOwner, false, true
	case hasP: // the phone's contact, whatever the record's email
		// Its own email stays; the record's is attached only when the
		// contact has none and it is free (claims). No contact is created
		// or deleted.
		m.byPhone = true
		if hasE || pOwner.EmailKey != "" {
			m.d.Reason = ReasonEmailConflict
		}
		return pOwner, false, true
	default: // the email is known, the phone is free
		if eOwner.Phone == "" {
			return eOwner, false, true
		}
		m.d.Reason = ReasonEmailConflict
		return fresh, true, true
	}
}

// owner returns the contact owning key in claims (the linked contact,
// usually, which init has already looked up).
func (m *merger) owner(claims map[string]string, key string) (Contact, bool) {
	id, ok := claims[key]
	if !ok {
		return Contact{}, false
	}
	if m.linked && id == m.linkedC.ID {
		return m.linkedC, true
	}
	c, ok := m.in.State.Contacts[id]
	if !ok {
		// A claim whose contact was not loaded: treat it as owned by an
		// unknown contact so nothing steals it.
		return Contact{ID: id, Phone: "?", EmailKey: "?"}, true
	}
	return c, true
}

// taken records whether the record's identifiers are claimed, for claims
// (match does it while matching).
func (m *merger) taken() {
	if p := m.in.Identity.Phone; p != "" {
		_, m.phoneTaken = m.in.State.Phones[p]
	}
	if e := m.in.Identity.EmailKey; e != "" {
		_, m.emailTaken = m.in.State.Emails[e]
	}
}

// hold handles a partial record without an identifier whose source record
// is not linked yet (a Shopify tag webhook before the customer's create):
// it is skipped, and its group deltas are held on the source record so the
// record that links it applies them. Its consent, without a phone, has no
// number to go to.
func (m *merger) hold() Decision {
	m.d = Decision{Outcome: Skipped, Reason: ReasonUnknownSourceRecord, PhoneReason: m.in.Identity.PhoneReason, At: m.in.Now}
	r := &m.in.Record
	if !r.IsGroupDelta() && !r.Guest {
		return m.d
	}
	n := Link{ConnectionID: m.key.ConnectionID, Label: m.label, ExternalID: m.key.ExternalID,
		Groups: m.held.Groups, Guest: m.held.Guest || r.Guest}
	for _, g := range r.AddGroups {
		if g != "" {
			n.Groups = insertSorted(n.Groups, g)
		}
	}
	for _, g := range r.RemoveGroups {
		n.Groups = removeSorted(n.Groups, g)
	}
	switch {
	case m.hasHeld && sameLink(&m.held, &n):
		return m.d // held already (a replayed delta)
	case len(n.Groups) == 0 && !n.Guest:
		if m.hasHeld {
			m.dropHeld() // the deltas cancel out
		}
		return m.decision()
	}
	m.sink.put = n
	m.add(Mutation{Kind: MutHoldLink, Link: &m.sink.put})
	return m.decision()
}

// dropHeld forgets the deltas held for the record: a MutHoldLink of an
// empty link.
func (m *merger) dropHeld() {
	m.sink.put = Link{ConnectionID: m.key.ConnectionID, Label: m.label, ExternalID: m.key.ExternalID}
	m.add(Mutation{Kind: MutHoldLink, Link: &m.sink.put})
}

// claims attaches the record's free identifiers to target.
func (m *merger) claims(target *Contact) {
	id := m.in.Identity
	if id.Phone != "" && target.Phone == "" && !m.phoneTaken {
		m.add(Mutation{Kind: MutClaimPhone, ContactID: target.ID, Value: id.Phone})
		target.Phone = id.Phone
		m.changed = true
	}
	if id.EmailKey != "" && target.EmailKey == "" && !m.emailTaken {
		m.add(Mutation{Kind: MutClaimEmail, ContactID: target.ID, Value: id.EmailKey})
		target.EmailKey, m.claimedEmail = id.EmailKey, id.EmailKey
		m.changed = true
	}
}

// fields applies "newest source update wins per field; empty never erases".
func (m *merger) fields(c *Contact) {
	at, r := m.in.Record.UpdatedAt, &m.in.Record
	for _, f := range source.ContactFields {
		m.setField(c.ID, f.Name, *c.Core(f.Name), strings.TrimSpace(*f.Of(r)), at)
	}
	if strings.TrimSpace(r.FirstName) == "" && strings.TrimSpace(r.LastName) == "" && c.FirstName.Value == "" && m.in.Identity.Email != "" {
		// Name empty but email present: the first name is the email's local
		// part. It only fills an empty name, at the zero time, so any real
		// name wins over it whatever the order.
		local := m.in.Identity.Email
		if i := strings.LastIndexByte(local, '@'); i > 0 {
			local = local[:i]
		}
		m.setField(c.ID, FieldFirstName, c.FirstName, local, time.Time{})
	}
	if m.in.Identity.EmailKey != "" && (m.in.Identity.EmailKey == c.EmailKey || m.in.Identity.EmailKey == m.claimedEmail) {
		m.setField(c.ID, FieldEmail, c.Email, m.in.Identity.Email, at)
	}
	m.customFields(c, at)
}

// wins decides an incoming value at source time at against the stored
// field: set reports whether to write it, changed whether the value
// changes. Never when empty; always into an empty field; otherwise the
// newer time wins, equal times are broken by the value (so the result does
// not depend on arrival order), and an equal value arriving with a newer
// time moves the field's time forward (so an older different value
// arriving later cannot win).
func wins(stored Field, value string, at time.Time) (set, changed bool) {
	switch {
	case value == "":
		return false, false
	case stored.Value == "":
		return true, true
	case value == stored.Value:
		return at.After(stored.At), false
	case at.Equal(stored.At):
		return value > stored.Value, value > stored.Value
	}
	return at.After(stored.At), at.After(stored.At)
}

func (m *merger) setField(id, name string, stored Field, value string, at time.Time) {
	if set, changed := wins(stored, value, at); set {
		m.add(Mutation{Kind: MutSetField, ContactID: id, Field: name, Value: value, At: at})
		m.changed = m.changed || changed
	}
}

// customFields sets the record's custom fields in key order. Up to
// smallFields names come from the content hash's walk of the map and are
// sorted in place (nothing allocated); more are gathered in a slice.
func (m *merger) customFields(c *Contact, at time.Time) {
	fields := m.in.Record.Fields
	if len(fields) == 0 {
		return
	}
	var keys []string
	if k := &m.sink.keys; k.ok {
		keys = k.k[:k.n] // gathered by contentHash
	} else {
		keys = make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
	}
	insertionSort(keys)
	for _, name := range keys {
		if name == "" || CoreField(name) {
			continue // MapFields moved these to the record's core fields
		}
		value := strings.TrimSpace(fields[name])
		if set, changed := wins(c.Custom[name], value, at); set {
			m.add(Mutation{Kind: MutSetCustom, ContactID: c.ID, Field: name, Value: value, At: at})
			m.changed = m.changed || changed
		}
	}
}

// smallFields is how many custom field names a merge gathers without
// allocating (a connection's field map rarely maps more).
const smallFields = 8

// insertionSort sorts a few strings in place (faster than slices.Sort for
// the handful of custom fields a record has, and it does not allocate).
func insertionSort(xs []string) {
	if len(xs) > smallFields {
		slices.Sort(xs)
		return
	}
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// link writes the record's source link and the group memberships it
// changes. A connection's memberships mirror the source: a full group set
// replaces the link's groups, deltas add and remove.
func (m *merger) link(c *Contact, hash uint64) {
	old := m.oldLink
	n := Link{
		ConnectionID: m.key.ConnectionID,
		Label:        m.label,
		ExternalID:   m.key.ExternalID,
		UpdatedAt:    m.in.Record.UpdatedAt,
		Hash:         hash,
	}
	if old.UpdatedAt.After(n.UpdatedAt) || m.in.Record.IsPartial() {
		// A partial record does not speak for the record's version: the
		// link keeps the full record's time (a later full record with an
		// earlier updated_at than a consent or tag event still applies).
		n.UpdatedAt = old.UpdatedAt
	}
	switch id := &m.in.Identity; {
	case id.EmailKey == "":
		if m.in.Record.IsPartial() {
			n.Email = old.Email // a partial record says nothing about it
		}
	case id.EmailKey != c.EmailKey:
		n.Email = id.Email
	}
	base := old
	if !m.linked && m.hasHeld {
		base = m.held // deltas that arrived before the record was linked
	}
	if m.in.Record.HasGroups {
		n.Groups = sortedUnique(m.in.Record.Groups)
		for _, g := range m.in.Record.KeepGroups {
			// Groups another listing owns (Shopify segments): the full
			// set does not speak for them, so the link keeps them.
			if g != "" && contains(base.Groups, g) {
				n.Groups = insertSorted(n.Groups, g)
			}
		}
		n.Guest = m.in.Record.Guest
	} else {
		n.Groups = base.Groups
		for _, g := range m.in.Record.AddGroups {
			if g != "" {
				n.Groups = insertSorted(n.Groups, g)
			}
		}
		for _, g := range m.in.Record.RemoveGroups {
			n.Groups = removeSorted(n.Groups, g)
		}
		n.Guest = base.Guest || m.in.Record.Guest
		n.DeltaBase = old.DeltaBase
	}
	if m.in.Record.IsPartial() && !m.in.KeepDeltaBase {
		// Remember the partial record's base (its content without deltas).
		n.DeltaBase = deltaBase(&m.in.Record)
	}
	if m.in.Record.IsPartial() && m.linked {
		// The link keeps the full record's hash, so its next sync stays
		// free.
		n.Hash = old.Hash
	}
	if m.linked && sameLink(&old, &n) {
		return // a delta the link already reflects: nothing to write
	}
	m.sink.put = n
	m.add(Mutation{Kind: MutPutLink, ContactID: c.ID, Link: &m.sink.put})
	if !m.linked || old.Label != n.Label {
		m.changed = true // a new source on the contact
	}
	if m.groupDiff(c, &old, &n) {
		m.changed = true
	}
}

// deltaHeld reports whether the linked record's groups already reflect the
// record's deltas.
func (m *merger) deltaHeld() bool {
	r, l := &m.in.Record, &m.oldLink
	if r.Guest && !l.Guest {
		return false
	}
	for _, g := range r.AddGroups { // link() adds, then removes
		if g != "" && !contains(l.Groups, g) && !slices.Contains(r.RemoveGroups, g) {
			return false
		}
	}
	for _, g := range r.RemoveGroups {
		if contains(l.Groups, g) {
			return false
		}
	}
	return true
}

// sameLink reports whether two links of one source record are equal.
func sameLink(a, b *Link) bool {
	return a.Label == b.Label && a.UpdatedAt.Equal(b.UpdatedAt) && a.Guest == b.Guest && a.Email == b.Email &&
		a.Hash == b.Hash && a.DeltaBase == b.DeltaBase && slices.Equal(a.Groups, b.Groups)
}

// groupDiff emits the membership changes of c when its link old becomes n
// (an empty n for a removed link); it reports whether there were any.
func (m *merger) groupDiff(c *Contact, old, n *Link) bool {
	changed := false
	has := func(l *Link, name string) bool {
		if name == GuestsGroup && l.Guest {
			return true
		}
		return contains(l.Groups, name)
	}
	// held reports whether another link of c gives the group label - name.
	held := func(label, name string) bool {
		for i := range c.Sources {
			l := &c.Sources[i]
			if l.Key() == m.key || l.Label != label {
				continue
			}
			if has(l, name) {
				return true
			}
		}
		return false
	}
	visit := func(l *Link, fn func(name string)) {
		for _, g := range l.Groups {
			fn(g)
		}
		if l.Guest && !contains(l.Groups, GuestsGroup) {
			fn(GuestsGroup)
		}
	}
	visit(n, func(name string) {
		if (old.Label == n.Label && has(old, name)) || held(n.Label, name) {
			return
		}
		m.add(groupMutation(MutAddGroup, c.ID, Group{Label: n.Label, Name: name}))
		changed = true
	})
	visit(old, func(name string) {
		if (old.Label == n.Label && has(n, name)) || held(old.Label, name) {
			return
		}
		m.add(groupMutation(MutRemoveGroup, c.ID, Group{Label: old.Label, Name: name}))
		changed = true
	})
	return changed
}

// consent applies the record's consent signal to the ledger of its phone
// (consent belongs to the number, whichever contact holds it). A record
// that says nothing about consent (source.SignalNone) counts as "never
// asked" only for a connection that never spoke for the number, so a new
// contact in an inferred, confirmation or double opt-in connection gets
// the mode's default (design.md §4 table) and nothing else changes. It
// reports whether the number's state changed.
func (m *merger) consent(phone string) bool {
	if phone == "" {
		return false
	}
	ledger := m.in.State.Ledger(phone)
	sig := m.in.Record.Consent
	if sig.State == source.SignalNone {
		if _, spoke := ledger.Signal(m.key.ConnectionID); spoke {
			return false
		}
		sig = source.ConsentSignal{State: source.SignalNeverAsked}
	}
	ev := consent.SignalEvent(m.key.ConnectionID, m.in.Connection.Mode, sig, m.in.Now,
		consent.Evidence{Provider: m.label})
	if ledger.Holds(ev) {
		return false // the common re-sync: the ledger has this signal already
	}
	after, ch := ledger.Apply(ev)
	if ch.IsZero() {
		return false
	}
	m.sink.cu = ConsentUpdate{Phone: phone, Event: ev, Change: ch, Ledger: after}
	m.add(Mutation{Kind: MutConsent, Consent: &m.sink.cu})
	for i := range ch.MessagesDue {
		m.add(Mutation{Kind: MutQueueMessage, Message: &ch.MessagesDue[i]})
	}
	return ch.StateChanged()
}
