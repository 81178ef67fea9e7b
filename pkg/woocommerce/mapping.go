package woocommerce

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// consentValues maps the usual plugin meta values to a signal.
var consentValues = map[string]source.SignalState{
	"yes": source.SignalSubscribed, "1": source.SignalSubscribed, "true": source.SignalSubscribed,
	"subscribed": source.SignalSubscribed, "on": source.SignalSubscribed, "opted_in": source.SignalSubscribed,
	"no": source.SignalUnsubscribed, "0": source.SignalUnsubscribed, "false": source.SignalUnsubscribed,
	"unsubscribed": source.SignalUnsubscribed, "off": source.SignalUnsubscribed, "opted_out": source.SignalUnsubscribed,
}

// consentFrom reads the SMS consent meta key: a known value is explicit, an
// absent key (or none configured) is "never asked". WooCommerce keeps no
// consent timestamp, so At is zero: a source opt-in then never lifts a
// hub-side STOP (design.md §4).
func consentFrom(key string, meta []Meta) source.ConsentSignal {
	if key == "" {
		return source.ConsentSignal{State: source.SignalNeverAsked}
	}
	for _, m := range meta {
		if m.Key != key {
			continue
		}
		if st, ok := consentValues[strings.ToLower(strings.TrimSpace(m.StringValue()))]; ok {
			return source.ConsentSignal{State: st, Method: "meta:" + key}
		}
	}
	return source.ConsentSignal{State: source.SignalNeverAsked}
}

func (c *Client) customerRecord(cu Customer) source.Record {
	return customerRecord(cu, c.opts, c.keys())
}

func (c *Client) keys() Keys {
	return Keys{Consent: c.cfg.SMSConsentMetaKey, Groups: c.cfg.GroupsMetaKey}
}

func customerRecord(cu Customer, opts source.Options, keys Keys) source.Record {
	r := source.Record{
		Platform: source.WooCommerce, Label: label(opts), ConnectionID: opts.ConnectionID,
		ExternalID: strconv.FormatInt(cu.ID, 10), UpdatedAt: cu.DateModifiedGMT.Time,
		FirstName: firstNonEmpty(cu.FirstName, cu.Billing.FirstName), LastName: firstNonEmpty(cu.LastName, cu.Billing.LastName),
		Country: firstNonEmpty(cu.Billing.Country, cu.Shipping.Country),
		Consent: consentFrom(keys.Consent, cu.MetaData),
		// Core WooCommerce has no customer tags or segments: the groups
		// are the role (when not the default) and the groups meta key's
		// names, the complete set (a group the customer left is removed).
		Groups: customerGroups(cu, keys.Groups), HasGroups: true,
		Fields: mappedFields(cu, opts.FieldMap),
	}
	for _, e := range []string{cu.Email, cu.Billing.Email} {
		if e = strings.TrimSpace(e); e != "" && !containsFold(r.Emails, e) {
			r.Emails = append(r.Emails, e)
		}
	}
	if cu.Billing.Phone != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: cu.Billing.Phone, Country: cu.Billing.Country, Field: "billing"})
	}
	if cu.Shipping.Phone != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: cu.Shipping.Phone, Country: cu.Shipping.Country, Field: "shipping"})
	}
	return r
}

func (c *Client) guestRecord(o Order) (source.Record, bool) {
	return guestRecord(o, c.opts, c.keys().Consent)
}

// guestRecord maps a guest order (customer_id 0) to a record; orders of
// registered customers and orders with no contact give none.
func guestRecord(o Order, opts source.Options, consentKey string) (source.Record, bool) {
	if o.CustomerID != 0 || (strings.TrimSpace(o.Billing.Email) == "" && strings.TrimSpace(o.Billing.Phone) == "") {
		return source.Record{}, false
	}
	r := source.Record{
		Platform: source.WooCommerce, Label: label(opts), ConnectionID: opts.ConnectionID,
		ExternalID: "order:" + strconv.FormatInt(o.ID, 10), UpdatedAt: o.DateModifiedGMT.Time,
		FirstName: o.Billing.FirstName, LastName: o.Billing.LastName, Country: o.Billing.Country,
		Consent: consentFrom(consentKey, o.MetaData), Guest: true, HasGroups: true,
		// A guest has what its order has: the billing and shipping fields
		// and the order's meta keys.
		Fields: mappedFields(Customer{Billing: o.Billing, Shipping: o.Shipping, MetaData: o.MetaData}, opts.FieldMap),
	}
	if e := strings.TrimSpace(o.Billing.Email); e != "" {
		r.Emails = []string{e}
	}
	if o.Billing.Phone != "" {
		r.Phones = []source.PhoneField{{Raw: o.Billing.Phone, Country: o.Billing.Country, Field: "billing"}}
	}
	return r, true
}

func label(opts source.Options) string {
	return cmp.Or(opts.Label, source.WooCommerce.DefaultLabel())
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			return x
		}
	}
	return ""
}

func containsFold(xs []string, s string) bool {
	return slices.ContainsFunc(xs, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), s) })
}
