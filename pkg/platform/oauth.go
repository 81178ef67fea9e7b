package platform

import (
	"context"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/oauth"
)

// OAuth is a platform's OAuth 2 install (authorization code): POST
// /v1/connections/authorize sends the merchant to the platform's consent
// page, and GET /oauth/{platform}/callback exchanges the code for a token
// that Credentials turns into a draft connection's config.
type OAuth struct {
	// App picks the platform's app among the configured ones; one that
	// is not Configured turns OAuth installs of the platform off.
	App func(apps oauth.Apps) oauth.App
	// Config is the app's oauth2 configuration for the redirect URI;
	// shop is the shop being installed (Shop).
	Config func(apps oauth.Apps, shop, redirect string) *oauth2.Config
	// Shop: the install names the merchant's shop (Shopify): authorize
	// takes it (oauth.ValidShop), and the callback must name the same.
	Shop bool
	// VerifyCallback, when set, checks the callback's own signature
	// before anything else (Shopify signs it with the app's secret).
	VerifyCallback func(app oauth.App, q url.Values) bool
	// PKCE binds the authorisation to a verifier (S256), sealed in the
	// stored attempt.
	PKCE bool
	// Credentials turns what the authorisation granted into the
	// connection's config; an error ends the install with code (for the
	// return URL) and is logged.
	Credentials func(ctx context.Context, g Grant) (map[string]string, error)
	// Replaces are the config keys a renewed authorisation removes (the
	// pasted key its token stands in for: Klaviyo's privateApiKey).
	Replaces []string
}

// Grant is what an authorisation granted, for OAuth.Credentials.
type Grant struct {
	Token *oauth2.Token
	Apps  oauth.Apps
	Shop  string
	// HTTP calls the platform's metadata endpoints (Mailchimp's data
	// centre); AllowPrivate as for a connection's hosts.
	HTTP         *http.Client
	AllowPrivate bool
	// NewToken returns a random secret (a webhook URL's token).
	NewToken func() string
}

// CredentialsError is an OAuth.Credentials failure: Code is what the
// return URL is told (token_exchange_failed, metadata_failed).
type CredentialsError struct {
	Code string
	Err  error
}

func (e *CredentialsError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }

// KeyInstall is a platform whose store grants API keys itself
// (WooCommerce's /wc-auth/v1/authorize): authorize sends the merchant to
// the store at the URL they give (the config key URLKey, checked like
// the connection's hosts), the store POSTs the keys to our callback and
// then returns the browser to it.
type KeyInstall struct {
	// URLKey is the config key (and authorize field) of the store's URL.
	URLKey string
	// AuthorizeURL is the store's consent page for our app; state comes
	// back as the keys' user_id, redirect is our callback.
	AuthorizeURL func(storeURL, state, redirect string) string
	// Keys reads what the store POSTs to our callback; an error: the body
	// is not what the store sends.
	Keys func(body []byte) (StoreKeys, error)
	// Credentials is the config of the keys the store POSTed (renewal:
	// the keys only, the connection keeps its other settings).
	Credentials func(storeURL, key, secret string, renewal bool, newToken func() string) map[string]string
}

// StoreKeys are the keys a store POSTed to our callback.
type StoreKeys struct {
	// State is ours, handed back (checked before anything else).
	State       string
	Key, Secret string
	// Invalid names what is wrong with the keys, by field.
	Invalid map[string]string
}
