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

// TestPerson_NoTwoPeopleShareANumberByAccident: people share a number only
// when a fake is asked to overlap them, so a benchmark's merges do not grow
// with its size (with one US exchange range, 6 % of 100,000 people did, and
// none of 10,000). Every US number, whatever its area code, normalises as
// declared.
func TestPerson_NoTwoPeopleShareANumberByAccident(t *testing.T) {
	owner := map[string]int{}
	for i := range 100_000 {
		p := NewPerson(1, i)
		if p.E164 == "" {
			continue
		}
		if j, ok := owner[p.E164]; ok {
			t.Fatalf("people %d and %d share %s", j, i, p.E164)
		}
		owner[p.E164] = i
		if p.Country == "US" {
			if got, _ := phone.Normalize(p.Phone, p.Country, "AU"); got != p.E164 {
				t.Fatalf("person %d phone %q normalises to %q, generator says %q", i, p.Phone, got, p.E164)
			}
		}
	}
}
