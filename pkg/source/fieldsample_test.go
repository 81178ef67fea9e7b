package source_test

import (
	"reflect"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// A sampled key keeps its type while every value agrees (else text), the
// keys come sorted, and a new key past Max is not offered.
func TestFieldSample(t *testing.T) {
	t.Parallel()
	s := source.FieldSample{Max: 3}
	s.Add("tier", source.FieldNumber)
	s.Add("born", source.FieldDate)
	s.Add("tier", source.FieldNumber)
	s.Add("born", source.FieldNumber)
	s.Add("born", source.FieldDate)
	s.Add("club", source.FieldText)
	s.Add("zz-late", source.FieldNumber)
	s.Add("tier", source.FieldNumber)
	want := []source.Field{
		{Key: "born", Label: "born", Type: source.FieldText},
		{Key: "club", Label: "club", Type: source.FieldText},
		{Key: "tier", Label: "tier", Type: source.FieldNumber},
	}
	if got := s.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	if !source.IsISODate("2024-02-29") || source.IsISODate("2024-02-29T10:00:00Z") || source.IsISODate("29/02/2024") {
		t.Fatal("IsISODate")
	}
}
