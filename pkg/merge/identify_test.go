package merge

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/source"
)

// phoneReason is pkg/phone's reason for raw (its own tests pin the values).
func phoneReason(raw string) Reason {
	_, r := phone.Normalize(raw, "", "AU")
	return Reason(r)
}

func TestIdentify_SeveralPhones_FirstValidWins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  source.Record
		want Identity
	}{
		{
			name: "FirstValidPhoneAndEmail",
			rec: source.Record{
				Phones: []source.PhoneField{{Raw: "12"}, {Raw: "0412 345 678"}, {Raw: "+61 498 765 432"}},
				Emails: []string{"not-an-email", " Jane@Example.com "},
			},
			want: Identity{Phone: "+61412345678", Email: "Jane@Example.com", EmailKey: "jane@example.com"},
		},
		{
			name: "PhoneOwnCountryBeforeRecordCountry",
			rec: source.Record{
				Country: "AU",
				Phones:  []source.PhoneField{{Raw: "(201) 555-0123", Country: "US"}},
			},
			want: Identity{Phone: "+12015550123"},
		},
		{
			name: "NoValidPhone_ReasonOfFirstNonEmpty",
			rec:  source.Record{Phones: []source.PhoneField{{Raw: ""}, {Raw: "12"}, {Raw: "abc"}}},
			want: Identity{PhoneReason: phoneReason("12")},
		},
		{
			name: "InvalidEmailReason",
			rec:  source.Record{Emails: []string{"", "a@b"}},
			want: Identity{EmailReason: "invalid_syntax"},
		},
		{
			name: "Nothing",
			rec:  source.Record{},
			want: Identity{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Identify(tt.rec, "AU"); got != tt.want {
				t.Errorf("Identify() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
