// Package endpoints says which hosts a tenant's connection settings may
// point our workers at: each platform's own API hosts
// (../../../shared/platforms.md), over https, and for WooCommerce any
// public https host (an SMS provider's hosts are its sms.Spec.APIHost).
// The Hub API checks them on create and PATCH (a 400 naming the field);
// the connector registry checks them again before building a client. What a name resolves to is checked
// when it is dialled (pkg/safehttp).
//
//   - Shopify: shopDomain is <shop>.myshopify.com; apiBaseUrl, if set,
//     https://<shop>.myshopify.com.
//   - Mailchimp: the API key ends in -<dc>, dc matching ^[a-z]+[0-9]+$
//     (us6); apiBaseUrl, if set, https://<dc>.api.mailchimp.com.
//   - Klaviyo: apiBaseUrl, if set, https://a.klaviyo.com.
//   - WooCommerce: storeUrl is any public https URL (a path is allowed:
//     WordPress in a sub-directory).
//
// With allowPrivate (local fakes, see safehttp.EnvAllowPrivateHosts) the
// base URLs may be any http(s) URL; the shop domain and Mailchimp key
// formats are checked either way.
package endpoints

import (
	"regexp"
	"strings"

	"github.com/contactsync/contactsync/pkg/safehttp"
)

var (
	shopDomainRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$`)
	mailchimpDCRE  = regexp.MustCompile(`^[a-z]+[0-9]+$`)
	mailchimpAPIRE = regexp.MustCompile(`^[a-z]+[0-9]+\.api\.mailchimp\.com$`)
)

// MailchimpDC is the data centre of a Mailchimp API key (the part after
// the last '-'), and whether it is well formed.
func MailchimpDC(apiKey string) (string, bool) {
	i := strings.LastIndexByte(apiKey, '-')
	if i < 0 {
		return "", false
	}
	dc := apiKey[i+1:]
	return dc, mailchimpDCRE.MatchString(dc)
}

// Connection checks the hosts a connection's config (the keys of
// design.md §6) points at. It returns a message per bad config key, empty
// when all are good.
func Connection(platform string, cfg map[string]string, allowPrivate bool) map[string]string {
	bad := map[string]string{}
	base := func(key string, hostOK func(string) bool) {
		if v := cfg[key]; v != "" {
			if _, err := safehttp.CheckURL(v, allowPrivate, hostOK); err != nil {
				bad[key] = err.Error()
			}
		}
	}
	switch platform {
	case "shopify":
		if d := cfg["shopDomain"]; d != "" && !shopDomainRE.MatchString(strings.ToLower(strings.TrimSpace(d))) {
			bad["shopDomain"] = "must be the shop's <name>.myshopify.com domain"
		}
		base("apiBaseUrl", shopDomainRE.MatchString)
	case "woocommerce":
		base("storeUrl", nil)
	case "mailchimp":
		if k := cfg["apiKey"]; k != "" {
			if _, ok := MailchimpDC(k); !ok {
				bad["apiKey"] = "must end with -<dc>, the data centre (e.g. -us6)"
			}
		}
		base("apiBaseUrl", mailchimpAPIRE.MatchString)
	case "klaviyo":
		base("apiBaseUrl", func(h string) bool { return h == "a.klaviyo.com" })
	}
	return bad
}
