package mailchimp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// Spec describes Mailchimp to the engine (pkg/platform).
func Spec() platform.Spec {
	return platform.Spec{
		Name:  source.Mailchimp,
		Label: source.Mailchimp.DefaultLabel(),
		Keys: []platform.Key{
			{Name: "apiKey", Flags: platform.Required | platform.Secret | platform.Credential | platform.OrAccessToken},
			{Name: "audienceId", Flags: platform.Required | platform.Credential},
			{Name: "apiBaseUrl", Flags: platform.URL | platform.Credential},
			{Name: "accessToken", Flags: platform.Secret},
			{Name: "dc"},
			// The secret our webhook URL carries (Mailchimp signs nothing).
			{Name: "webhookToken", Flags: platform.Secret | platform.Generated},
		},
		Check: func(cfg map[string]string) map[string]string {
			if k := cfg["apiKey"]; k != "" && !strings.Contains(k, "-") {
				return map[string]string{"apiKey": "must end with -<dc> (the data centre)"}
			}
			return nil
		},
		Hosts: func(cfg map[string]string, allowPrivate bool) map[string]string {
			return endpoints.Connection(string(source.Mailchimp), cfg, allowPrivate)
		},
		New: func(cfg map[string]string, opts source.Options, env platform.Env) (platform.Client, error) {
			return New(Config{APIKey: cfg["apiKey"], AudienceID: cfg["audienceId"], APIBaseURL: cfg["apiBaseUrl"],
				AccessToken: cfg["accessToken"], DC: cfg["dc"], WebhookToken: cfg["webhookToken"]}, opts, env.HTTP)
		},
		Permanent:      Permanent,
		Webhooks:       func(platform.Builder) platform.Webhook { return webhooks{} },
		MaxConnections: MaxConnections,
		OAuth: &platform.OAuth{
			App:         func(apps oauth.Apps) oauth.App { return apps.Mailchimp },
			Config:      func(apps oauth.Apps, _, redirect string) *oauth2.Config { return apps.MailchimpConfig(redirect) },
			Credentials: oauthCredentials,
		},
	}
}

// Permanent reports whether err is one no retry fixes.
func Permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidCursor) || errors.Is(err, ErrWriteBackUnsupported) ||
		httpx.IsPermanent(err)
}

type webhooks struct{}

// CanWriteBack: Mailchimp's API cannot take an SMS opt-out, so a webhook
// queues no write-back (source.WriteBackChecker).
func (webhooks) CanWriteBack() error { return ErrWriteBackUnsupported }

// Verify checks the secret token our webhook URL carries.
func (webhooks) Verify(cfg map[string]string, d source.Delivery) error {
	return VerifyWebhook(cfg["webhookToken"], d.Query["token"])
}

func (webhooks) Parse(_ map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error) {
	return ParseWebhook(d.Body, opts)
}

// oauthCredentials is an OAuth install's config: the token, and the
// account's data centre and API endpoint from the metadata endpoint,
// checked (they become a host our workers call).
func oauthCredentials(ctx context.Context, g platform.Grant) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.Apps.Mailchimp.MetadataURL, nil)
	if err != nil {
		return nil, &platform.CredentialsError{Code: "metadata_failed", Err: err}
	}
	req.Header.Set("Authorization", "OAuth "+g.Token.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := g.HTTP.Do(req)
	if err != nil {
		return nil, &platform.CredentialsError{Code: "metadata_failed", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &platform.CredentialsError{Code: "metadata_failed", Err: fmt.Errorf("metadata: HTTP %d", resp.StatusCode)}
	}
	var md struct {
		DC          string `json:"dc"`
		APIEndpoint string `json:"api_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&md); err != nil {
		return nil, &platform.CredentialsError{Code: "metadata_failed", Err: errors.New("metadata: not the expected JSON")}
	}
	if _, ok := endpoints.MailchimpDC("oauth-" + md.DC); !ok {
		return nil, &platform.CredentialsError{Code: "metadata_failed", Err: errors.New("metadata: invalid dc")}
	}
	if len(endpoints.Connection(string(source.Mailchimp), map[string]string{"apiBaseUrl": md.APIEndpoint}, g.AllowPrivate)) > 0 {
		return nil, &platform.CredentialsError{Code: "metadata_failed", Err: errors.New("metadata: api_endpoint is not a Mailchimp API host")}
	}
	return map[string]string{"accessToken": g.Token.AccessToken, "dc": md.DC, "apiBaseUrl": strings.TrimRight(md.APIEndpoint, "/"),
		"webhookToken": g.NewToken()}, nil
}
