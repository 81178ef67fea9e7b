package merge

import (
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// TestContentHashIsStable pins ContentHash: it is persisted on every source
// link, so a change to the hash function makes every stored record look
// changed (a full re-write on the next sync). The values were computed by
// the byte-at-a-time implementation this one replaced.
func TestContentHashIsStable(t *testing.T) {
	r := source.Record{
		Platform: source.Shopify, Label: "Shopify", ConnectionID: "conn-1", ExternalID: "7012345678901",
		UpdatedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC), FirstName: "Zoë", LastName: "O'Neill-Smith",
		Emails:  []string{"Zoe.ONeill@Example.com", "z@example.org"},
		Phones:  []source.PhoneField{{Raw: "0412 345 678", Country: "AU", Field: "default_address"}, {Raw: "+1 (415) 555-0100", Field: "billing"}},
		Country: "AU", Consent: source.ConsentSignal{State: source.SignalSubscribed, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Method: "SINGLE_OPT_IN"},
		Groups: []string{"VIP", "Newsletter"}, HasGroups: true, AddGroups: []string{"a"}, RemoveGroups: []string{"bcdefghij"},
		Guest: true, Fields: map[string]string{"tier": "gold", "birthday": "1990-01-01"},
	}
	for _, tc := range []struct {
		name string
		r    source.Record
		want uint64
	}{
		{"full record", r, 0x43b782f1b4c4f34d},
		{"empty record", source.Record{}, 0x73101d1c0319ad9},
	} {
		if got := ContentHash(tc.r); got != tc.want {
			t.Errorf("%s: ContentHash = %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

// TestHashStringTailIsTheByteLoop: the word loads of the tail give what the
// byte-at-a-time loop gave, for every tail length.
func TestHashStringTailIsTheByteLoop(t *testing.T) {
	s := "abcdefghijklmnopqrstuvwxyz\xff\x00\x80"
	for i := 0; i <= len(s); i++ {
		for j := i; j <= len(s); j++ {
			x := s[i:j]
			want := mix(uint64(hashSeed), uint64(len(x)))
			for len(x) >= 8 {
				var v uint64
				for k := 0; k < 8; k++ {
					v |= uint64(x[k]) << (8 * k)
				}
				want, x = mix(want, v), x[8:]
			}
			if len(x) > 0 {
				var v uint64
				for k := 0; k < len(x); k++ {
					v |= uint64(x[k]) << (8 * k)
				}
				want = mix(want, v)
			}
			if got := hashString(hashSeed, s[i:j]); got != want {
				t.Fatalf("hashString(%q) = %#x, want %#x", s[i:j], got, want)
			}
		}
	}
}
