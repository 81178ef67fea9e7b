// Package webhookfn builds the webhook function's handler
// (functions/webhook): platform webhooks. The function's main, the sandbox,
// `make invoke` and the tests build it here from a compose.Env; the main
// imports this package alone, so the function links and initializes no
// other handler's packages.
package webhookfn

import (
	"time"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// Name is the function's name in resources.Functions.
const Name = "webhook"

// CallTimeout bounds a platform call a delivery makes (a Klaviyo token
// refresh).
const CallTimeout = 10 * time.Second

// New is the webhook handler built from e.
func New(e compose.Env) *webhook.Handler {
	return webhook.New(webhook.Deps{
		Store: e.Store(), Opener: e.Sealer, Connectors: connectors.WebhooksFor(e.Registry(CallTimeout)), Outbox: e.Sender(e.Names.OutboxQueueURL),
		PublicBaseURL: e.PublicBaseURL, Now: e.Now, Log: e.Logger(),
	})
}
