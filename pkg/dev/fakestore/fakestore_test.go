package fakestore

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/phone"
)

func TestPerson_DeterministicAndPhonesNormaliseAsDeclared(t *testing.T) {
	for i := range 2000 {
		p := NewPerson(1, i)
		if q := NewPerson(1, i); q.Email != p.Email || q.Phone != p.Phone {
			t.Fatalf("person %d not deterministic", i)
		}
		if NewPerson(2, i).Phone != p.Phone {
			t.Fatalf("person %d: phone depends on the seed", i)
		}
		got, _ := phone.Normalize(p.Phone, p.Country, "AU")
		if got != p.E164 {
			t.Fatalf("person %d phone %q normalises to %q, generator says %q", i, p.Phone, got, p.E164)
		}
	}
}
