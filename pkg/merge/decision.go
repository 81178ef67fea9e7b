package merge

import (
	"strconv"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
)

// Outcome is the report outcome of merging one record (design.md §6 report
// rows).
type Outcome string

// Outcomes.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Invalid   Outcome = "invalid"
	// Skipped: a partial record whose source record is not linked to a
	// contact yet and that carries no identifier to match (a Shopify tag
	// webhook before the customer's create). Its group deltas are held on
	// the source record (MutHoldLink) for the full record to apply.
	Skipped Outcome = "skipped"
)

// Reason explains an outcome. Invalid phone reasons are pkg/phone's reasons
// converted (Reason(phone.Reason)).
type Reason string

// Reasons set by Merge.
const (
	ReasonNone          Reason = ""
	ReasonNoIdentifier  Reason = "no_identifier"     // no email and no valid phone (invalid)
	ReasonPhoneConflict Reason = "phone_conflict"    // the phone belongs to another contact and stays there (a partial record)
	ReasonEmailConflict Reason = "email_conflict"    // the email belongs to another contact
	ReasonOlderThan     Reason = "older_than_stored" // the source updated_at is older than the applied one
	ReasonDuplicate     Reason = "duplicate"         // same content as the applied record
	ReasonNoChange      Reason = "no_change"         // the record changed nothing
	ReasonSourceRemoved Reason = "source_removed"    // a delete removed the source from the contact
	ReasonContactGone   Reason = "contact_deleted"   // ... and the contact with it
	ReasonNotLinked     Reason = "not_linked"        // a delete for a record we never linked
	// ReasonUnknownSourceRecord: a partial record (skipped) whose source
	// record is not linked yet; see Skipped.
	ReasonUnknownSourceRecord Reason = "unknown_source_record"
)

// MutationKind names a mutation. It is a small integer so a Mutation stays
// compact (a decision allocates its mutations in one slice); String gives
// its name.
type MutationKind uint8

// Mutation kinds. Each is idempotent on its own: applying it again leaves
// the same result.
const (
	_ MutationKind = iota
	// MutCreateContact creates contact ContactID at At (attribute_not_exists).
	MutCreateContact
	// MutSetField sets core field Field (a name of source.ContactFields,
	// or FieldEmail) to Value with source time At.
	MutSetField
	// MutSetCustom sets custom field Field to Value with source time At.
	MutSetCustom
	// MutClaimPhone / MutReleasePhone claim or release phone Value (E.164)
	// for ContactID.
	MutClaimPhone
	MutReleasePhone
	// MutClaimEmail / MutReleaseEmail claim or release the normalised email
	// Value for ContactID (MutClaimEmail also sets the contact's EmailKey).
	MutClaimEmail
	MutReleaseEmail
	// MutPutLink adds or replaces source link Link on ContactID.
	MutPutLink
	// MutRemoveLink removes source link Link (by its key) from ContactID.
	MutRemoveLink
	// MutAddGroup / MutRemoveGroup add or remove ContactID's membership of
	// Group() (derived from the links; emitted only when the union changes).
	MutAddGroup
	MutRemoveGroup
	// MutConsent stores Consent.Ledger for Consent.Phone (condition on the
	// ledger's Version) and, when Consent.Change.StateChanged(), one
	// consent-history item.
	MutConsent
	// MutQueueMessage queues Message (idempotently).
	MutQueueMessage
	// MutDeleteContact deletes ContactID (no source and no hub-side data
	// left); its claims are released by separate mutations. The phone's
	// ledger is never deleted.
	MutDeleteContact
	// MutHoldLink keeps Link (ContactID "") as the held deltas of a source
	// record that is not linked to a contact yet (condition: the stored
	// link item is still unlinked and unchanged). The record's first full
	// or identified record applies them when it links the source record.
	// A Link without groups and not Guest drops what was held.
	MutHoldLink
)

var kindNames = [...]string{
	MutCreateContact: "create_contact", MutSetField: "set_field", MutSetCustom: "set_custom",
	MutClaimPhone: "claim_phone", MutReleasePhone: "release_phone",
	MutClaimEmail: "claim_email", MutReleaseEmail: "release_email",
	MutPutLink: "put_link", MutRemoveLink: "remove_link",
	MutAddGroup: "add_group", MutRemoveGroup: "remove_group",
	MutConsent: "consent", MutQueueMessage: "queue_message", MutDeleteContact: "delete_contact",
	MutHoldLink: "hold_link",
}

// String returns the kind's name ("set_field").
func (k MutationKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "mutation(" + strconv.Itoa(int(k)) + ")"
}

// Mutation is one explicit, idempotent operation for the store. Only the
// fields named by Kind are set. The pointers are never nil for their kinds
// and point to values owned by the decision (treat them as read-only).
type Mutation struct {
	Kind      MutationKind
	ContactID string
	// Field is the field name (MutSetField, MutSetCustom) or the group's
	// source label (MutAddGroup, MutRemoveGroup: use Group()).
	Field string
	// Value is the field value (MutSetField, MutSetCustom), the claim or
	// release key, or the group's raw name (MutAddGroup, MutRemoveGroup).
	Value   string
	At      time.Time        // MutSetField/MutSetCustom source time; create/delete time
	Link    *Link            // MutPutLink (the new link), MutRemoveLink (the removed one), MutHoldLink
	Consent *ConsentUpdate   // MutConsent
	Message *consent.Message // MutQueueMessage
}

// Group returns the membership of a MutAddGroup or MutRemoveGroup.
func (m Mutation) Group() Group { return Group{Label: m.Field, Name: m.Value} }

// groupMutation builds a membership mutation.
func groupMutation(kind MutationKind, contactID string, g Group) Mutation {
	return Mutation{Kind: kind, ContactID: contactID, Field: g.Label, Value: g.Name}
}

// ConsentUpdate is a consent event applied to a phone's ledger.
//
// Store: write Ledger (condition: the stored Version equals
// Ledger.Version); if the condition fails, re-read and re-merge. Write a
// history item when Change.StateChanged().
type ConsentUpdate struct {
	Phone  string
	Event  consent.Event
	Change consent.Change
	Ledger consent.Ledger // the ledger after the event
}

// Decision is the result of merging one record: the report row and the
// mutations to apply, in order. Applying it twice equals applying it once.
type Decision struct {
	Outcome   Outcome
	Reason    Reason
	ContactID string // the contact the record landed on ("" when invalid)
	// PhoneReason says why the record's phone was not used (invalid phone
	// reasons from pkg/phone), whatever the outcome; "" otherwise.
	PhoneReason Reason
	At          time.Time // the merge time (Input.Now): the contacts' UpdatedAt
	Mutations   []Mutation
}
