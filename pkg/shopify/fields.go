package shopify

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// MetafieldPrefix prefixes the field key of a customer metafield:
// "metafield:<namespace>.<key>" ("metafield:custom.loyalty_points").
const MetafieldPrefix = "metafield:"

// MaxMappedMetafields is how many customer metafields a connection's
// field map may read (each is one more object per customer in the query;
// the first ones by key order are read, the others never).
const MaxMappedMetafields = 20

// standardFields are the customer fields a field map can name besides
// metafields.
var standardFields = []source.Field{
	{Key: "firstName", Label: "First name", Type: source.FieldText},
	{Key: "lastName", Label: "Last name", Type: source.FieldText},
	{Key: "email", Label: "Email", Type: source.FieldEmail},
	{Key: "phone", Label: "Phone (SMS marketing)", Type: source.FieldPhone},
	{Key: "defaultAddress.firstName", Label: "Default address first name", Type: source.FieldText},
	{Key: "defaultAddress.lastName", Label: "Default address last name", Type: source.FieldText},
	{Key: "defaultAddress.company", Label: "Default address company", Type: source.FieldText},
	{Key: "defaultAddress.address1", Label: "Default address line 1", Type: source.FieldText},
	{Key: "defaultAddress.address2", Label: "Default address line 2", Type: source.FieldText},
	{Key: "defaultAddress.city", Label: "Default address city", Type: source.FieldText},
	{Key: "defaultAddress.province", Label: "Default address province", Type: source.FieldText},
	{Key: "defaultAddress.provinceCode", Label: "Default address province code", Type: source.FieldText},
	{Key: "defaultAddress.zip", Label: "Default address zip", Type: source.FieldText},
	{Key: "defaultAddress.country", Label: "Default address country", Type: source.FieldText},
	{Key: "defaultAddress.countryCodeV2", Label: "Default address country code", Type: source.FieldText},
	{Key: "defaultAddress.phone", Label: "Default address phone", Type: source.FieldPhone},
}

// metafieldTypes maps Shopify metafield type names to the hub's; the
// others (single_line_text_field, boolean, json, lists...) are text.
var metafieldTypes = map[string]string{
	"number_integer": source.FieldNumber, "number_decimal": source.FieldNumber,
	"date": source.FieldDate, "date_time": source.FieldDate,
}

// MetafieldDefinitionsQuery lists the customer metafield definitions.
const MetafieldDefinitionsQuery = `query CustomerMetafieldDefinitions($after: String) {
  metafieldDefinitions(ownerType: CUSTOMER, first: 250, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { namespace key name type { name } }
  }
}`

// maxDefinitionPages bounds the definition listing (250 a page).
const maxDefinitionPages = 8

// Fields lists the customer fields, the default address fields and the
// customer metafield definitions (metafieldDefinitions(ownerType:
// CUSTOMER)): source.FieldLister.
func (c *Client) Fields(ctx context.Context) ([]source.Field, error) {
	out := slices.Clone(standardFields)
	after := ""
	for range maxDefinitionPages {
		vars := map[string]any{}
		if after != "" {
			vars["after"] = after
		}
		var res struct {
			MetafieldDefinitions struct {
				PageInfo pageInfo `json:"pageInfo"`
				Nodes    []struct {
					Namespace string `json:"namespace"`
					Key       string `json:"key"`
					Name      string `json:"name"`
					Type      struct {
						Name string `json:"name"`
					} `json:"type"`
				} `json:"nodes"`
			} `json:"metafieldDefinitions"`
		}
		if err := c.query(ctx, 12, MetafieldDefinitionsQuery, vars, &res); err != nil {
			return nil, fmt.Errorf("shopify: listing customer metafield definitions: %w", err)
		}
		for _, d := range res.MetafieldDefinitions.Nodes {
			if d.Namespace == "" || d.Key == "" {
				continue
			}
			typ := cmp.Or(metafieldTypes[d.Type.Name], source.FieldText)
			label := cmp.Or(d.Name, d.Namespace+"."+d.Key)
			out = append(out, source.Field{Key: MetafieldPrefix + d.Namespace + "." + d.Key, Label: label, Type: typ})
		}
		pi := res.MetafieldDefinitions.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			break
		}
		after = pi.EndCursor
	}
	return out, nil
}

// metafieldRef is one mapped metafield and its alias in the query.
type metafieldRef struct {
	key                 string // the field key, "metafield:custom.points"
	namespace, metafKey string
}

