package source

import (
	"context"
	"errors"
	"time"
)

// The interfaces a connector (pkg/connectors, over a platform package)
// implements for the handlers: Source for bulk sync, WebhookConnector (and
// Uninstaller) for live webhooks; WriteBacker, WriteBackChecker,
// Subscriber, CredentialChecker, OptionLister and FieldLister are beside
// them in this package. The handlers consume them; pkg/connectors imports
// no handler.

// Source is one connection's platform client for bulk sync (pkg/bulksync):
// the plan of a full or an incremental listing, then each page of it.
type Source interface {
	PlanBulk(ctx context.Context) (Plan, error)
	PlanIncremental(ctx context.Context, since time.Time) (Plan, error)
	FetchPage(ctx context.Context, cur Cursor) (Page, error)
}

// Errors a WebhookConnector returns (wrapped) so the webhook handler can
// answer.
var (
	ErrSignature = errors.New("webhook: invalid signature")
	ErrMalformed = errors.New("webhook: malformed delivery")
)

// Delivery is one webhook request as a connector sees it.
type Delivery struct {
	// Header is the request's headers (an http.Header; this package stays
	// free of net/http, as the pure core that imports it).
	Header map[string][]string
	Body   []byte
	// URL is the public URL the platform called (PUBLIC_BASE_URL + path +
	// query), for schemes that sign it.
	URL   string
	Query map[string]string
	// At is when the delivery was received (webhook.Deps.Now): signatures
	// that cover a timestamp must be within their replay window of it, and
	// secrets that expire are judged at it.
	At time.Time
}

// WebhookConnector verifies and parses one platform's webhooks
// (pkg/webhook).
type WebhookConnector interface {
	// Verify checks the delivery's authentication against the connection's
	// (opened) config; it returns an error wrapping ErrSignature if it fails.
	Verify(cfg map[string]string, d Delivery) error
	// Parse turns a verified delivery into records; errors wrap ErrMalformed.
	Parse(cfg map[string]string, d Delivery, opts Options) (Webhook, error)
}

// Uninstaller is a WebhookConnector whose platform tells us the app was
// uninstalled (Shopify app/uninstalled): Uninstalled reports whether a
// verified delivery is that (errors wrap ErrMalformed).
type Uninstaller interface {
	Uninstalled(cfg map[string]string, d Delivery) (bool, error)
}
