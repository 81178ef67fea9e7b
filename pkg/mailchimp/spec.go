package mailchimp

import (
	"errors"
	"net/http"
	"strings"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// Spec describes Mailchimp to the engine (pkg/platform).
func Spec() platform.Spec {
	return platform.Spec{
		Name:  source.Mailchimp,
		Label: source.Mailchimp.DefaultLabel(),
		Keys: []platform.Key{
			{Name: "apiKey", Flags: platform.Required | platform.Secret | platform.Credential | platform.OAuth},
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
				AccessToken: cfg["accessToken"], DC: cfg["dc"]}, opts, env.HTTP)
		},
		Permanent:      Permanent,
		Webhooks:       func(platform.Builder) platform.Webhook { return webhooks{} },
		MaxConnections: MaxConnections,
	}
}

// Permanent reports whether err is one no retry fixes.
func Permanent(err error) bool {
	var he *HTTPError
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidCursor) || errors.Is(err, ErrWriteBackUnsupported) ||
		(errors.As(err, &he) && he.Status < 500 && he.Status != http.StatusTooManyRequests)
}

type webhooks struct{}

// CanWriteBack: Mailchimp's API cannot take an SMS opt-out, so a webhook
// queues no write-back (source.WriteBackChecker).
func (webhooks) CanWriteBack() error { return ErrWriteBackUnsupported }

// Verify checks the secret token our webhook URL carries.
func (webhooks) Verify(cfg map[string]string, d platform.Delivery) error {
	return VerifyWebhook(cfg["webhookToken"], d.Query["token"])
}

func (webhooks) Parse(_ map[string]string, d platform.Delivery, opts source.Options) (source.Webhook, error) {
	return ParseWebhook(d.Body, opts)
}
