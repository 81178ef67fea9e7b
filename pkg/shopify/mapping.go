package shopify

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Customer is a GraphQL customer node.
type Customer struct {
	ID        string    `json:"id"`
	FirstName string    `json:"firstName"`
	LastName  string    `json:"lastName"`
	UpdatedAt time.Time `json:"updatedAt"`
	Tags      []string  `json:"tags"`
	// State is the customer's account (CustomerState): ENABLED, INVITED,
	// DECLINED or DISABLED; DISABLED with no account is how a guest
	// checkout's customer record looks.
	State               string `json:"state"`
	DefaultEmailAddress *struct {
		EmailAddress string `json:"emailAddress"`
	} `json:"defaultEmailAddress"`
	DefaultPhoneNumber *PhoneNumber     `json:"defaultPhoneNumber"`
	DefaultAddress     *customerAddress `json:"defaultAddress"`
	// The mapped metafields, by alias (fields.go).
	metafieldAliases
}

// customerAddress is a customer's default address.
type customerAddress struct {
	Phone         string `json:"phone"`
	CountryCodeV2 string `json:"countryCodeV2"`
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	Company       string `json:"company"`
	Address1      string `json:"address1"`
	Address2      string `json:"address2"`
	City          string `json:"city"`
	Province      string `json:"province"`
	ProvinceCode  string `json:"provinceCode"`
	Zip           string `json:"zip"`
	Country       string `json:"country"`
}

// PhoneNumber is a customer's SMS consent phone.
type PhoneNumber struct {
	PhoneNumber         string     `json:"phoneNumber"`
	MarketingState      string     `json:"marketingState"`
	MarketingOptInLevel string     `json:"marketingOptInLevel"`
	MarketingUpdatedAt  *time.Time `json:"marketingUpdatedAt"`
}

// parseID reads a numeric id or a GID ("gid://shopify/Customer/123").
func parseID(s string) (int64, error) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return strconv.ParseInt(s, 10, 64)
}

func label(opts source.Options) string {
	return cmp.Or(opts.Label, source.Shopify.DefaultLabel())
}

func consentFrom(state, level string, at *time.Time) source.ConsentSignal {
	sig := source.ConsentSignal{State: source.SignalNeverAsked, Method: level}
	switch strings.ToUpper(state) {
	case "SUBSCRIBED":
		sig.State = source.SignalSubscribed
	case "UNSUBSCRIBED":
		sig.State = source.SignalUnsubscribed
	}
	if at != nil {
		sig.At = at.UTC()
	}
	return sig
}

func (n Customer) record(opts source.Options) (source.Record, error) {
	id, err := parseID(n.ID)
	if err != nil {
		return source.Record{}, fmt.Errorf("shopify: customer id %q: %w", n.ID, err)
	}
	r := source.Record{
		Platform: source.Shopify, Label: label(opts), ConnectionID: opts.ConnectionID, ExternalID: strconv.FormatInt(id, 10),
		UpdatedAt: n.UpdatedAt.UTC(), FirstName: strings.TrimSpace(n.FirstName), LastName: strings.TrimSpace(n.LastName),
		Groups: n.Tags, HasGroups: true, Consent: source.ConsentSignal{State: source.SignalNeverAsked},
		// A customer without an account (a guest checkout's record) is
		// a guest: "<Label> - Guests".
		Guest: strings.EqualFold(n.State, "DISABLED"),
	}
	if n.DefaultEmailAddress != nil && strings.TrimSpace(n.DefaultEmailAddress.EmailAddress) != "" {
		r.Emails = []string{strings.TrimSpace(n.DefaultEmailAddress.EmailAddress)}
	}
	if n.DefaultAddress != nil {
		r.Country = n.DefaultAddress.CountryCodeV2
	}
	if p := n.DefaultPhoneNumber; p != nil {
		if p.PhoneNumber != "" {
			r.Phones = append(r.Phones, source.PhoneField{Raw: p.PhoneNumber, Country: r.Country, Field: "sms_consent"})
		}
		r.Consent = consentFrom(p.MarketingState, p.MarketingOptInLevel, p.MarketingUpdatedAt)
	}
	if a := n.DefaultAddress; a != nil && a.Phone != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: a.Phone, Country: a.CountryCodeV2, Field: "default_address"})
	}
	r.Fields = n.mappedFields(opts.FieldMap)
	return r, nil
}

// restAddress is an address in webhook (REST-shaped) bodies.
type restAddress struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Phone       string `json:"phone"`
	CountryCode string `json:"country_code"`

	// The rest of the address, for field maps (fields.go).
	Company      string `json:"company"`
	Address1     string `json:"address1"`
	Address2     string `json:"address2"`
	City         string `json:"city"`
	Province     string `json:"province"`
	ProvinceCode string `json:"province_code"`
	Zip          string `json:"zip"`
	Country      string `json:"country"`
}

// restCustomer is a customer in webhook bodies (2025-01+: no tags, no consent).
type restCustomer struct {
	ID             json.Number  `json:"id"`
	UpdatedAt      *time.Time   `json:"updated_at"`
	FirstName      string       `json:"first_name"`
	LastName       string       `json:"last_name"`
	Email          string       `json:"email"`
	Phone          string       `json:"phone"`
	State          string       `json:"state"`
	DefaultAddress *restAddress `json:"default_address"`
}

func (c restCustomer) record(opts source.Options) (source.Record, error) {
	id, err := c.ID.Int64()
	if err != nil || id <= 0 {
		return source.Record{}, fmt.Errorf("%w: customer id %q", ErrMalformed, c.ID)
	}
	r := source.Record{
		Platform: source.Shopify, Label: label(opts), ConnectionID: opts.ConnectionID, ExternalID: strconv.FormatInt(id, 10),
		FirstName: strings.TrimSpace(c.FirstName), LastName: strings.TrimSpace(c.LastName),
		Guest: strings.EqualFold(c.State, "disabled"), // no account: a guest checkout's customer
	}
	if c.UpdatedAt != nil {
		r.UpdatedAt = c.UpdatedAt.UTC()
	}
	if e := strings.TrimSpace(c.Email); e != "" {
		r.Emails = []string{e}
	}
	country := ""
	if a := c.DefaultAddress; a != nil {
		country = a.CountryCode
		r.Country = country
	}
	if c.Phone != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: c.Phone, Country: country, Field: "phone"})
	}
	if a := c.DefaultAddress; a != nil && a.Phone != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: a.Phone, Country: a.CountryCode, Field: "default_address"})
	}
	r.Fields = c.restFields(opts.FieldMap)
	return r, nil
}
