package merge

import (
	"reflect"
	"testing"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// A mapped field wins over the platform's own: MMERGE7 -> firstName
// replaces FNAME, MMERGE5 -> phone replaces the SMS phone, and typed
// custom fields are stored in their canonical form; a value that does not
// parse is that field's note, never the record's problem.
func TestMapFields_MappedWinsAndTypes(t *testing.T) {
	t.Parallel()
	conn := Connection{ID: "mc-1", Mode: consent.Explicit,
		FieldMap:   map[string]string{"MMERGE7": FieldFirstName, "MMERGE5": FieldPhone, "POINTS": "points", "BDAY": "birthday", "JOINED": "joined", "BAD": "badDate"},
		FieldTypes: map[string]string{"POINTS": source.FieldNumber, "BDAY": source.FieldBirthday, "JOINED": source.FieldDate, "BAD": source.FieldDate}}
	orig := map[string]string{"MMERGE7": " Jane ", "MMERGE5": "0412 345 678", "POINTS": "1,250.50", "BDAY": "02/29", "JOINED": "2024-03-01T10:00:00+10:00", "BAD": "soon", "EMPTY": ""}
	r := source.Record{FirstName: "jdoe", Country: "AU", Fields: orig,
		Phones: []source.PhoneField{{Raw: "+15005550006", Field: "sms_phone_number"}}}
	notes := MapFields(&r, conn)
	if r.FirstName != "Jane" {
		t.Errorf("first name = %q, want the mapped Jane", r.FirstName)
	}
	if want := []source.PhoneField{{Raw: "0412 345 678", Country: "AU", Field: "field:MMERGE5"}}; !reflect.DeepEqual(r.Phones, want) {
		t.Errorf("phones = %+v, want %+v", r.Phones, want)
	}
	if want := map[string]string{"points": "1250.5", "birthday": "02-29", "joined": "2024-03-01"}; !reflect.DeepEqual(r.Fields, want) {
		t.Errorf("fields = %v, want %v", r.Fields, want)
	}
	if want := []string{"field_invalid:badDate"}; !reflect.DeepEqual(notes, want) {
		t.Errorf("notes = %v, want %v", notes, want)
	}
	if orig["MMERGE7"] != " Jane " || len(orig) != 7 {
		t.Errorf("the caller's map was written through: %v", orig)
	}
	// Empty mapped values change nothing.
	r2 := source.Record{FirstName: "Ann", Phones: []source.PhoneField{{Raw: "+15005550006"}}, Fields: map[string]string{"MMERGE7": " ", "MMERGE5": ""}}
	MapFields(&r2, conn)
	if r2.FirstName != "Ann" || len(r2.Phones) != 1 || r2.Fields != nil {
		t.Errorf("empty mapped values changed the record: %+v", r2)
	}
}

func TestTypedValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ, in, want string
		ok            bool
	}{
		{source.FieldNumber, "42", "42", true},
		{source.FieldNumber, " -3.50 ", "-3.5", true},
		{source.FieldNumber, "12abc", "", false},
		{source.FieldNumber, "1e300", "", false},
		{source.FieldNumber, "NaN", "", false},
		{source.FieldDate, "2024/12/31", "2024-12-31", true},
		{source.FieldDate, "2024-02-30", "", false},
		{source.FieldBirthday, "12/25", "12-25", true},
		{source.FieldBirthday, "--07-04", "07-04", true},
		{source.FieldBirthday, "1990-07-04", "07-04", true},
		{source.FieldBirthday, "13/01", "", false},
		{source.FieldText, " x ", "x", true},
		{"", "y", "y", true},
	} {
		got, ok := source.TypedValue(c.typ, c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("TypedValue(%q, %q) = %q, %v; want %q, %v", c.typ, c.in, got, ok, c.want, c.ok)
		}
	}
}