// metaNamePart is what a namespace or key may hold (Shopify allows
// letters, digits, - and _; 2-255 characters): anything else is never
// put in a query. A loop, not the regexp ^[A-Za-z0-9_-]{1,255}$: compiling
// that repetition took 2-5 ms and 270 KB of every cold start of the
// functions that link this package (README, "Lambda footprint").
func metaNamePart(s string) bool {
	if len(s) < 1 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// mappedMetafields returns the metafields the field map names, by key
// order, at most MaxMappedMetafields.
func mappedMetafields(fieldMap map[string]string) []metafieldRef {
	var out []metafieldRef
	for k := range fieldMap {
		rest, ok := strings.CutPrefix(k, MetafieldPrefix)
		if !ok {
			continue
		}
		ns, key, ok := strings.Cut(rest, ".")
		if !ok || !metaNamePart(ns) || !metaNamePart(key) {
			continue
		}
		out = append(out, metafieldRef{key: k, namespace: ns, metafKey: key})
	}
	slices.SortFunc(out, func(a, b metafieldRef) int { return strings.Compare(a.key, b.key) })
	if len(out) > MaxMappedMetafields {
		out = out[:MaxMappedMetafields]
	}
	return out
}

// metafieldSelection is the query selection of the mapped metafields:
// "mf0: metafield(namespace: "custom", key: "points") { value }" each.
func metafieldSelection(refs []metafieldRef) string {
	var b strings.Builder
	for i, r := range refs {
		fmt.Fprintf(&b, "      mf%d: metafield(namespace: %q, key: %q) { value }\n", i, r.namespace, r.metafKey)
	}
	return b.String()
}

// withMetafields adds the connection's mapped metafields to a customers
// query (the page query or the bulk export).
func (c *Client) withMetafields(query string) string {
	sel := metafieldSelection(mappedMetafields(c.opts.FieldMap))
	if sel == "" {
		return query
	}
	return strings.Replace(query, customerFields, customerFields+sel, 1)
}

// pageSize is the customers page size: PageSize, smaller when metafields
// are read so a page's cost stays what PageCost budgets for.
func (c *Client) pageSize() int {
	n := len(mappedMetafields(c.opts.FieldMap))
	return max(PageSize/(1+n), 10)
}

// metafieldValue is a metafield as the query selects it.
type metafieldValue struct {
	Value string `json:"value"`
}

// metafieldAliases holds the values of the mapped metafields (mf0, mf1...
// in the order of mappedMetafields).
type metafieldAliases struct {
	MF0  *metafieldValue `json:"mf0"`
	MF1  *metafieldValue `json:"mf1"`
	MF2  *metafieldValue `json:"mf2"`
	MF3  *metafieldValue `json:"mf3"`
	MF4  *metafieldValue `json:"mf4"`
	MF5  *metafieldValue `json:"mf5"`
	MF6  *metafieldValue `json:"mf6"`
	MF7  *metafieldValue `json:"mf7"`
	MF8  *metafieldValue `json:"mf8"`
	MF9  *metafieldValue `json:"mf9"`
	MF10 *metafieldValue `json:"mf10"`
	MF11 *metafieldValue `json:"mf11"`
	MF12 *metafieldValue `json:"mf12"`
	MF13 *metafieldValue `json:"mf13"`
	MF14 *metafieldValue `json:"mf14"`
	MF15 *metafieldValue `json:"mf15"`
	MF16 *metafieldValue `json:"mf16"`
	MF17 *metafieldValue `json:"mf17"`
	MF18 *metafieldValue `json:"mf18"`
	MF19 *metafieldValue `json:"mf19"`
}

// at returns alias i's value ("" when absent).
func (a *metafieldAliases) at(i int) string {
	v := reflect.ValueOf(a).Elem()
	if i < 0 || i >= v.NumField() {
		return ""
	}
	p, _ := v.Field(i).Interface().(*metafieldValue)
	if p == nil {
		return ""
	}
	return p.Value
}

// mappedFields returns the customer's values of the fields the map names,
// as text by key.
func (n *Customer) mappedFields(fieldMap map[string]string) map[string]string {
	if len(fieldMap) == 0 {
		return nil
	}
	out := map[string]string{}
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	for k := range fieldMap {
		switch k {
		case "firstName":
			set(k, n.FirstName)
		case "lastName":
			set(k, n.LastName)
		case "email":
			if n.DefaultEmailAddress != nil {
				set(k, n.DefaultEmailAddress.EmailAddress)
			}
		case "phone":
			if n.DefaultPhoneNumber != nil {
				set(k, n.DefaultPhoneNumber.PhoneNumber)
			}
		}
		if name, ok := strings.CutPrefix(k, "defaultAddress."); ok && n.DefaultAddress != nil {
			set(k, n.DefaultAddress.field(name))
		}
	}
	for i, r := range mappedMetafields(fieldMap) {
		set(r.key, n.at(i))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// field reads a default address field by its GraphQL name.
func (a *customerAddress) field(name string) string {
	switch name {
	case "firstName":
		return a.FirstName
	case "lastName":
		return a.LastName
	case "company":
		return a.Company
	case "address1":
		return a.Address1
	case "address2":
		return a.Address2
	case "city":
		return a.City
	case "province":
		return a.Province
	case "provinceCode":
		return a.ProvinceCode
	case "zip":
		return a.Zip
	case "country":
		return a.Country
	case "countryCodeV2":
		return a.CountryCodeV2
	case "phone":
		return a.Phone
	}
	return ""
}

// restFields returns a webhook customer's values of the fields the map
// names (its REST default_address under the GraphQL keys; webhook bodies
// carry no metafields).
func (c restCustomer) restFields(fieldMap map[string]string) map[string]string {
	if len(fieldMap) == 0 {
		return nil
	}
	out := map[string]string{}
	for k := range fieldMap {
		var v string
		switch k {
		case "firstName":
			v = c.FirstName
		case "lastName":
			v = c.LastName
		case "email":
			v = c.Email
		}
		if name, ok := strings.CutPrefix(k, "defaultAddress."); ok && c.DefaultAddress != nil {
			v = c.DefaultAddress.field(name)
		}
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// field reads a webhook address's field by its GraphQL name (the keys the
// field map uses), through the GraphQL shape.
func (a *restAddress) field(name string) string {
	return (&customerAddress{
		Phone: a.Phone, CountryCodeV2: a.CountryCode, FirstName: a.FirstName, LastName: a.LastName, Company: a.Company,
		Address1: a.Address1, Address2: a.Address2, City: a.City, Province: a.Province, ProvinceCode: a.ProvinceCode,
		Zip: a.Zip, Country: a.Country,
	}).field(name)
}

var _ source.FieldLister = (*Client)(nil)
