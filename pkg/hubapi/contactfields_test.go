package hubapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// notContactFields names the text fields of source.Record that are not
// first-class contact fields, each with the reason. Every other text field
// of the record is one: TestContactFields_EveryFirstClassFieldIsWired
// fails until it is listed in source.ContactFields (README "A contact
// field").
var notContactFields = map[string]string{
	"Platform":     "the platform that sent the record: its connection's, not the contact's",
	"Label":        "the source label: the link's (contact.sources, the group prefix)",
	"ConnectionID": "half of the link's key",
	"ExternalID":   "half of the link's key",
	"Country":      "the region the record's phones are read in (merge.Identify), not a field of the contact",
	"Unreadable":   "why a connector could not read the record: it is reported invalid, never merged",
}

// TestContactFields_EveryFirstClassFieldIsWired walks the text fields of
// source.Record and requires each first-class one to be bounded (Bound),
// hashed (ContentHash), fillable by a field map (MapFields), merged onto
// the contact (merge.Contact.Core, through Merge and Apply) and shown by
// the Hub API under its name (GET /v1/contacts' JSON and the CSV
// export's column) — the whole path a new field has to take.
func TestContactFields_EveryFirstClassFieldIsWired(t *testing.T) {
	for _, f := range source.ContactFields {
		if (&merge.Contact{}).Core(f.Name) == nil { // before any merge, which needs it
			t.Fatalf("merge.Contact has no core field %s: add its merge.Field to Contact and its case to Contact.Core", f.Name)
		}
	}
	rt := reflect.TypeOf(source.Record{})
	for i := range rt.NumField() {
		sf := rt.Field(i)
		if _, skip := notContactFields[sf.Name]; skip || sf.Type.Kind() != reflect.String {
			continue
		}
		t.Run(sf.Name, func(t *testing.T) {
			const value = "Value of the field"
			var rec source.Record
			reflect.ValueOf(&rec).Elem().Field(i).SetString(value)
			k := slices.IndexFunc(source.ContactFields, func(f source.ContactField) bool { return *f.Of(&rec) == value })
			if k < 0 {
				t.Fatalf("source.Record.%s is a text field but not in source.ContactFields (its hub name and bound): list it there, or say in notContactFields why it is no contact field", sf.Name)
			}
			f := source.ContactFields[k]

			long := source.Record{ExternalID: "1"}
			*f.Of(&long) = strings.Repeat("é", f.Max+3)
			if notes, invalid := source.Bound(&long); f.Max <= 0 || f.Note == "" || invalid != "" ||
				utf8.RuneCountInString(*f.Of(&long)) != f.Max || !slices.Contains(notes, f.Note) {
				t.Errorf("Bound leaves %s at %d characters (notes %v), want it cut to its Max %d and noted %q",
					f.Name, utf8.RuneCountInString(*f.Of(&long)), notes, f.Max, f.Note)
			}

			if merge.ContentHash(rec) == merge.ContentHash(source.Record{}) {
				t.Errorf("the content hash does not see %s: a change in it would be skipped as a duplicate", f.Name)
			}

			mapped := source.Record{Fields: map[string]string{"KEY": value}}
			merge.MapFields(&mapped, merge.Connection{FieldMap: map[string]string{"KEY": f.Name}})
			if *f.Of(&mapped) != value || !merge.CoreField(f.Name) {
				t.Errorf("a platform field mapped to %s does not set it (%q)", f.Name, *f.Of(&mapped))
			}

			rec.ConnectionID, rec.ExternalID, rec.Emails = "conn", "701", []string{"ann@example.com"}
			rec.UpdatedAt = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
			conn := merge.Connection{ID: "conn", Mode: consent.Inferred}
			d := merge.Merge(merge.Input{Record: rec, Identity: merge.Identify(rec, "AU"), Connection: conn, Now: rec.UpdatedAt, NewID: "c1"})
			c := merge.Apply(merge.State{}, d).Contacts["c1"]
			if got := c.Core(f.Name); got.Value != value || !got.At.Equal(rec.UpdatedAt) {
				t.Fatalf("after a merge the contact's %s is %+v, want %q at the record's time (%s)", f.Name, *got, value, d.Outcome)
			}

			o := contactOut(store.ContactView{Contact: c}, nil)
			b, err := json.Marshal(o)
			var shown map[string]any
			if err != nil || json.Unmarshal(b, &shown) != nil || shown[f.Name] != value {
				t.Errorf("the API's contact %s does not show %s = %q", b, f.Name, value)
			}
			header, row := csvHeader(nil), csvRow(o, nil)
			if j := slices.Index(header, f.Name); j < 0 || len(row) != len(header) || row[j] != value {
				t.Errorf("the CSV export's header %v and row %v: want a %s column holding %q", header, row, f.Name, value)
			}
		})
	}
	for name := range notContactFields {
		if _, ok := rt.FieldByName(name); !ok {
			t.Errorf("notContactFields names %s, which source.Record no longer has", name)
		}
	}
}

// TestContactOut_JSONShape pins the API's contact: the id, the names as
// they always were, then the rest as tagged (a new first-class field goes
// between the names and the email).
func TestContactOut_JSONShape(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := merge.Contact{ID: "c1", FirstName: merge.Field{Value: "Ann <&>"}, LastName: merge.Field{Value: "Lee"},
		Email: merge.Field{Value: "ann@example.com"}, Phone: "+61412345678", CreatedAt: at, UpdatedAt: at}
	b, err := json.Marshal(contactOut(store.ContactView{Contact: c, Status: "subscribed"}, nil))
	head, tail := `{"id":"c1","firstName":"Ann \u003c\u0026\u003e","lastName":"Lee",`, `"email":"ann@example.com","phone":"+61412345678",`+
		`"status":"subscribed","sources":[],"groups":[],"createdAt":"2026-03-04T05:06:07Z","updatedAt":"2026-03-04T05:06:07Z","fields":{}}`
	if err != nil || !strings.HasPrefix(string(b), head) || !strings.HasSuffix(string(b), tail) || !json.Valid(b) {
		t.Errorf("contact JSON\n%s (%v)\nwant\n%s ... %s", b, err, head, tail)
	}
	if h := strings.Join(csvHeader([]string{"points"}), ","); !strings.HasPrefix(h, "id,firstName,lastName,") ||
		!strings.HasSuffix(h, ",email,phone,status,sources,groups,createdAt,updatedAt,points") {
		t.Errorf("CSV header %s", h)
	}
}
