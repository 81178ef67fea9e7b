// Package source defines the platform-neutral source record that every
// connector (Shopify, WooCommerce, Mailchimp, Klaviyo) produces and the merge
// core consumes, plus the small page/plan/webhook values that carry records
// from a platform to the pipeline, and the interfaces a connector
// implements for the handlers (connector.go, writeback.go, setup.go,
// subscriptions.go), so pkg/connectors depends only on what is below them.
//
// The package is pure data and the interfaces around it: no I/O, no clock,
// no AWS.
package source

import (
	"cmp"
	"context"
	"errors"
	"time"
)

// ErrPermanent marks errors that no retry can fix (bad credentials, a
// cursor or write-back the platform refuses); wrap it.
var ErrPermanent = errors.New("permanent failure")

// NotReadyError says a plan cannot be made yet because the platform is
// still preparing it (a Shopify bulk export running): ask again after
// RetryAfter. The pipeline re-queues the plan step with that delay instead
// of counting a failed attempt; the work already started is reused.
type NotReadyError struct {
	RetryAfter time.Duration
	Reason     string // e.g. "bulk operation gid://... RUNNING, 41,000 objects"
	// Resume is an opaque token naming the work under way (a bulk
	// operation's id); the pipeline hands it back through Resumer.
	Resume string
}

// Resumer is a connector whose bulk plan can resume the work an earlier
// attempt of the same plan started (the token of its NotReadyError), so a
// retry neither starts the work again nor picks up someone else's.
type Resumer interface {
	ResumePlan(ctx context.Context, token string) (Plan, error)
}

func (e *NotReadyError) Error() string {
	return "not ready (ask again in " + e.RetryAfter.String() + "): " + e.Reason
}

// Platform names a source platform. The values are the path segment used
// in webhook URLs (/webhooks/{platform}/{connectionId}). Which platforms
// are supported, and everything about each, is its spec (pkg/platform;
// the list is pkg/connectors/platforms).
type Platform string

// Supported platforms.
const (
	Shopify     Platform = "shopify"
	WooCommerce Platform = "woocommerce"
	Mailchimp   Platform = "mailchimp"
	Klaviyo     Platform = "klaviyo"
)

// DefaultLabel is the source label a platform's contacts carry when the
// connection sets none (it prefixes group names: "Shopify - VIP"); the
// four platforms' specs take theirs from here, and records that carry no
// label fall back to it (pkg/merge, which sees no spec).
func (p Platform) DefaultLabel() string { return cmp.Or(defaultLabels[p], string(p)) }

var defaultLabels = map[Platform]string{Shopify: "Shopify", WooCommerce: "WooCommerce", Mailchimp: "Mailchimp", Klaviyo: "Klaviyo"}

// SignalState is what a source says about a phone number's SMS marketing
// consent.
type SignalState string

// Consent signal states. SignalNone means the record carries no consent
// information at all (for example a Shopify customers/update body since API
// 2025-01, or a tag-delta webhook); it must never change consent.
// SignalNeverAsked is an explicit "not subscribed / never asked / unknown"
// from the source; SignalSubscribed and SignalUnsubscribed are explicit.
const (
	SignalNone         SignalState = ""
	SignalNeverAsked   SignalState = "never_asked"
	SignalSubscribed   SignalState = "subscribed"
	SignalUnsubscribed SignalState = "unsubscribed"
)

// ConsentSignal is a source's statement about SMS consent.
type ConsentSignal struct {
	State SignalState
	// At is the source's own consent timestamp (Shopify consent_updated_at,
	// Klaviyo consent_timestamp, Mailchimp timestamp_opt / webhook fired_at).
	// Zero when the source does not give one. A source opt-in can override a
	// hub-side opt-out only when At is after the opt-out.
	At time.Time
	// Method is the source's own word for how consent was collected
	// (e.g. "SINGLE_OPT_IN", "checkout", "meta:sms_consent"); kept as evidence.
	Method string
}

// PhoneField is one raw phone value from a record with the field it came from.
type PhoneField struct {
	// Raw is the value exactly as the platform sent it (free text).
	Raw string
	// Country is the ISO 3166-1 alpha-2 country of the address the phone
	// belongs to, when the platform gives one ("" otherwise).
	Country string
	// Field names where the phone came from, e.g. "default_address",
	// "billing", "sms_consent", "phone".
	Field string
}

