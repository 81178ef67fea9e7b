package merge

import (
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// notHashed names the fields of source.Record (and of the structs it
// holds) that ContentHash leaves out on purpose, each with the reason. A
// field added to the record is hashed or listed here: otherwise
// TestContentHashCoversEveryField fails, because a change in a field the
// hash forgets is skipped as a duplicate and never reaches the contact.
var notHashed = map[string]string{
	"Record.Partial":    "how the record is applied, not what it says: a partial record with the same content as the last applied one changes nothing",
	"Record.OutOfScope": "always set with Deleted, which is hashed; an out-of-scope record is applied as a deletion and never compared by hash",
	"Record.Unreadable": "an unreadable record is reported invalid before merge; it is never hashed against a link",
	"Record.KeepGroups": "names groups the complete set does not speak for; it changes no group the record states, so equal content with other kept groups writes nothing",
}

// TestContentHashCoversEveryField changes each field of a full record, one
// at a time (nested structs and slice elements included), and requires the
// content hash to change unless notHashed gives the reason it may not.
func TestContentHashCoversEveryField(t *testing.T) {
	base := source.Record{
		Platform: source.Shopify, Label: "Shopify", ConnectionID: "conn-1", ExternalID: "701",
		UpdatedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC), FirstName: "Zoë", LastName: "O'Neill",
		Emails:  []string{"zoe@example.com"},
		Phones:  []source.PhoneField{{Raw: "0412 345 678", Country: "AU", Field: "default_address"}},
		Country: "AU", Consent: source.ConsentSignal{State: source.SignalSubscribed, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Method: "SINGLE_OPT_IN"},
		Groups: []string{"VIP"}, AddGroups: []string{"a"}, RemoveGroups: []string{"b"},
		Fields: map[string]string{"tier": "gold"}, KeepGroups: []string{"Segment"},
	}
	want := ContentHash(base)
	seen := map[string]bool{}
	var walk func(name string, v reflect.Value, set func(mutate func(reflect.Value)) uint64)
	walk = func(name string, v reflect.Value, set func(mutate func(reflect.Value)) uint64) {
		switch {
		case v.Type() == reflect.TypeOf(time.Time{}):
			check(t, name, set, func(f reflect.Value) { f.Set(reflect.ValueOf(f.Interface().(time.Time).Add(time.Second))) }, want)
		case v.Kind() == reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				sf := v.Type().Field(i)
				if !sf.IsExported() {
					continue
				}
				fname := v.Type().Name() + "." + sf.Name
				seen[fname] = true
				if _, skip := notHashed[fname]; skip {
					continue
				}
				walk(fname, v.Field(i), func(mutate func(reflect.Value)) uint64 {
					return set(func(s reflect.Value) { mutate(s.Field(i)) })
				})
			}
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
			if v.Len() == 0 {
				t.Fatalf("%s: the base record must hold one element to vary", name)
			}
			walk(name, v.Index(0), func(mutate func(reflect.Value)) uint64 {
				return set(func(s reflect.Value) {
					c := reflect.MakeSlice(s.Type(), s.Len(), s.Len())
					reflect.Copy(c, s)
					mutate(c.Index(0))
					s.Set(c)
				})
			})
		default:
			check(t, name, set, vary, want)
		}
	}
	walk("Record", reflect.ValueOf(base), func(mutate func(reflect.Value)) uint64 {
		r := base
		mutate(reflect.ValueOf(&r).Elem())
		return ContentHash(r)
	})
	for name := range notHashed {
		if !seen[name] {
			t.Errorf("notHashed names %s, which source.Record no longer has", name)
		}
	}
}

// check varies one field through set and reports it by name when the
// hash does not change.
func check(t *testing.T, name string, set func(func(reflect.Value)) uint64, mutate func(reflect.Value), want uint64) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		if set(mutate) == want {
			t.Errorf("a change of %s leaves the content hash as it was: hash it in contentHash, or say in notHashed why it may not be", name)
		}
	})
}

// vary changes a value of a basic kind, slice or map to another non-zero
// value of its type.
func vary(f reflect.Value) {
	switch f.Kind() {
	case reflect.String:
		f.SetString(f.String() + "x")
	case reflect.Bool:
		f.SetBool(!f.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(f.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.SetUint(f.Uint() + 1)
	case reflect.Slice:
		f.Set(reflect.Append(f, reflect.New(f.Type().Elem()).Elem().Convert(f.Type().Elem())))
		if f.Type().Elem().Kind() == reflect.String {
			f.Index(f.Len() - 1).SetString("added")
		}
	case reflect.Map:
		m := reflect.MakeMap(f.Type())
		for _, k := range f.MapKeys() {
			m.SetMapIndex(k, f.MapIndex(k))
		}
		m.SetMapIndex(reflect.ValueOf("added").Convert(f.Type().Key()), reflect.ValueOf("v").Convert(f.Type().Elem()))
		f.Set(m)
	default:
		panic("vary: no rule for kind " + f.Kind().String())
	}
}
