// Package oauth holds what the OAuth installs share (issue 17 item 1): the
// platforms' app settings and endpoints (configurable per environment, so
// tests and the sandbox point them at the fakes), the signed state that
// carries an authorisation from POST /v1/connections/authorize to its
// callback, Shopify's callback HMAC and shop-domain checks, and the
// golang.org/x/oauth2 configurations for the code grants, PKCE and refresh.
//
// # The flows
//
//   - Shopify: authorization-code grant for an offline token. The install
//     URL (https://{shop}/admin/oauth/authorize) carries the scopes, our
//     callback and the state; the callback's query is signed by Shopify
//     (hex HMAC-SHA256 with the app's client secret over the sorted query
//     without hmac and signature, VerifyShopifyHMAC) and names the shop,
//     which must be <name>.myshopify.com (ValidShop) and the one the state
//     was issued for. The code is exchanged at
//     https://{shop}/admin/oauth/access_token (client id and secret in the
//     form body).
//   - Mailchimp: OAuth2 code grant at login.mailchimp.com, then
//     GET /oauth2/metadata (Authorization: OAuth <token>) for the data
//     centre (dc) and api_endpoint. Tokens do not expire.
//   - Klaviyo: code grant with PKCE (S256) at www.klaviyo.com/oauth/authorize,
//     tokens at a.klaviyo.com/oauth/token with HTTP Basic client
//     authentication; access tokens expire and are refreshed with the
//     refresh token (invalid_grant: the connection needs a new
//     authorisation). A private API key stays possible.
//   - WooCommerce: no app; the store's /wc-auth/v1/authorize page POSTs the
//     keys it generated to our callback (user_id is our state) and then
//     sends the browser to our return_url with success=1|0.
//
// Facts and sources: ../../../shared/platforms-setup.md sections 1.1, 2.1,
// 3.1 and 4.1.
package oauth

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// App is one platform's OAuth app: its credentials and endpoints.
type App struct {
	ClientID, ClientSecret string
	// AuthURL and TokenURL are the authorisation page and the token
	// endpoint; Shopify's contain "{shop}", replaced by the shop domain.
	AuthURL, TokenURL string
	// MetadataURL is Mailchimp's account metadata endpoint.
	MetadataURL string
	// APIBaseURL, when set, becomes the apiBaseUrl of connections this app
	// authorises (the fakes in tests and the sandbox); empty in production.
	APIBaseURL string
	Scopes     []string
}

// Configured reports whether the app has credentials.
func (a App) Configured() bool { return a.ClientID != "" && a.ClientSecret != "" }

// Apps are the OAuth apps of every platform.
type Apps struct {
	Shopify, Mailchimp, Klaviyo App
	// StateTTL is how long an authorisation may take (default 10 minutes).
	StateTTL time.Duration
}

// DefaultStateTTL is how long a state is accepted.
const DefaultStateTTL = 10 * time.Minute

// Environment variables of the apps: CONTACTSYNC_OAUTH_<PLATFORM>_<FIELD>,
// PLATFORM one of SHOPIFY, MAILCHIMP, KLAVIYO and FIELD one of CLIENT_ID,
// CLIENT_SECRET, AUTH_URL, TOKEN_URL, METADATA_URL (Mailchimp),
// API_BASE_URL, SCOPES (space-separated).
const EnvPrefix = "CONTACTSYNC_OAUTH_"

// Defaults are the platforms' production endpoints and our scopes.
func Defaults() Apps {
	return Apps{
		Shopify: App{AuthURL: "https://{shop}/admin/oauth/authorize", TokenURL: "https://{shop}/admin/oauth/access_token",
			// Shopify separates scopes with commas.
			Scopes: []string{"read_customers,write_customers,read_orders"}},
		Mailchimp: App{AuthURL: "https://login.mailchimp.com/oauth2/authorize", TokenURL: "https://login.mailchimp.com/oauth2/token",
			MetadataURL: "https://login.mailchimp.com/oauth2/metadata"},
		Klaviyo: App{AuthURL: "https://www.klaviyo.com/oauth/authorize", TokenURL: "https://a.klaviyo.com/oauth/token",
			Scopes: []string{"profiles:read", "profiles:write", "lists:read", "segments:read", "subscriptions:write"}},
		StateTTL: DefaultStateTTL,
	}
}