// Record is one customer/profile/member as a source platform describes it,
// already mapped to hub terms but not yet normalised or merged.
type Record struct {
	Platform     Platform
	Label        string // source label, e.g. "Shopify" (contact.sources, group prefix)
	ConnectionID string
	ExternalID   string    // the platform's id (Shopify numeric id, Mailchimp subscriber hash, ...)
	UpdatedAt    time.Time // the source's updated_at for this record (zero if unknown)

	FirstName string
	LastName  string
	Emails    []string     // raw, first is primary
	Phones    []PhoneField // raw, in order of preference (SMS consent phone first)
	Country   string       // ISO 3166-1 alpha-2 of the record (default/billing address)

	Consent ConsentSignal

	// Groups is the complete set of the record's tags/segments/lists (raw
	// names, without the "<Label> - " prefix) when HasGroups is true. When
	// HasGroups is false the record says nothing about groups and AddGroups /
	// RemoveGroups carry deltas (Shopify customer.tags_added/_removed,
	// customer.joined_segment/left_segment).
	Groups       []string
	HasGroups    bool
	AddGroups    []string
	RemoveGroups []string

	Guest bool // a guest checkout with no customer account ("<Label> - Guests")
	// Partial marks a record that carries only part of the customer
	// (design.md §3 "Partial records are partial"): Shopify's
	// customers_marketing_consent/update (id, phone, consent), a Klaviyo
	// list member page, a Mailchimp profile/upemail/unsubscribe webhook.
	// It updates what it carries on the contact its source record is
	// already linked to, and never re-matches the record's identity, moves
	// its link or deletes a contact. Group deltas are partial whether or
	// not this is set (see IsPartial).
	Partial bool
	Deleted bool // the customer was deleted at the source (only ExternalID is meaningful)
	// OutOfScope marks a record the connection's scope leaves out (a
	// Mailchimp member in none of the selected tags): it is applied as
	// Deleted (a contact it was linked to loses this source; nothing else
	// is written) and reported out_of_scope. Set Deleted with it.
	OutOfScope bool `json:",omitempty"`
	// Unreadable, when set, is why the connector could not read this
	// record whole (e.g. "record_too_large": a bulk result line over its
	// size cap); only ExternalID (if it could be found) is meaningful, and
	// the record is reported invalid with this reason instead of failing
	// its page.
	Unreadable string `json:",omitempty"`

	// Fields holds the raw values of the platform fields the connection's
	// field map names (Options.FieldMap), by the platform's field key (a
	// Field's Key: "MMERGE7", "metafield:custom.points"), as text; only
	// the mapped ones, so a record carries no more than the map asks. The
	// store maps them to hub fields where records enter the core
	// (merge.MapFields: names, phone, email, typed custom fields).
	Fields map[string]string

	// KeepGroups names groups (raw names) a complete set (HasGroups) does
	// not speak for: the source record's link keeps those it has, whether
	// or not Groups lists them. A Shopify customer node lists its tags but
	// not its segments, whose memberships come from member listings and
	// segment webhooks; its record names the shop's segments here so that
	// applying it (a later page, an incremental sync) does not drop them.
	KeepGroups []string `json:",omitempty"`
}

// ContactField is a first-class field of every contact (merge.Contact.Core)
// that records carry as text (Of): named Name in set_field mutations, field
// maps and the Hub API; Bound cuts it to Max characters, noting Note.
type ContactField struct {
	Name string
	Max  int
	Note string
	Of   func(*Record) *string
}

// ContactFields are the first-class contact fields, in the Hub API's order
// (README "A contact field": what a new one takes).
var ContactFields = []ContactField{
	{"firstName", MaxNameRunes, NoteNameTruncated, func(r *Record) *string { return &r.FirstName }},
	{"lastName", MaxNameRunes, NoteNameTruncated, func(r *Record) *string { return &r.LastName }},
}

// IsGroupDelta reports whether r changes groups by deltas only (AddGroups,
// RemoveGroups) rather than stating its complete set: a Shopify tag
// webhook, a Klaviyo list member page.
func (r *Record) IsGroupDelta() bool {
	return !r.HasGroups && (len(r.AddGroups) > 0 || len(r.RemoveGroups) > 0)
}

// IsPartial reports whether r carries only part of the customer: marked
// Partial by its connector, or a group delta (a delta never states the
// whole record).
func (r *Record) IsPartial() bool {
	return r.Partial || r.IsGroupDelta()
}

