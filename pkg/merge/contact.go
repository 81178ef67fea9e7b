package merge

import (
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
)

// Hub field names used in set_field mutations and field maps.
const (
	FieldFirstName = "firstName"
	FieldLastName  = "lastName"
	FieldEmail     = "email" // the display form; the claim key is Contact.EmailKey
)

// GuestsGroup is the raw group name guests land in ("<Label> - Guests").
const GuestsGroup = "Guests"

// Field is a stored value with the source time that set it ("a newer source
// update wins per field").
//
// Store: persist Value and At (epoch millis or RFC 3339; zero At = absent).
type Field struct {
	Value string
	At    time.Time
}

// Contact is the stored contact (design.md §3, §6). Consent is not part of
// it: it lives in the consent.Ledger of its phone, and the contact's shown
// status is that ledger's state (see Status).
//
// Store: persist every field as one item keyed by (tenant, ID). Phone and
// EmailKey are also claimed in their own claim items (one contact per phone
// and per email, enforced with attribute_not_exists / owner conditions);
// Sources as a list (or one item per link keyed by (tenant, connection,
// external id)); Groups also as one membership item per group. Write with
// a condition on Version and increment it: merge never changes Version.
type Contact struct {
	ID        string
	FirstName Field // FirstName, LastName ...: source.ContactFields (Core)
	LastName  Field
	Email     Field  // display form as the source sent it (trimmed)
	EmailKey  string // normalised email (trimmed, lower-case): the claim key; "" if none
	Phone     string // E.164: the claim key; "" if none
	// Custom holds custom fields (hub field name -> value), fed by the
	// connection's field map.
	Custom map[string]Field
	// Sources lists the source records that contributed, sorted by
	// (ConnectionID, ExternalID).
	Sources []Link
	// Groups is derived: the sorted union over Sources of
	// "<Label> - <name>" for each group of the link (and "<Label> - Guests"
	// for guest links). Apply keeps it up to date.
	Groups []string
	// HubData is set when the contact carries hub-side data (created or
	// edited in the hub): it then outlives its last source.
	HubData   bool
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64 // optimistic-lock counter, owned by the store
	// Bucket is the store's: the member bundle the contact's group
	// memberships are kept in (pkg/store members.go). Merge keeps it.
	Bucket string
}

// Core returns the contact's core field of that hub name (one of
// source.ContactFields, or FieldEmail); nil for another name.
func (c *Contact) Core(name string) *Field {
	switch name {
	case FieldFirstName:
		return &c.FirstName
	case FieldLastName:
		return &c.LastName
	case FieldEmail:
		return &c.Email
	}
	return nil
}

// Link is one source record of a contact: what a connection said about it
// last.
//
// Store: persist every field, keyed by (tenant, ConnectionID, ExternalID)
// -> contact id; Hash lets a re-sync of an unchanged record cost one read
// and no write.
type Link struct {
	ConnectionID string
	Label        string // the source label ("Shopify"): contact.sources, group prefix
	ExternalID   string
	UpdatedAt    time.Time // the source's updated_at of the last applied record
	// Groups is the source's own group set for this record: raw names
	// (without the "<Label> - " prefix), sorted, unique.
	Groups []string
	Guest  bool   // a guest record: member of "<Label> - Guests"
	Hash   uint64 // ContentHash of the last applied full record
	// DeltaBase is the content hash, without its group deltas, of the last
	// group-delta record applied (source.Record.AddGroups/RemoveGroups
	// without HasGroups): a Klaviyo list member page or a Shopify tag
	// webhook. A delta with the same base whose groups the link already
	// reflects changes nothing, so the deltas of one profile (one per list)
	// and its full record do not take turns rewriting the link.
	DeltaBase uint64
	// Email is the record's email (display form) when it is not the
	// contact's: another contact has it, or the contact has its own
	// (email_conflict). The record's email stays on its source record.
	Email string `dynamodbav:",omitempty" json:",omitempty"`
}

// Key returns the link's key.
func (l Link) Key() LinkKey { return LinkKey{ConnectionID: l.ConnectionID, ExternalID: l.ExternalID} }

// LinkKey identifies a source record: (connection id, external id).
type LinkKey struct {
	ConnectionID string
	ExternalID   string
}

// Group is a contact group membership: "<Label> - <Name>".
type Group struct {
	Label string
	Name  string // raw source name, or GuestsGroup
}

// String returns the group's hub name "<Label> - <Name>".
func (g Group) String() string { return GroupName(g.Label, g.Name) }

// GroupName returns the hub group name for a source label and a raw group
// name: "<Label> - <name>".
func GroupName(label, name string) string { return label + " - " + name }

// Labels returns the contact's source labels (contact.sources), sorted and
// unique.
func (c Contact) Labels() []string {
	var out []string
	for _, l := range c.Sources {
		out = insertSorted(out, l.Label)
	}
	return out
}

// Link returns the contact's link for a source record.
func (c Contact) Link(k LinkKey) (Link, bool) {
	for _, l := range c.Sources {
		if l.ConnectionID == k.ConnectionID && l.ExternalID == k.ExternalID {
			return l, true
		}
	}
	return Link{}, false
}

// Status is the contact's shown consent status: the state of its phone's
// ledger, or not_subscribed when it has no phone.
func Status(c Contact, ledger consent.Ledger) consent.State {
	if c.Phone == "" {
		return consent.NotSubscribed
	}
	return ledger.State()
}
