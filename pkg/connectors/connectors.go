// Package connectors wires the platform packages (pkg/woocommerce, ...) to
// the handlers through their specs (pkg/platform; the list is
// pkg/connectors/platforms, or Registry.Specs): it builds a connection's
// platform client from its sealed config for the bulk-sync pages (one cached client per connection per
// process, so concurrent pages share its rate budget), and adapts each
// platform's webhook verification and parsing to pkg/webhook.
//
// For the Hub API (setup.go) it also builds a fresh client of a connection
// that is not stored yet, from its config in the clear, to check its
// credentials (source.CredentialChecker) and list its install options
// (source.OptionLister, plus source.FieldLister's fields); errors come
// back as source.CredentialsRejectedError or source.PlatformError with
// reasons safe to show (source.SafeReason: the config's secrets and
// anything key-like removed). A client writes opt-outs back
// (source.WriteBacker) and says up front when its platform cannot
// (source.WriteBackChecker: Mailchimp, WooCommerce without a consent meta
// key).
//
// For pkg/hooks (hooks.go) it builds the client that registers a
// connection's webhook subscriptions (source.Subscriber: Shopify,
// WooCommerce, Mailchimp's list webhook and Klaviyo), and Shopify's webhook
// adapter reports app/uninstalled of the connection's own shop
// (source.Uninstaller).
//
// OAuth installs (pkg/oauth) store tokens in the sealed config: Mailchimp's
// do not expire; Klaviyo's are refreshed before use (oauth.go: through
// golang.org/x/oauth2, re-sealed and stored conditionally on the version
// read), and a refused refresh token marks the connection
// needs_reauthorization and fails the run permanently with that reason.
package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Opener opens sealed connection configs.
type Opener interface {
	Open(tenant string, sealed []byte) ([]byte, error)
}

// Registry builds and caches platform clients.
type Registry struct {
	Opener Opener
	// HTTP is the base of the outbound client (its timeout and transport
	// tuning); the registry uses it only as safehttp.Harden makes it: no
	// redirects and, unless AllowPrivateHosts, https to public addresses
	// only. nil: safehttp.New with a 60 s timeout.
	HTTP *http.Client
	// AllowPrivateHosts lets connections reach private and loopback hosts
	// over http: local fakes (the sandbox, tests, make run) only, set from
	// safehttp.EnvAllowPrivateHosts, which no deployed function sets.
	// Off, a connection's hosts must also be its platform's own
	// (endpoints.Connection), checked again here before any request.
	AllowPrivateHosts bool
	// ShopifyBulkWait is how long a plan step waits for a running Shopify
	// bulk export before the pipeline asks again later (default 20 s).
	ShopifyBulkWait time.Duration
	// OAuth refreshes expiring OAuth tokens (Klaviyo) and stores them (nil:
	// a connection whose token has expired fails needing re-authorisation).
	OAuth *OAuth
	// Specs are the platforms it builds clients of (nil:
	// platforms.All(), the supported ones).
	Specs platform.Specs

	mu      sync.Mutex
	clients map[string]platformClient // by connection id and version
	hc      *http.Client              // HTTP hardened, built once
}

// ErrForbiddenHost: a connection's config names a host outbound calls may
// not reach (see endpoints.Connection).
var ErrForbiddenHost = errors.New("connectors: connection points at a host that is not allowed")

// httpClient returns the hardened outbound client (r.mu held).
func (r *Registry) httpClient() *http.Client {
	if r.hc == nil {
		if r.HTTP == nil {
			r.hc = safehttp.New(safehttp.Options{AllowPrivate: r.AllowPrivateHosts, Timeout: 60 * time.Second,
				MaxIdleConnsPerHost: r.maxConnections()})
		} else {
			r.hc = safehttp.Harden(r.HTTP, r.AllowPrivateHosts)
		}
	}
	return r.hc
}

// platformClient is what every platform client offers.
type platformClient = platform.Client

// ErrUnsupportedPlatform: no connector for the connection's platform.
var ErrUnsupportedPlatform = errors.New("connectors: unsupported platform")

// Config opens a connection's config.
func (r *Registry) Config(conn store.Connection) (map[string]string, error) {
	raw, err := r.Opener.Open(conn.TenantID, conn.Config)
	if err != nil {
		return nil, fmt.Errorf("opening connection config: %w", err)
	}
	var cfg map[string]string
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("decoding connection config: %w", err)
	}
	return cfg, nil
}

