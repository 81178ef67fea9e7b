package source_test

import (
	"reflect"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// A sampled key keeps its type while every value agrees (else text), the
// keys come sorted, and a new key past the most kept is not offered.
func TestFieldSample(t *testing.T) {
	t.Parallel()
	s := source.FieldSample{}
	s.Add("tier", source.FieldNumber, 3)
	s.Add("born", source.FieldDate, 3)
	s.Add("tier", source.FieldNumber, 3)
	s.Add("born", source.FieldNumber, 3)
	s.Add("born", source.FieldDate, 3)
	s.Add("club", source.FieldText, 3)
	s.Add("zz-late", source.FieldNumber, 3)
	s.Add("tier", source.FieldNumber, 3)
	want := []source.Field{
		{Key: "born", Label: "born", Type: source.FieldText},
		{Key: "club", Label: "club", Type: source.FieldText},
		{Key: "tier", Label: "tier", Type: source.FieldNumber},
	}
	if got := s.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	if !source.ISODate.MatchString("2024-02-29") || source.ISODate.MatchString("2024-02-29T10:00:00Z") || source.ISODate.MatchString("29/02/2024") {
		t.Fatal("ISODate")
	}
}