// FromEnv returns Defaults with what the environment overrides. Client
// secrets may instead come from Secrets Manager (compose.Load).
func FromEnv(getenv func(string) string) Apps {
	a := Defaults()
	for name, app := range map[string]*App{"SHOPIFY": &a.Shopify, "MAILCHIMP": &a.Mailchimp, "KLAVIYO": &a.Klaviyo} {
		set := func(field string, into *string) {
			if v := strings.TrimSpace(getenv(EnvPrefix + name + "_" + field)); v != "" {
				*into = v
			}
		}
		set("CLIENT_ID", &app.ClientID)
		set("CLIENT_SECRET", &app.ClientSecret)
		set("AUTH_URL", &app.AuthURL)
		set("TOKEN_URL", &app.TokenURL)
		set("METADATA_URL", &app.MetadataURL)
		set("API_BASE_URL", &app.APIBaseURL)
		if v := getenv(EnvPrefix + name + "_SCOPES"); strings.TrimSpace(v) != "" {
			app.Scopes = strings.Fields(v)
		}
	}
	return a
}

// TTL is the state's lifetime.
func (a Apps) TTL() time.Duration {
	return cmp.Or(a.StateTTL, DefaultStateTTL)
}

// ShopifyConfig is the oauth2 configuration of the Shopify app for shop.
func (a Apps) ShopifyConfig(shop, redirect string) *oauth2.Config {
	r := strings.NewReplacer("{shop}", shop)
	return &oauth2.Config{ClientID: a.Shopify.ClientID, ClientSecret: a.Shopify.ClientSecret, RedirectURL: redirect, Scopes: a.Shopify.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: r.Replace(a.Shopify.AuthURL), TokenURL: r.Replace(a.Shopify.TokenURL), AuthStyle: oauth2.AuthStyleInParams}}
}

// MailchimpConfig is the oauth2 configuration of the Mailchimp app.
func (a Apps) MailchimpConfig(redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: a.Mailchimp.ClientID, ClientSecret: a.Mailchimp.ClientSecret, RedirectURL: redirect, Scopes: a.Mailchimp.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: a.Mailchimp.AuthURL, TokenURL: a.Mailchimp.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
}

// KlaviyoConfig is the oauth2 configuration of the Klaviyo app (client
// authentication by HTTP Basic, as a.klaviyo.com/oauth/token requires).
func (a Apps) KlaviyoConfig(redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: a.Klaviyo.ClientID, ClientSecret: a.Klaviyo.ClientSecret, RedirectURL: redirect, Scopes: a.Klaviyo.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: a.Klaviyo.AuthURL, TokenURL: a.Klaviyo.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}}
}

// InvalidGrant reports whether err is the token endpoint refusing a code or
// refresh token (RFC 6749 invalid_grant): only a new authorisation helps.
func InvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// ErrorCode is the token endpoint's error code of err ("" if none), safe
// to log (the error's text may quote the endpoint's whole answer).
func ErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
		if re.Response != nil {
			return re.Response.Status
		}
	}
	return ""
}

var shopRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$`)

// ValidShop reports whether shop is a <name>.myshopify.com domain (Shopify's
// recommended check, anchored at both ends).
func ValidShop(shop string) bool { return len(shop) <= 255 && shopRE.MatchString(shop) }

// ShopifyHMAC is the hex HMAC-SHA256 Shopify puts in a callback's hmac
// parameter: over the query without hmac and signature, keys sorted,
// repeated values joined with commas, form-encoded.
func ShopifyHMAC(secret string, q map[string][]string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" && k != "signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(strings.Join(q[k], ",")))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(b.String()))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyShopifyHMAC checks a callback query's hmac in constant time.
func VerifyShopifyHMAC(secret string, q map[string][]string) bool {
	got := q["hmac"]
	if secret == "" || len(got) != 1 || len(got[0]) != sha256.Size*2 {
		return false
	}
	want := ShopifyHMAC(secret, q)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(got[0])))
}
