package source

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of what one source record may carry into the hub (issue 15, item
// 7). A record's values become DynamoDB keys (the name index sorts by the
// name, a sort key is at most 1,024 bytes; group names are keys of their
// membership partition and the group list) and parts of items (the contact
// item holds every source link with its groups and the custom fields; an
// item is at most 400 KB). Platforms enforce smaller limits than these,
// but a plugin, an import or a hostile store can send anything: Bound
// applies them where records enter the core (store.ApplyRecords, for bulk
// pages and webhooks alike), so one oversized record is that record's
// problem, never its page's.
//
// Lengths are counted in characters (runes); truncation never splits a
// multi-byte character. What can be cut is cut and reported (the record's
// report row carries the note as its reason); an identifier that cannot be
// cut without becoming another identifier makes the record invalid.
//
// Budget of a contact item, worst case per source link: groups ≤
// MaxGroupBytes (once in the link, once in the contact's union), custom
// fields ≤ MaxFieldBytes, names ≤ 2 × MaxNameRunes × 4 bytes: about 50 KB.
// A contact with more sources than the item can hold is refused by
// DynamoDB; that record is reported invalid (write_rejected), the page
// goes on. A page's report rows are stored ReportRowsPerItem to an item,
// the items of a page in one batch: a row is at most MaxReportRowBytes
// (external id ≤ MaxExternalIDBytes, outcome, reason and notes, phone and
// email reasons, a masked identifier and a name of MaxReportNameRunes,
// contact id), so an item stays under 300 KB whatever the page size
// (Mailchimp pages hold 1,000 members: 7 items when every one has a row).
//
// Client input of the Hub API is bounded in pkg/hubapi (validate.go) and
// pkg/store (ids.go, cursor.go): ids by their format, query strings by
// length, cursors by the listing that issued them.
const (
	MaxNameRunes       = 128 // first and last name each: cut
	MaxEmailRunes      = 254 // RFC 5321: a longer address is invalid (email_too_long)
	MaxEmails          = 10  // addresses per record: the rest dropped
	MaxPhones          = 10  // phone fields per record: the rest dropped
	MaxPhoneRunes      = 64  // a longer phone field is dropped (never cut: a cut number is another number)
	MaxExternalIDBytes = 128 // a longer id is invalid (external_id_too_long); ids are ASCII in practice
	MaxLabelRunes      = 40  // source label (the Hub API refuses longer ones)
	MaxGroupNameRunes  = 100 // a tag, segment or list name: cut
	MaxGroups          = 100 // groups per record (full set, and each delta list): the rest dropped
	MaxGroupBytes      = 16 << 10
	MaxFields          = 50 // custom fields per record: the rest dropped (by name order)
	MaxFieldNameRunes  = 64 // a longer field name is dropped
	MaxFieldValueRunes = 1024
	MaxFieldBytes      = 32 << 10
	MaxMethodRunes     = 64 // consent method evidence: cut
	MaxCountryRunes    = 8  // an ISO code; anything longer is dropped
)

// Report row bounds (store.NewReportRow).
const (
	MaxReportNameRunes   = 64  // a row's name (first + last) and masked identifier: cut
	MaxReportReasonRunes = 160 // the outcome's reason with Bound's notes: cut
	MaxReportCodeRunes   = 40  // outcome, phone and email reasons, contact id: cut
	// MaxReportRowBytes bounds one stored row: the fields above in UTF-8
	// (4 bytes a rune at worst) and the external id, with attribute names.
	MaxReportRowBytes = MaxExternalIDBytes + 4*(2*MaxReportNameRunes+MaxReportReasonRunes+4*MaxReportCodeRunes) + 64
	// ReportRowsPerItem is how many rows one report item holds.
	ReportRowsPerItem = 150
)

// Notes and invalid reasons Bound reports (report reasons).
const (
	NoteNameTruncated    = "name_truncated"
	NoteGroupsTruncated  = "groups_truncated"
	NoteFieldsTruncated  = "fields_truncated"
	NoteEmailsTruncated  = "emails_truncated"
	NotePhonesTruncated  = "phones_truncated"
	InvalidEmailTooLong  = "email_too_long"
	InvalidExternalIDLen = "external_id_too_long"
)

// Bound cuts r to the limits above, in place (its slices and map are
// replaced, never written through, so a caller's copy is unchanged). It
// returns the notes of what it cut, and a non-empty invalid reason when
// the record cannot be stored; r.ExternalID is then shortened for display.
func Bound(r *Record) (notes []string, invalid string) {
	note := func(n string) {
		if !slices.Contains(notes, n) {
			notes = append(notes, n)
		}
	}
	if r.Unreadable != "" {
		return notes, r.Unreadable
	}
	if len(r.ExternalID) > MaxExternalIDBytes || !utf8.ValidString(r.ExternalID) {
		r.ExternalID = Truncate(strings.ToValidUTF8(r.ExternalID, "\uFFFD"), 32) + "…"
		return notes, InvalidExternalIDLen
	}
	for _, e := range r.Emails {
		if utf8.RuneCountInString(strings.TrimSpace(e)) > MaxEmailRunes {
			return notes, InvalidEmailTooLong
		}
	}
	for _, f := range ContactFields {
		v := f.Of(r)
		var cut bool
		if *v, cut = bound(*v, f.Max); cut {
			note(f.Note)
		}
	}
	r.Label, _ = bound(r.Label, MaxLabelRunes)
	r.Consent.Method, _ = bound(r.Consent.Method, MaxMethodRunes)
	if utf8.RuneCountInString(r.Country) > MaxCountryRunes {
		r.Country = ""
	}
	if len(r.Emails) > MaxEmails {
		r.Emails = slices.Clone(r.Emails[:MaxEmails])
		note(NoteEmailsTruncated)
	}
	if phones, cut := boundPhones(r.Phones); cut {
		r.Phones = phones
		note(NotePhonesTruncated)
	}
	for _, g := range []*[]string{&r.Groups, &r.AddGroups, &r.RemoveGroups} {
		if out, cut := boundGroups(*g); cut {
			*g = out
			note(NoteGroupsTruncated)
		}
	}
	if out, cut := boundFields(r.Fields); cut {
		r.Fields = out
		note(NoteFieldsTruncated)
	}
	return notes, ""
}

// Truncate returns s cut to at most n runes (never inside a character).
func Truncate(s string, n int) string {
	if len(s) <= n { // n bytes hold at most n runes
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// bound makes s valid UTF-8 and cuts it to n runes (trimming the space a
// cut leaves); cut reports whether it lost characters.
func bound(s string, n int) (string, bool) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	t := Truncate(s, n)
	if len(t) == len(s) {
		return s, false
	}
	return strings.TrimSpace(t), true
}

func boundPhones(ps []PhoneField) ([]PhoneField, bool) {
	over := len(ps) > MaxPhones
	for _, p := range ps {
		over = over || utf8.RuneCountInString(p.Raw) > MaxPhoneRunes || !utf8.ValidString(p.Raw+p.Country+p.Field)
	}
	if !over {
		return ps, false
	}
	var out []PhoneField
	for _, p := range ps {
		if len(out) == MaxPhones {
			break
		}
		if utf8.RuneCountInString(p.Raw) > MaxPhoneRunes || !utf8.ValidString(p.Raw) {
			continue
		}
		if utf8.RuneCountInString(p.Country) > MaxCountryRunes || !utf8.ValidString(p.Country) {
			p.Country = ""
		}
		p.Field, _ = bound(p.Field, 32)
		out = append(out, p)
	}
	return out, true
}

// boundGroups keeps the first MaxGroups names (cut to MaxGroupNameRunes)
// within MaxGroupBytes. Cutting is deterministic, so a removal names the
// same group its addition did.
func boundGroups(gs []string) ([]string, bool) {
	over, size := len(gs) > MaxGroups, 0
	for _, g := range gs {
		size += len(g)
		over = over || len(g) > MaxGroupNameRunes || !utf8.ValidString(g)
	}
	if !over && size <= MaxGroupBytes {
		return gs, false
	}
	out, size, cut := make([]string, 0, min(len(gs), MaxGroups)), 0, false
	for _, g := range gs {
		b, c := bound(g, MaxGroupNameRunes)
		cut = cut || c
		if len(out) == MaxGroups || size+len(b) > MaxGroupBytes {
			cut = true
			break
		}
		out = append(out, b)
		size += len(b)
	}
	return out, cut
}

// boundFields keeps MaxFields custom fields (by name order, so the choice
// does not depend on map order), drops over-long names and cuts values.
func boundFields(fs map[string]string) (map[string]string, bool) {
	over, size := len(fs) > MaxFields, 0
	for k, v := range fs {
		size += len(k) + len(v)
		over = over || len(k) > MaxFieldNameRunes || len(v) > MaxFieldValueRunes || !utf8.ValidString(k+v)
	}
	if !over && size <= MaxFieldBytes {
		return fs, false
	}
	keys := make([]string, 0, len(fs))
	for k := range fs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out, size, cut := map[string]string{}, 0, false
	for _, k := range keys {
		if utf8.RuneCountInString(k) > MaxFieldNameRunes || !utf8.ValidString(k) {
			cut = true
			continue
		}
		v, c := bound(fs[k], MaxFieldValueRunes)
		cut = cut || c
		if len(out) == MaxFields || size+len(k)+len(v) > MaxFieldBytes {
			cut = true
			break
		}
		out[k] = v
		size += len(k) + len(v)
	}
	return out, cut
}
