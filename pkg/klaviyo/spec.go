package klaviyo

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// Spec describes Klaviyo to the engine (pkg/platform).
func Spec() platform.Spec {
	return platform.Spec{
		Name:  source.Klaviyo,
		Label: source.Klaviyo.DefaultLabel(),
		Keys: []platform.Key{
			{Name: "privateApiKey", Flags: platform.Required | platform.Secret | platform.Credential | platform.OrAccessToken},
			{Name: "webhookSecret", Flags: platform.Secret | platform.GeneratedIfEmpty | platform.Resubscribe},
			{Name: "apiBaseUrl", Flags: platform.URL | platform.Credential},
			{Name: "accessToken", Flags: platform.Secret},
			{Name: "refreshToken", Flags: platform.Secret}, // an OAuth install's, set by the server
		},
		Hosts: func(cfg map[string]string, allowPrivate bool) map[string]string {
			return endpoints.Connection(string(source.Klaviyo), cfg, allowPrivate)
		},
		New: func(cfg map[string]string, opts source.Options, env platform.Env) (platform.Client, error) {
			kcfg := Config{PrivateAPIKey: cfg["privateApiKey"], APIBaseURL: cfg["apiBaseUrl"], WebhookSecret: cfg["webhookSecret"]}
			if cfg["privateApiKey"] == "" {
				kcfg.Token = env.Token
			}
			return New(kcfg, opts, env.HTTP)
		},
		Permanent: Permanent,
		Webhooks:  func(platform.Builder) platform.Webhook { return webhooks{} },
		// OAuth access tokens expire: refreshed through the app's token
		// endpoint (pkg/connectors).
		Refresh: func(apps oauth.Apps) *oauth2.Config { return apps.KlaviyoConfig("") },
		OAuth: &platform.OAuth{
			App:    func(apps oauth.Apps) oauth.App { return apps.Klaviyo },
			Config: func(apps oauth.Apps, _, redirect string) *oauth2.Config { return apps.KlaviyoConfig(redirect) },
			PKCE:   true,
			Credentials: func(_ context.Context, g platform.Grant) (map[string]string, error) {
				// Each webhook we create signs with webhookSecret (its
				// secret_key); a re-authorisation keeps the stored one.
				cfg := map[string]string{"accessToken": g.Token.AccessToken, "refreshToken": g.Token.RefreshToken, "webhookSecret": g.NewToken()}
				if !g.Token.Expiry.IsZero() {
					cfg["tokenExpiry"] = g.Token.Expiry.UTC().Format(time.RFC3339Nano)
				}
				if b := g.Apps.Klaviyo.APIBaseURL; b != "" {
					cfg["apiBaseUrl"] = b
				}
				return cfg, nil
			},
			Replaces: []string{"privateApiKey"},
		},
	}
}

// Permanent reports whether err is one no retry fixes.
func Permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidCursor) || httpx.IsPermanent(err)
}

// webhooks verifies Klaviyo's system webhooks (accounts that have them;
// the daily pull covers the rest).
type webhooks struct{}

func (webhooks) Verify(cfg map[string]string, d source.Delivery) error {
	return VerifyWebhook(cfg["webhookSecret"], d.Header, d.Body, d.At)
}

func (webhooks) Parse(_ map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error) {
	return ParseWebhook(d.Header, d.Body, opts)
}
