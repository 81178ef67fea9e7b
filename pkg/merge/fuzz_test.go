package merge

import (
	"reflect"
	"testing"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// FuzzMerge: Identify and Merge never panic on any record text, a decision
// applied twice equals applied once, and merging the same record again
// changes nothing.
func FuzzMerge(f *testing.F) {
	f.Add("Jane", "", "jane@example.com", "0412 345 678", "AU", "VIP,Gold", "subscribed", false)
	f.Add("", "Doe", "not an email", "4.15555E+9", "", "", "", true)
	f.Add("Ｊａｎｅ", "\x00", "A@B.CO", "+1 (502) 459-2181 ext 12", "US", ",,", "unsubscribed", false)
	f.Fuzz(func(t *testing.T, first, last, email, phone, country, groups, signal string, guest bool) {
		rec := source.Record{
			ConnectionID: "c1", ExternalID: "1", UpdatedAt: at(1), FirstName: first, LastName: last,
			Emails: []string{email}, Phones: []source.PhoneField{{Raw: phone}}, Country: country,
			Groups: splitComma(groups), HasGroups: true, Guest: guest,
			Consent: source.ConsentSignal{State: source.SignalState(signal), At: at(1)},
		}
		conn := Connection{ID: "c1", Label: "Shop", Mode: consent.Confirmation, DefaultRegion: "AU"}
		id := Identify(rec, conn.DefaultRegion)
		d := Merge(Input{Record: rec, Identity: id, Connection: conn, Now: at(2), NewID: "n1"})
		s := Apply(State{}, d)
		if !reflect.DeepEqual(Apply(s, d), s) {
			t.Fatalf("Apply twice != once for %+v", d)
		}
		again := Merge(Input{Record: rec, Identity: id, Connection: conn, Now: at(3), NewID: "n2", State: s})
		if len(again.Mutations) != 0 {
			t.Fatalf("second merge changed something: %+v", again)
		}
	})
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
