package klaviyo

import (
	"cmp"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Profile is a JSON:API profile resource.
type Profile struct {
	ID         string `json:"id"`
	Attributes struct {
		Email        string    `json:"email"`
		PhoneNumber  string    `json:"phone_number"`
		ExternalID   string    `json:"external_id"`
		FirstName    string    `json:"first_name"`
		LastName     string    `json:"last_name"`
		Updated      time.Time `json:"updated"`
		Organization string    `json:"organization"`
		Title        string    `json:"title"`
		Location     *struct {
			Address1 string `json:"address1"`
			Address2 string `json:"address2"`
			City     string `json:"city"`
			Region   string `json:"region"`
			Zip      string `json:"zip"`
			Country  string `json:"country"`
		} `json:"location"`
		Properties    map[string]any `json:"properties"`
		Subscriptions *struct {
			SMS *struct {
				Marketing *struct {
					Consent          string     `json:"consent"`
					ConsentTimestamp *time.Time `json:"consent_timestamp"`
					Method           string     `json:"method"`
				} `json:"marketing"`
			} `json:"sms"`
		} `json:"subscriptions"`
	} `json:"attributes"`
}

// countries maps the country names Klaviyo stores to ISO codes (names it
// does not know leave the country empty: the default region applies).
var countries = map[string]string{
	"united states": "US", "usa": "US", "us": "US", "australia": "AU", "au": "AU", "united kingdom": "GB", "uk": "GB", "gb": "GB",
	"new zealand": "NZ", "nz": "NZ", "germany": "DE", "deutschland": "DE", "de": "DE", "canada": "CA", "ca": "CA", "ireland": "IE", "france": "FR",
}

// Record maps a profile.
func (p Profile) Record(opts source.Options) source.Record {
	a := p.Attributes
	r := source.Record{Platform: source.Klaviyo, Label: opts.Label, ConnectionID: opts.ConnectionID, ExternalID: p.ID,
		UpdatedAt: a.Updated.UTC(), FirstName: strings.TrimSpace(a.FirstName), LastName: strings.TrimSpace(a.LastName),
		Consent: source.ConsentSignal{State: source.SignalNeverAsked}}
	r.Label = cmp.Or(r.Label, source.Klaviyo.DefaultLabel())
	if e := strings.TrimSpace(a.Email); e != "" {
		r.Emails = []string{e}
	}
	if a.Location != nil {
		r.Country = countries[strings.ToLower(strings.TrimSpace(a.Location.Country))]
	}
	if a.PhoneNumber != "" {
		r.Phones = []source.PhoneField{{Raw: a.PhoneNumber, Country: r.Country, Field: "phone_number"}}
	}
	if s := a.Subscriptions; s != nil && s.SMS != nil && s.SMS.Marketing != nil {
		m := s.SMS.Marketing
		switch m.Consent {
		case "SUBSCRIBED":
			r.Consent.State = source.SignalSubscribed
		case "UNSUBSCRIBED":
			r.Consent.State = source.SignalUnsubscribed
		}
		r.Consent.Method = m.Method
		if m.ConsentTimestamp != nil {
			r.Consent.At = m.ConsentTimestamp.UTC()
		}
	}
	r.Fields = p.mappedFields(opts.FieldMap)
	return r
}
