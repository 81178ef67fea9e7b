package woocommerce

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// addressFields are the keys of a billing or shipping address.
var addressFields = []struct{ key, label, typ string }{
	{"first_name", "First name", source.FieldText}, {"last_name", "Last name", source.FieldText},
	{"company", "Company", source.FieldText}, {"address_1", "Address line 1", source.FieldText},
	{"city", "City", source.FieldText}, {"state", "State", source.FieldText},
	{"postcode", "Postcode", source.FieldText}, {"country", "Country", source.FieldText},
	{"email", "Email", source.FieldEmail}, {"phone", "Phone", source.FieldPhone},
}

// customerFields are the customer's own fields.
var customerFields = []source.Field{
	{Key: "first_name", Label: "First name", Type: source.FieldText},
	{Key: "last_name", Label: "Last name", Type: source.FieldText},
	{Key: "email", Label: "Email", Type: source.FieldEmail},
	{Key: "username", Label: "Username", Type: source.FieldText},
	{Key: "role", Label: "Role", Type: source.FieldText},
}

// MetaSampleSize is how many customers Fields reads for meta keys: the
// REST API lists no meta schema (plugins add keys as they like), so the
// keys offered are those the most recently modified customers carry.
const MetaSampleSize = 100

// maxSampledMeta bounds the meta keys the sample offers.
const maxSampledMeta = 200

// Fields lists the customer fields, the billing and shipping fields
// ("billing.phone", "shipping.city"...) and the meta keys seen on a sample
// of MetaSampleSize customers (keyed by the meta key itself; a meta key
// equal to a customer field's key is not offered: the field wins):
// source.FieldLister. A meta key's type is read from the sample: numeric
// values number, YYYY-MM-DD strings date, else text.
func (c *Client) Fields(ctx context.Context) ([]source.Field, error) {
	out := slices.Clone(customerFields)
	for _, part := range []string{"billing", "shipping"} {
		for _, f := range addressFields {
			if part == "shipping" && f.key == "email" {
				continue // shipping addresses have no email
			}
			out = append(out, source.Field{Key: part + "." + f.key, Label: strings.ToUpper(part[:1]) + part[1:] + " " + strings.ToLower(f.label), Type: f.typ})
		}
	}
	q := url.Values{"per_page": {fmt.Sprint(MetaSampleSize)}, "page": {"1"}, "orderby": {"id"}, "order": {"desc"}, "role": {"all"}}
	var customers []Customer
	if _, err := c.get(ctx, "/customers", q, &customers); err != nil {
		return nil, fmt.Errorf("woocommerce: sampling customer meta keys: %w", err)
	}
	sample := source.FieldSample{}
	for _, cu := range customers {
		for _, m := range cu.MetaData {
			if m.Key != "" && !isStandard(m.Key) {
				sample.Add(m.Key, metaType(m), maxSampledMeta)
			}
		}
	}
	return append(out, sample.Fields()...), nil
}

func isStandard(k string) bool {
	if slices.ContainsFunc(customerFields, func(f source.Field) bool { return f.Key == k }) {
		return true
	}
	return strings.HasPrefix(k, "billing.") || strings.HasPrefix(k, "shipping.")
}

func metaType(m Meta) string {
	v := strings.TrimSpace(string(m.Value))
	if v != "" && (v[0] >= '0' && v[0] <= '9' || v[0] == '-') {
		if _, ok := source.TypedValue(source.FieldNumber, v); ok {
			return source.FieldNumber
		}
	}
	if source.ISODate.MatchString(m.StringValue()) {
		return source.FieldDate
	}
	return source.FieldText
}

// mappedFields returns the values of the fields the map names, as text by
// key: the customer's own fields, billing.* and shipping.*, then meta keys.
func mappedFields(cu Customer, fieldMap map[string]string) map[string]string {
	if len(fieldMap) == 0 {
		return nil
	}
	out := map[string]string{}
	for k := range fieldMap {
		if v, ok := customerValue(cu, k); ok {
			if v = strings.TrimSpace(v); v != "" {
				out[k] = v
			}
		}
	}
	for _, m := range cu.MetaData {
		if _, ok := fieldMap[m.Key]; ok && !isStandard(m.Key) && out[m.Key] == "" {
			if v := strings.TrimSpace(m.StringValue()); v != "" {
				out[m.Key] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// customerValue reads a standard field; ok is false for other keys.
func customerValue(cu Customer, k string) (string, bool) {
	switch k {
	case "first_name":
		return cu.FirstName, true
	case "last_name":
		return cu.LastName, true
	case "email":
		return cu.Email, true
	case "username":
		return cu.Username, true
	case "role":
		return cu.Role, true
	}
	part, name, ok := strings.Cut(k, ".")
	var a Address
	switch {
	case !ok:
		return "", false
	case part == "billing":
		a = cu.Billing
	case part == "shipping":
		a = cu.Shipping
	default:
		return "", false
	}
	return addressValue(a, name)
}

func addressValue(a Address, name string) (string, bool) {
	switch name {
	case "first_name":
		return a.FirstName, true
	case "last_name":
		return a.LastName, true
	case "company":
		return a.Company, true
	case "address_1":
		return a.Address1, true
	case "city":
		return a.City, true
	case "state":
		return a.State, true
	case "postcode":
		return a.Postcode, true
	case "country":
		return a.Country, true
	case "email":
		return a.Email, true
	case "phone":
		return a.Phone, true
	}
	return "", false
}

var _ source.FieldLister = (*Client)(nil)
