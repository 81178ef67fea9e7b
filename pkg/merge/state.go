package merge

import (
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// Connection is the per-connection setting merge needs.
type Connection struct {
	ID            string
	Label         string // "" = the record's label
	Mode          consent.Mode
	DefaultRegion string // ISO 3166-1 alpha-2 for national phone formats
	// FieldMap maps a platform field key (of Record.Fields) to a hub field
	// name; MapFields applies it. A key that is not in the map keeps its
	// own name as a custom field; a key mapped to "" is dropped; keys
	// mapped to FieldFirstName, FieldLastName, FieldPhone and FieldEmail
	// feed the core fields.
	FieldMap map[string]string
	// FieldTypes is the type the platform declares for a mapped key
	// (source.FieldNumber, FieldDate, FieldBirthday...; absent = text):
	// MapFields stores the value in its canonical form.
	FieldTypes map[string]string
}

// State is everything a record can touch, as read by the store before the
// merge: the contacts found by the record's phone, email and link, the
// ownership of that phone and email, and the ledgers of the phones
// involved. Maps may be nil. Merge only reads it.
//
// Store: load the contact of every claim and link you put in the State. A
// claim whose contact is missing is treated as owned by an unknown contact
// (nothing steals it, and mutations may then name a contact you did not
// load: their conditions fail and you re-merge).
type State struct {
	Contacts map[string]Contact        // by contact id
	Phones   map[string]string         // E.164 -> owning contact id
	Emails   map[string]string         // normalised email -> owning contact id
	Links    map[LinkKey]string        // source record -> contact id
	Ledgers  map[string]consent.Ledger // E.164 -> ledger (absent = empty ledger)
	// Held holds the group deltas of source records that are not linked
	// to a contact yet (partial records that arrived before the full one;
	// see MutHoldLink). Links wins over Held for a key in both.
	Held map[LinkKey]Link
}

// Ledger returns the phone's ledger, or an empty one for that phone.
func (s State) Ledger(phone string) consent.Ledger {
	if l, ok := s.Ledgers[phone]; ok {
		return l
	}
	return consent.Ledger{Phone: phone}
}

// Identity is a record's normalised identifiers (see Identify).
type Identity struct {
	Phone       string // E.164 of the first valid phone, "" if none
	PhoneReason Reason // why the first phone was invalid ("" if valid or no phone)
	Email       string // display form of the primary email (trimmed), "" if none/invalid
	EmailKey    string // its normalised form
	EmailReason Reason // why the primary email was invalid ("" if valid or none)
}

// Input is one merge call.
type Input struct {
	Record     source.Record
	Identity   Identity // from Identify(Record, Connection.DefaultRegion)
	Connection Connection
	Now        time.Time
	NewID      string // the contact id to use if a contact is created
	State      State
	// KeepDeltaBase applies a group delta without making it the link's
	// DeltaBase: the pipeline's own removal of a group a full run's
	// complete listing no longer has (store, source.Plan.CompleteGroups).
	// The link keeps the base of the source's last delta, so the source's
	// next listing of the record's other memberships still writes nothing.
	KeepDeltaBase bool
}
