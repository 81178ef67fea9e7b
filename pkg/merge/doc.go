// Package merge decides what one source record does to a tenant's contacts
// (design.md §3). It is pure: the store reads a State (the contacts the
// record can touch, the phone and email claims, the source links and the
// phones' consent ledgers), Merge returns a Decision of explicit,
// idempotent mutations, and the store applies them with conditional
// writes. Apply computes the same after-image in memory (tests, and the
// store's own checks). No I/O, no clock, no randomness: the time and the
// id of a new contact come in with the Input.
//
// # Pipeline
//
//	notes := merge.MapFields(&rec, conn)            // the field map: names, phone, email, typed custom fields
//	id := merge.Identify(rec, conn.DefaultRegion)   // phone and email normalisation (costly)
//	d := merge.Merge(merge.Input{Record: rec, Identity: id, Connection: conn, Now: now, NewID: newID, State: st})
//	// store: apply d.Mutations with conditions; report d.Outcome, d.Reason
//
// A hot loop uses a Merger per goroutine instead (var mg merge.Merger;
// d := mg.Merge(in)): its decisions reuse one buffer, so merging
// allocates nothing of its own; a decision is valid until the next call.
// Merge uses a fresh Merger for each decision. The store uses a Merger.
//
// # Rules
//
//   - Identifiers: the first valid phone of the record (connectors list the
//     SMS consent phone first) and the first valid email; the other phones
//     and emails are ignored. Each phone and each email belongs to at most
//     one contact; a claim is only made when it is free.
//   - Matching, phone first: no email and no valid phone → invalid,
//     no_identifier. A valid phone that a contact has → that contact,
//     whatever the record's email: the record's email is attached when
//     the contact has none and it is free; otherwise the contact keeps its
//     own, the record's stays on its source link (Link.Email) and the
//     reason is email_conflict. Such a record creates and deletes no
//     contact (a link it moves leaves its old contact in place). Only
//     email → match by email, else create. Only phone (new) → create.
//     Email on X and phone new → X when X has no phone, else a new contact
//     with only the phone (email_conflict). Neither known → create.
//   - Partial records (source.Record.IsPartial: Shopify's consent topic,
//     tag deltas, Klaviyo member pages, Mailchimp profile updates) update
//     what they carry on the contact their source record is linked to;
//     they never re-match the record, move its link or delete a contact,
//     and their time is not the record's version (the link keeps the full
//     record's time and hash). Not linked yet, a partial record with an
//     identifier is matched from what it carries (one whose identifiers
//     are all invalid is invalid); one without any (a tag webhook before
//     the customer's create) is skipped
//     (unknown_source_record) and its group deltas are held
//     (MutHoldLink, State.Held) until a record links the source record.
//   - Source links: a record is linked by (connection id, external id) to
//     one contact. A record whose source updated_at is older than the linked
//     one changes no contact field (older_than_stored); a record with the
//     same content hash as the applied one changes nothing and costs no
//     write (duplicate). When matching lands a linked record on another
//     contact, the link moves and the old contact goes if nothing else
//     keeps it.
//   - Fields (source.ContactFields, the email, custom fields): per field,
//     the newer source updated_at wins; equal times are broken by the
//     value so the result does not depend on arrival order; an empty
//     incoming value never erases. When the record has no name but an
//     email, the first name is the email's local part; it only fills an
//     empty name, at the zero time, so any real name replaces it.
//   - Field map (MapFields, before Identify and Merge): records carry the
//     raw values of the platform fields the connection's map names
//     (Record.Fields by platform key). A field mapped to a first-class
//     field (firstName, lastName...) wins over the platform's own, so the
//     email rule above only applies when neither gives a name; one mapped
//     to phone or email with a value is the record's phone or email (read
//     and reported like any); the others are custom fields (Contact.Custom
//     by hub name) in the canonical form of their declared type
//     (Connection.FieldTypes, source.TypedValue: a number in plain
//     decimal, a date YYYY-MM-DD, a birthday MM-DD). A value that does not
//     parse is dropped with the note field_invalid:<field>; the record
//     goes on. Merge itself reads Record.Fields as hub custom fields.
//   - Groups: "<Label> - <name>" per tag/segment/list, "<Label> - Guests"
//     for guests; Contact.Groups is the union over the contact's links. A
//     full group set replaces that link's groups (a tag removed at the
//     source is removed here), except those it names in KeepGroups (groups
//     another listing owns: a Shopify customer's segments); deltas add and
//     remove. Membership mutations
//     are emitted only when the union changes.
//   - Deletes: the source link goes, with the memberships only it gave; the
//     contact goes (its claims released) when no link and no hub-side data
//     (Contact.HubData) remain. The phone's consent ledger is never deleted:
//     an opt-out outlives the contact.
//   - Consent: the record's signal is applied to the ledger of the record's
//     phone (consent belongs to the number, whichever contact holds it),
//     even for an out-of-order record when the signal has its own
//     timestamp. A record that says nothing about consent counts as "never
//     asked" only for a connection that never spoke for the number, so a
//     new contact gets its mode's default (design.md §4 table: subscribed in
//     inferred and confirmation mode, pending in double opt-in) and nothing
//     else changes. Messages due (confirmation, double opt-in request) come
//     from the ledger, once per number per connection.
//
// # Outcomes
//
// created, updated (the contact changed, its status included), unchanged
// (duplicate, older_than_stored, no_change — the latter may still carry a
// put_link mutation that records the new content hash), invalid
// (no_identifier), skipped (unknown_source_record). Created and updated
// carry email_conflict when the record's email stays with another contact,
// phone_conflict when a partial record's phone does (it never re-matches).
// Decision.PhoneReason carries pkg/phone's reason when the record's phone
// was unusable, whatever the outcome.
//
// # For the store
//
// Apply the mutations in order, each with its condition: create_contact
// with attribute_not_exists; claims with attribute_not_exists (or owner =
// contact); releases with owner = contact; the contact item with its
// Version; the ledger with its Version. A failed condition means the State
// was stale: re-read and merge again. Every mutation is idempotent, so a
// retried or replayed decision changes nothing more.
package merge
