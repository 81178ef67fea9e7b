package phone

import (
	"fmt"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

type tc struct {
	raw, country, region string
	want                 string
	reason               Reason
}

func run(t *testing.T, tests []tc) {
	t.Helper()
	for _, tt := range tests {
		got, reason := Normalize(tt.raw, tt.country, tt.region)
		if got != tt.want || reason != tt.reason {
			t.Errorf("Normalize(%q, %q, %q) = %q, %q; want %q, %q", tt.raw, tt.country, tt.region, got, reason, tt.want, tt.reason)
		}
	}
}

func TestNormalize_NationalFormatsOfEachRegion(t *testing.T) {
	run(t, []tc{
		{"0412 345 678", "AU", "", "+61412345678", ""},
		{"(02) 9876 5432", "AU", "", "+61298765432", ""},
		{"(415) 555-2671", "US", "", "+14155552671", ""},
		{"415.555.2671", "US", "", "+14155552671", ""},
		{"07400 123456", "GB", "", "+447400123456", ""},
		{"021 123 4567", "NZ", "", "+64211234567", ""},
		{"0151 23456789", "DE", "", "+4915123456789", ""},
		{"(613) 555-0123", "CA", "", "+16135550123", ""},
	})
}

func TestNormalize_InternationalForms(t *testing.T) {
	run(t, []tc{
		{"+61 412 345 678", "", "", "+61412345678", ""},
		{"+ 61 412 345 678", "US", "", "+61412345678", ""},
		{"+1(502)-459-2181", "US", "", "+15024592181", ""},
		{"00 44 20 7946 0958", "GB", "", "+442079460958", ""},
		{"00 44 20 7946 0958", "US", "", "+442079460958", ""},   // 00 is not the US prefix: tried as one
		{"011 61 412 345 678", "US", "", "+61412345678", ""},    // the US prefix
		{"011 61 412 345 678", "AU", "", "+61412345678", ""},    // 011 from an AU record
		{"0011 44 20 7946 0958", "AU", "", "+442079460958", ""}, // the AU prefix
		{"0113 496 0000", "GB", "", "+441134960000", ""},        // a Leeds number, not a 011 prefix
	})
}

func TestNormalize_RegionFromRecordCountryFirstThenDefault(t *testing.T) {
	run(t, []tc{
		{"0412 345 678", "AU", "US", "+61412345678", ""},
		{"0412 345 678", "", "AU", "+61412345678", ""},
		{"0412 345 678", "GB", "AU", "+61412345678", ""}, // only valid in the default region
		{"07400 123456", "GB", "AU", "+447400123456", ""},
		{"415-555-2671", "", "", "", ReasonNoRegion},
	})
}

func TestNormalize_ValidOnlyInOtherRegion(t *testing.T) {
	run(t, []tc{
		{"+44 7400 123456", "AU", "AU", "+447400123456", ""},
		{"0412 345 678", "US", "", "", ReasonInvalidForRegion},
	})
}

func TestNormalize_CutsNotesBeforeParsing(t *testing.T) {
	// Letters would otherwise be read as keypad digits (home = 4663).
	run(t, []tc{
		{"0412 345 678 home", "AU", "", "+61412345678", ""},
		{"0412 345 678 - home", "AU", "", "+61412345678", ""},
		{"0412 345 678 (work)", "AU", "", "+61412345678", ""},
		{"(mobile) 0412 345 678", "AU", "", "+61412345678", ""},
		{"0412 345 678 / office", "AU", "", "+61412345678", ""},
		{"mobile: 0412 345 678", "AU", "", "+61412345678", ""},
		{"Tel. +61 412 345 678", "", "", "+61412345678", ""},
		{"cell 415 555 2671", "US", "", "+14155552671", ""},
		{"415 555 2671 [Mom]", "US", "", "+14155552671", ""},
	})
}

func TestNormalize_ExtensionsDropped(t *testing.T) {
	run(t, []tc{
		{"+1 (415) 555-2671 ext. 12", "", "", "+14155552671", ""},
		{"(415) 555-2671 x12", "US", "", "+14155552671", ""},
		{"020 7946 0958 #204", "GB", "", "+442079460958", ""},
		{"020 7946 0958 extension 204", "GB", "", "+442079460958", ""},
	})
}

func TestNormalize_TwoNumbersInvalid(t *testing.T) {
	run(t, []tc{
		{"0412 345 678 / 0498 765 432", "AU", "", "", ReasonMultipleNumbers},
		{"555-1234, 555-9876", "US", "", "", ReasonMultipleNumbers},
		{"0412345678 0498765432", "AU", "", "", ReasonMultipleNumbers},
		{"0412 345 678 or 0498 765 432", "AU", "", "", ReasonMultipleNumbers},
	})
}

func TestNormalize_SpreadsheetFloatInvalid(t *testing.T) {
	run(t, []tc{
		{"4.15555E+9", "US", "", "", ReasonSpreadsheetFloat},
		{"6.1412345678e+10", "AU", "", "", ReasonSpreadsheetFloat},
		{"4,15555E+09", "US", "", "", ReasonSpreadsheetFloat},
	})
}

func TestNormalize_VanityAndJunk(t *testing.T) {
	run(t, []tc{
		{"1-800-FLOWERS", "US", "", "", ReasonVanity},
		{"1800FLOWERS", "US", "", "", ReasonVanity},
		{"", "AU", "", "", ReasonEmpty},
		{"   ", "AU", "", "", ReasonEmpty},
		{"n/a", "AU", "", "", ReasonNotANumber},
		{"12", "US", "", "", ReasonTooShort},
		{"+999 1234 5678", "", "", "", ReasonInvalidCountryCode},
		{"(555) 555-5555", "US", "", "", ReasonInvalidForRegion},
	})
}

// TestNormalize_AgreesWithLibrary checks that for inputs without notes the
// answer is exactly libphonenumber's (valid?, E.164) for the region.
func TestNormalize_AgreesWithLibrary(t *testing.T) {
	regions := []string{"AU", "US", "GB", "NZ", "DE", "CA", "FR", "IN"}
	for i := range 4000 {
		region := regions[i%len(regions)]
		raw := fmt.Sprintf("%d", 1000000+(i*7919)%90000000000)
		if i%3 == 0 {
			raw = "0" + raw
		}
		if i%5 == 0 {
			raw = "+" + raw
		}
		got, reason := Normalize(raw, region, "")
		var n phonenumbers.PhoneNumber
		want := ""
		if err := phonenumbers.ParseToNumber(raw, region, &n); err == nil && phonenumbers.IsValidNumber(&n) {
			want = phonenumbers.Format(&n, phonenumbers.E164)
		}
		if want != "" && got != want {
			t.Fatalf("Normalize(%q, %s) = %q %q, library says %q", raw, region, got, reason, want)
		}
		if want == "" && got != "" {
			// Only the international-prefix rule may find more than the library.
			if _, ok := internationalPrefix(raw); !ok {
				t.Fatalf("Normalize(%q, %s) = %q, library says invalid", raw, region, got)
			}
		}
	}
}

func TestMask(t *testing.T) {
	if got := Mask("+61412345678"); got != "+6141****678" {
		t.Errorf("Mask = %q", got)
	}
	if got := E164("+61412345678").LogValue().String(); got != "+6141****678" {
		t.Errorf("LogValue = %q", got)
	}
}

func ExampleNormalize() {
	for _, raw := range []string{"0412 345 678 (mobile)", "1-800-FLOWERS", "4.15555E+9"} {
		e164, reason := Normalize(raw, "AU", "")
		fmt.Printf("%q -> %q %q\n", raw, e164, reason)
	}
	// Output:
	// "0412 345 678 (mobile)" -> "+61412345678" ""
	// "1-800-FLOWERS" -> "" "vanity_number"
	// "4.15555E+9" -> "" "spreadsheet_float"
}
