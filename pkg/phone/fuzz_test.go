package phone

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"0412 345 678", "+1 (415) 555-2671 ext. 12", "0412 345 678 / 0498 765 432", "4.15555E+9",
		"1-800-FLOWERS", "(work) 020 7946 0958", "", "+", "00", "011 61 412 345 678", "\x00\xff", "０４１２ ３４５ ６７８", "((((1))))"} {
		f.Add(s, "AU", "US")
	}
	f.Fuzz(func(t *testing.T, raw, country, region string) {
		if len(country) > 3 || len(region) > 3 {
			return
		}
		e164, reason := Normalize(raw, country, region)
		if (e164 == "") == (reason == ReasonNone) {
			t.Fatalf("Normalize(%q) = %q, %q: want exactly one of number or reason", raw, e164, reason)
		}
		if e164 == "" {
			return
		}
		if !strings.HasPrefix(e164, "+") {
			t.Fatalf("%q is not E.164", e164)
		}
		n, err := phonenumbers.Parse(e164, "")
		if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != e164 {
			t.Fatalf("Normalize(%q) = %q, which is not a valid E.164 number", raw, e164)
		}
	})
}
