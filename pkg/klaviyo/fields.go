package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// standardFields are the profile attributes a field map can name, keyed
// with Klaviyo's "$" prefix of its special properties so they never meet
// a custom property's key (custom properties are keyed by their own name).
var standardFields = []source.Field{
	{Key: "$email", Label: "Email", Type: source.FieldEmail},
	{Key: "$phone_number", Label: "Phone Number", Type: source.FieldPhone},
	{Key: "$first_name", Label: "First Name", Type: source.FieldText},
	{Key: "$last_name", Label: "Last Name", Type: source.FieldText},
	{Key: "$external_id", Label: "External ID", Type: source.FieldText},
	{Key: "$organization", Label: "Organization", Type: source.FieldText},
	{Key: "$title", Label: "Title", Type: source.FieldText},
	{Key: "$address1", Label: "Address 1", Type: source.FieldText},
	{Key: "$address2", Label: "Address 2", Type: source.FieldText},
	{Key: "$city", Label: "City", Type: source.FieldText},
	{Key: "$region", Label: "Region", Type: source.FieldText},
	{Key: "$zip", Label: "Zip", Type: source.FieldText},
	{Key: "$country", Label: "Country", Type: source.FieldText},
}

// FieldSamplePages is how many profile pages (100 profiles each) Fields
// reads to find custom property keys: Klaviyo's API lists no property
// schema, so the keys are those a sample of profiles carries.
const FieldSamplePages = 2

// maxSampledProperties bounds the custom keys the sample offers.
const maxSampledProperties = 200

// Fields lists the standard profile attributes and the custom properties
// seen on the first FieldSamplePages pages of profiles (GET /api/profiles
// with the properties sparse fieldset): source.FieldLister. A property's
// type is read from its values: numbers are number, YYYY-MM-DD strings
// date, the rest text. A property no sampled profile has is not offered.
func (c *Client) Fields(ctx context.Context) ([]source.Field, error) {
	out := slices.Clone(standardFields)
	sample := source.FieldSample{}
	q := url.Values{"page[size]": {strconv.Itoa(PageSize)}, "fields[profile]": {"properties"}}
	type profile struct {
		Attributes struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"attributes"`
	}
	_, err := listing(ctx, c, "/api/profiles", q, false, FieldSamplePages, func(data []profile) bool {
		for _, p := range data {
			for k, raw := range p.Attributes.Properties {
				if k != "" && !strings.HasPrefix(k, "$") {
					sample.Add(k, propertyType(raw), maxSampledProperties)
				}
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("klaviyo: sampling profile properties: %w", err)
	}
	return append(out, sample.Fields()...), nil
}

func propertyType(raw json.RawMessage) string {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return source.FieldNumber
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && source.ISODate.MatchString(s) {
		return source.FieldDate
	}
	return source.FieldText
}

// mappedFields returns the profile's values of the fields the map names,
// as text by key ("$first_name", or a custom property's name).
func (p Profile) mappedFields(fieldMap map[string]string) map[string]string {
	a := p.Attributes
	var out map[string]string
	for k := range fieldMap {
		var v string
		if std, ok := strings.CutPrefix(k, "$"); ok {
			v = p.standard(std)
		} else if raw, ok := a.Properties[k]; ok && raw != nil {
			v = propertyText(raw)
		}
		if v = strings.TrimSpace(v); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func (p Profile) standard(name string) string {
	a := p.Attributes
	switch name {
	case "email":
		return a.Email
	case "phone_number":
		return a.PhoneNumber
	case "first_name":
		return a.FirstName
	case "last_name":
		return a.LastName
	case "external_id":
		return a.ExternalID
	case "organization":
		return a.Organization
	case "title":
		return a.Title
	}
	if l := a.Location; l != nil {
		switch name {
		case "address1":
			return l.Address1
		case "address2":
			return l.Address2
		case "city":
			return l.City
		case "region":
			return l.Region
		case "zip":
			return l.Zip
		case "country":
			return l.Country
		}
	}
	return ""
}

// propertyText renders a custom property value as text: strings as they
// are, numbers without exponent noise, lists joined, objects as JSON.
func propertyText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, propertyText(e))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v) // decoded JSON always re-encodes
	return string(b)
}

var _ source.FieldLister = (*Client)(nil)
