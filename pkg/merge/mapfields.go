package merge

import (
	"cmp"
	"slices"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// FieldPhone is the hub's phone as a field-map target (the contact's
// phone, source.Record.Phones).
const FieldPhone = "phone"

// NoteFieldInvalid prefixes the report note of a mapped value that does
// not parse as its declared type ("field_invalid:<hub field>"): the field
// is dropped, the record goes on.
const NoteFieldInvalid = "field_invalid"

// CoreField reports whether a field-map target is one of the hub's own
// contact fields (source.ContactFields, email, phone) rather than a custom
// field.
func CoreField(name string) bool {
	return name == FieldEmail || name == FieldPhone || contactField(name) >= 0
}

// contactField returns the index of name in source.ContactFields, or -1.
func contactField(name string) int {
	return slices.IndexFunc(source.ContactFields, func(f source.ContactField) bool { return f.Name == name })
}

// MapFields applies the connection's field map to a record, in place (its
// slices and map are replaced, never written through): the raw platform
// values of Record.Fields (by platform key) become the record's hub
// fields. The store calls it where records enter the core, before
// Identify and Merge, which then read Record.Fields as hub custom fields.
//
//   - A key mapped to a first-class field (source.ContactFields: firstName,
//     lastName ...) sets it: a mapped field wins over the platform's own
//     (and so the name-from-email rule only applies when neither gives a
//     name).
//   - A key mapped to phone, with a value, is the record's phone: it
//     replaces the platform's phone fields (read in the record's country),
//     so an unusable value is reported with pkg/phone's reason like any
//     phone. Likewise a key mapped to email replaces the record's emails.
//   - Other keys become custom fields, typed by Connection.FieldTypes
//     (source.TypedValue): a value that does not parse is dropped and
//     noted (NoteFieldInvalid); the record goes on.
//
// Keys are taken in order, so two keys mapped to the same target resolve
// the same way every time (the first non-empty one wins). Empty values
// never set anything.
func MapFields(r *source.Record, c Connection) (notes []string) {
	if len(r.Fields) == 0 {
		return nil
	}
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var phone, phoneKey, email string
	var out map[string]string
	set := make([]string, len(source.ContactFields))
	for _, k := range keys {
		v := strings.TrimSpace(r.Fields[k])
		if v == "" {
			continue
		}
		hub, mapped := c.FieldMap[k]
		if !mapped {
			hub = k // an unmapped key keeps its name, as a custom field only
		}
		switch {
		case hub == "":
			continue
		case mapped && contactField(hub) >= 0:
			i := contactField(hub)
			set[i] = cmp.Or(set[i], v)
		case mapped && hub == FieldPhone:
			if phone == "" {
				phone, phoneKey = v, k
			}
		case mapped && hub == FieldEmail:
			email = cmp.Or(email, v)
		case CoreField(hub):
			continue
		default:
			tv, ok := source.TypedValue(c.FieldTypes[k], v)
			if !ok {
				if n := NoteFieldInvalid + ":" + source.Truncate(hub, source.MaxFieldNameRunes); !slices.Contains(notes, n) {
					notes = append(notes, n)
				}
				continue
			}
			if _, dup := out[hub]; dup || tv == "" {
				continue
			}
			if out == nil {
				out = map[string]string{}
			}
			out[hub] = tv
		}
	}
	for i, f := range source.ContactFields {
		if set[i] != "" {
			*f.Of(r) = set[i]
		}
	}
	if phone != "" {
		r.Phones = []source.PhoneField{{Raw: phone, Country: r.Country, Field: "field:" + source.Truncate(phoneKey, 24)}}
	}
	if email != "" {
		r.Emails = []string{email}
	}
	r.Fields = out
	return notes
}
