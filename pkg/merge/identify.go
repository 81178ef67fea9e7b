package merge

import (
	"strings"
	"unicode"

	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/source"
)

// Identify normalises a record's identifiers (design.md §3).
//
// Phone: the record's phones are tried in order (connectors put the SMS
// consent phone first) and the first valid one becomes the contact's
// phone; the others are ignored. Each is read with its own address country
// first, then the record's country, then the connection's defaultRegion.
// Empty phone fields count as absent. When none is valid, PhoneReason is
// the reason of the first non-empty one.
//
// Email: likewise the first valid address; the display form is the
// address as sent, trimmed.
func Identify(rec source.Record, defaultRegion string) Identity {
	var id Identity
	for _, p := range rec.Phones {
		country := p.Country
		if country == "" {
			country = rec.Country
		}
		e164, reason := phone.Normalize(p.Raw, country, defaultRegion)
		if reason == phone.ReasonNone {
			id.Phone, id.PhoneReason = e164, ""
			break
		}
		if reason != phone.ReasonEmpty && id.PhoneReason == "" {
			id.PhoneReason = Reason(reason)
		}
	}
	for _, raw := range rec.Emails {
		key, reason := email.Normalize(raw)
		if reason == email.ReasonNone {
			id.Email, id.EmailKey, id.EmailReason = strings.TrimFunc(raw, emailTrim), key, ""
			break
		}
		if reason != email.ReasonEmpty && id.EmailReason == "" {
			id.EmailReason = Reason(reason)
		}
	}
	return id
}

// emailTrim matches what pkg/email trims around an address.
func emailTrim(r rune) bool { return unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' }