// Options are the per-connection settings a connector needs to map records.
type Options struct {
	ConnectionID string
	Label        string // defaults to Platform.DefaultLabel()
	// SelectedTags scopes the connection: Mailchimp syncs only the members
	// of these tags (and only they become groups); empty = the whole
	// audience, no tag groups. Klaviyo: the lists and segments of these
	// names (empty = every profile, every list and segment a group).
	SelectedTags []string
	FieldMap     map[string]string // source field name -> hub field name
}

// Cursor is an opaque, serialisable page position. A connector produces and
// consumes cursors; the pipeline stores them in SQS page messages. Fetching
// the same cursor twice returns the same page (for a store that did not
// change), so a retried message refetches its page.
type Cursor string

// Plan is how a listing is split into pages.
//
// Platforms whose pages are addressable up front (page numbers, offsets, byte
// ranges of a bulk-export file) return every page in Fanout so the pipeline
// can enqueue them all at once. Cursor-chained platforms return one cursor in
// Fanout (the first page) with Chained set; each fetched Page then names the
// next cursor.
type Plan struct {
	Fanout  []Cursor
	Chained bool
	// Total is the number of records the platform reported, or -1 if unknown.
	Total int
	// CompleteGroups names the groups (as records carry them in AddGroups,
	// before the connection's label is added) whose membership this plan
	// lists completely: a full run that finishes without a failed page
	// removes each of these groups from the connection's contacts that no
	// record of the run put in it (a member who left a list, a segment or
	// a selected tag). Empty for incremental plans and for connectors whose
	// records carry their complete group set (HasGroups).
	CompleteGroups []string `json:",omitempty"`
}

// Page is one fetched page of records.
type Page struct {
	Records []Record
	// Next is the following cursor for chained plans; "" on the last page and
	// always "" for fan-out plans.
	Next Cursor
	// Incomplete names groups of the plan's CompleteGroups whose listing
	// ended early on this page, not at its end (a list deleted mid-run
	// whose member listing answers 404): the run removes nobody from them.
	Incomplete []string `json:",omitempty"`
}

// Webhook is a verified, parsed webhook delivery.
type Webhook struct {
	// DeliveryID is the per-delivery id used for dedup (X-Shopify-Webhook-Id,
	// X-WC-Webhook-Delivery-ID, ...). When a platform gives none, the
	// connector derives one from a hash of the raw body.
	DeliveryID string
	Topic      string
	// Records holds the source records the delivery describes (empty for a
	// ping or a topic that carries nothing for us).
	Records []Record
	// Ping is true for a platform's test/validation delivery.
	Ping bool
	// Privacy is set for Shopify's mandatory privacy topics; Records then
	// identify the customers concerned (ExternalID, Emails, Phones).
	Privacy PrivacyRequest
	// Uninstalled is the shop (its signed myshopify_domain) of a Shopify
	// app/uninstalled delivery: the connection is disconnected.
	Uninstalled string
}

// PrivacyRequest names a mandatory privacy webhook.
type PrivacyRequest string

// Privacy requests (Shopify's mandatory compliance topics).
const (
	PrivacyNone           PrivacyRequest = ""
	PrivacyDataRequest    PrivacyRequest = "customers/data_request"
	PrivacyRedactCustomer PrivacyRequest = "customers/redact"
	PrivacyRedactShop     PrivacyRequest = "shop/redact"
)

// Field is one field a platform declares for its customers or members,
// as the install wizard's field-mapping dropdowns offer it.
type Field struct {
	// Key is the name records carry it under in Record.Fields (the key a
	// connection's FieldMap maps from).
	Key string `json:"key"`
	// Label is the platform's own name for it, for people.
	Label string `json:"label"`
	// Type is how the platform declares it: FieldText, FieldNumber,
	// FieldDate, FieldBirthday, FieldPhone, FieldEmail, FieldAddress.
	Type string `json:"type"`
}

// Field types.
const (
	FieldText     = "text"
	FieldNumber   = "number"
	FieldDate     = "date"
	FieldBirthday = "birthday"
	FieldPhone    = "phone"
	FieldEmail    = "email"
	FieldAddress  = "address"
)

// FieldLister is implemented by connectors that can list the fields a
// connection's records may carry (the field map is validated against it and
// the install options show it).
type FieldLister interface {
	Fields(ctx context.Context) ([]Field, error)
}