// Source returns the connection's platform client for bulk sync.
func (r *Registry) Source(ctx context.Context, conn store.Connection) (source.Source, error) {
	c, err := r.client(conn)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// WriteBack writes an opt-out of the number back to the connection's
// source record.
func (r *Registry) WriteBack(ctx context.Context, conn store.Connection, externalID, e164 string) error {
	c, err := r.client(conn)
	if err != nil {
		return err
	}
	return c.WriteBackOptOut(ctx, externalID, e164)
}

func (r *Registry) client(conn store.Connection) (platformClient, error) {
	key := conn.TenantID + "/" + conn.ID + "/" + strconv.FormatInt(conn.Version, 10)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok {
		return c, nil
	}
	src, err := r.build(conn)
	if err != nil {
		return nil, err
	}
	if r.clients == nil {
		r.clients = map[string]platformClient{}
	}
	r.clients[key] = src
	return src, nil
}

// build makes the connection's platform client, not cached (r.mu held).
func (r *Registry) build(conn store.Connection) (platformClient, error) {
	cfg, err := r.Config(conn)
	if err != nil {
		return nil, err
	}
	spec, ok := r.specs().Lookup(conn.Platform)
	if !ok {
		return nil, fmt.Errorf("%w: %w %q", source.ErrPermanent, ErrUnsupportedPlatform, conn.Platform)
	}
	// Defence in depth: the API checked these hosts when the connection
	// was saved; a config stored before that check, or altered since, is
	// refused before any request. The message names keys, not values.
	if bad := badHosts(spec, cfg, r.AllowPrivateHosts); bad != "" {
		return nil, fmt.Errorf("%w: %w (%s)", source.ErrPermanent, ErrForbiddenHost, bad)
	}
	return r.newClient(conn, spec, cfg)
}

// newClient builds the connection's platform client from its opened
// config, wrapped so its non-retryable errors (spec.Permanent) are marked
// permanent (r.mu held).
func (r *Registry) newClient(conn store.Connection, spec platform.Spec, cfg map[string]string) (permanentErrors, error) {
	opts := source.Options{ConnectionID: conn.ID, Label: conn.Label, SelectedTags: conn.SelectedTags, FieldMap: conn.FieldMap}
	env := platform.Env{HTTP: r.httpClient(), PlanWait: r.ShopifyBulkWait}
	if spec.Refresh != nil && cfg[CfgAccessToken] != "" {
		env.Token = r.token(conn, cfg, env.HTTP, spec.Refresh)
	}
	c, err := spec.New(cfg, opts, env)
	if err != nil {
		return permanentErrors{}, fmt.Errorf("%w: %w", source.ErrPermanent, err)
	}
	return permanentErrors{c, spec.Permanent}, nil
}

// permanentErrors marks a platform's non-retryable errors as permanent for
// the bulk-sync consumer.
type permanentErrors struct {
	platformClient
	permanent func(error) bool
}

func (p permanentErrors) mark(err error) error {
	// An answer over a client's size cap is the host's doing: asking
	// again gets the same answer.
	if err != nil && ((p.permanent != nil && p.permanent(err)) || errors.Is(err, safehttp.ErrBodyTooLarge)) {
		return fmt.Errorf("%w: %w", source.ErrPermanent, err)
	}
	return err
}

func (p permanentErrors) PlanBulk(ctx context.Context) (source.Plan, error) {
	plan, err := p.platformClient.PlanBulk(ctx)
	return plan, p.mark(err)
}

// ResumePlan resumes a plan where the client can (source.Resumer), else
// plans afresh.
func (p permanentErrors) ResumePlan(ctx context.Context, token string) (source.Plan, error) {
	r, ok := p.platformClient.(source.Resumer)
	if !ok {
		return p.PlanBulk(ctx)
	}
	plan, err := r.ResumePlan(ctx, token)
	return plan, p.mark(err)
}

func (p permanentErrors) PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error) {
	plan, err := p.platformClient.PlanIncremental(ctx, since)
	return plan, p.mark(err)
}

func (p permanentErrors) WriteBackOptOut(ctx context.Context, externalID, e164 string) error {
	return p.mark(p.platformClient.WriteBackOptOut(ctx, externalID, e164))
}

// CanWriteBack passes on the platform's answer (source.WriteBackChecker):
// nil unless the client knows it cannot write opt-outs back.
func (p permanentErrors) CanWriteBack() error {
	if c, ok := p.platformClient.(source.WriteBackChecker); ok {
		return c.CanWriteBack()
	}
	return nil
}

func (p permanentErrors) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	page, err := p.platformClient.FetchPage(ctx, cur)
	return page, p.mark(err)
}
