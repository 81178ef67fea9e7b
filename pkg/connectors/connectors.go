// Package connectors wires the platform packages (pkg/woocommerce, ...) to
// the handlers: it builds a connection's platform client from its sealed
// config for the bulk-sync pages (one cached client per connection per
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
// connection's webhook subscriptions (source.Subscriber: Shopify and
// WooCommerce), and Shopify's webhook adapter reports app/uninstalled of
// the connection's own shop (webhook.Uninstaller).
//
// OAuth installs (pkg/oauth) store tokens in the sealed config: Mailchimp's
// do not expire; Klaviyo's are refreshed before use (oauth.go: through
// golang.org/x/oauth2, re-sealed and stored conditionally on the version
// read), and a refused refresh token marks the connection
// needs_reauthorization and fails the run permanently with that reason.
package connectors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
	"github.com/contactsync/contactsync/pkg/woocommerce"
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
				MaxIdleConnsPerHost: mailchimp.MaxConnections})
		} else {
			r.hc = safehttp.Harden(r.HTTP, r.AllowPrivateHosts)
		}
	}
	return r.hc
}

// platformClient is what every platform client offers.
type platformClient interface {
	bulksync.Source
	WriteBackOptOut(ctx context.Context, externalID, e164 string) error
}

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
func (r *Registry) Source(ctx context.Context, conn store.Connection) (bulksync.Source, error) {
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
	// Defence in depth: the API checked these hosts when the connection
	// was saved; a config stored before that check, or altered since, is
	// refused before any request. The message names keys, not values.
	if bad := endpoints.Connection(conn.Platform, cfg, r.AllowPrivateHosts); len(bad) > 0 {
		keys := make([]string, 0, len(bad))
		for k := range bad {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("%w: %w (%s)", bulksync.ErrPermanent, ErrForbiddenHost, strings.Join(keys, ", "))
	}
	return r.newClient(conn, cfg)
}

// newClient builds the connection's platform client from its opened
// config, wrapped so its non-retryable errors are marked permanent; the
// wrapped client is permanentErrors.platformClient (r.mu held).
func (r *Registry) newClient(conn store.Connection, cfg map[string]string) (permanentErrors, error) {
	opts := source.Options{ConnectionID: conn.ID, Label: conn.Label, SelectedTags: conn.SelectedTags, FieldMap: conn.FieldMap}
	hc := r.httpClient()
	switch source.Platform(conn.Platform) {
	case source.WooCommerce:
		c, err := woocommerce.New(woocommerce.Config{
			StoreURL: cfg["storeUrl"], ConsumerKey: cfg["consumerKey"], ConsumerSecret: cfg["consumerSecret"],
			WebhookSecret: cfg["webhookSecret"], SMSConsentMetaKey: cfg["smsConsentMetaKey"], GroupsMetaKey: cfg["groupsMetaKey"],
		}, opts, hc)
		if err != nil {
			return permanentErrors{}, fmt.Errorf("%w: %w", bulksync.ErrPermanent, err)
		}
		return permanentErrors{c, wooPermanent}, nil
	case source.Shopify:
		c, err := shopify.New(shopify.Config{
			ShopDomain: cfg["shopDomain"], AccessToken: cfg["accessToken"], WebhookSecret: cfg["webhookSecret"],
			APIVersion: cfg["apiVersion"], APIBaseURL: cfg["apiBaseUrl"],
			// Install syncs export through Bulk Operations unless the
			// connection turns it off: paging is capped by the cost bucket
			// (about 99 customers/s on a Standard plan).
			Bulk: cfg["bulkOperations"] != "false",
			// The plan step waits this long for a running export, then is
			// re-queued (bulksync honours source.NotReadyError) so a large
			// store's export can take as long as it needs.
			BulkWait: cmp.Or(r.ShopifyBulkWait, 20*time.Second),
		}, opts, hc)
		if err != nil {
			return permanentErrors{}, fmt.Errorf("%w: %w", bulksync.ErrPermanent, err)
		}
		return permanentErrors{c, shopifyPermanent}, nil
	case source.Mailchimp:
		c, err := mailchimp.New(mailchimp.Config{APIKey: cfg["apiKey"], AudienceID: cfg["audienceId"], APIBaseURL: cfg["apiBaseUrl"],
			AccessToken: cfg[CfgAccessToken], DC: cfg["dc"]}, opts, hc)
		if err != nil {
			return permanentErrors{}, fmt.Errorf("%w: %w", bulksync.ErrPermanent, err)
		}
		return permanentErrors{c, func(err error) bool {
			var he *mailchimp.HTTPError
			return errors.Is(err, mailchimp.ErrUnauthorized) || errors.Is(err, mailchimp.ErrInvalidCursor) || errors.Is(err, mailchimp.ErrWriteBackUnsupported) ||
				(errors.As(err, &he) && he.Status < 500 && he.Status != http.StatusTooManyRequests)
		}}, nil
	case source.Klaviyo:
		kcfg := klaviyo.Config{PrivateAPIKey: cfg["privateApiKey"], APIBaseURL: cfg["apiBaseUrl"]}
		if cfg["privateApiKey"] == "" && cfg[CfgAccessToken] != "" {
			kcfg.Token = r.klaviyoToken(conn, cfg, hc)
		}
		c, err := klaviyo.New(kcfg, opts, hc)
		if err != nil {
			return permanentErrors{}, fmt.Errorf("%w: %w", bulksync.ErrPermanent, err)
		}
		return permanentErrors{c, func(err error) bool {
			var he *klaviyo.HTTPError
			return errors.Is(err, klaviyo.ErrUnauthorized) || errors.Is(err, klaviyo.ErrInvalidCursor) ||
				(errors.As(err, &he) && he.Status < 500 && he.Status != http.StatusTooManyRequests)
		}}, nil
	default:
		return permanentErrors{}, fmt.Errorf("%w: %w %q", bulksync.ErrPermanent, ErrUnsupportedPlatform, conn.Platform)
	}
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
	if err != nil && (p.permanent(err) || errors.Is(err, safehttp.ErrBodyTooLarge)) {
		return fmt.Errorf("%w: %w", bulksync.ErrPermanent, err)
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

func wooPermanent(err error) bool {
	return errors.Is(err, woocommerce.ErrUnauthorized) || errors.Is(err, woocommerce.ErrInvalidCursor) || errors.Is(err, woocommerce.ErrWriteBackUnsupported) ||
		errors.Is(err, woocommerce.ErrNotFound) || httpx.IsPermanent(err)
}

func shopifyPermanent(err error) bool {
	var ge *shopify.GraphQLError
	return errors.Is(err, shopify.ErrUnauthorized) || errors.Is(err, shopify.ErrInvalidCursor) || errors.Is(err, shopify.ErrInvalidConfig) || errors.As(err, &ge) ||
		errors.Is(err, shopify.ErrResultTooLarge) || errors.Is(err, shopify.ErrMalformedResult) || httpx.IsPermanent(err)
}

// Webhooks returns the webhook adapters of every supported platform.
// Shopify's segment topics resolve the segment's name with a call to the
// shop through a Registry with no private hosts (WebhooksFor takes one).
func Webhooks() map[source.Platform]webhook.Connector {
	return WebhooksFor(nil)
}

// WebhooksFor is Webhooks with r's outbound HTTP settings (hardening,
// AllowPrivateHosts) for the calls a webhook needs (the name of a
// segment a Shopify delivery names by id); nil is a default Registry.
func WebhooksFor(r *Registry) map[source.Platform]webhook.Connector {
	if r == nil {
		r = &Registry{}
	}
	return map[source.Platform]webhook.Connector{
		source.WooCommerce: wooWebhook{},
		source.Shopify:     shopifyWebhook{r: r, names: &segmentNames{}},
		source.Mailchimp:   mailchimpWebhook{},
		source.Klaviyo:     klaviyoWebhook{},
	}
}

// klaviyoWebhook verifies Klaviyo's system webhooks (accounts that have
// them; the daily pull covers the rest).
type klaviyoWebhook struct{}

func (klaviyoWebhook) Verify(cfg map[string]string, d webhook.Delivery) error {
	if err := klaviyo.VerifyWebhook(cfg["webhookSecret"], d.Header, d.Body, d.At); err != nil {
		return fmt.Errorf("%w: %w", webhook.ErrSignature, err)
	}
	return nil
}

func (klaviyoWebhook) Parse(_ map[string]string, d webhook.Delivery, opts source.Options) (source.Webhook, error) {
	wh, err := klaviyo.ParseWebhook(d.Header, d.Body, opts)
	if err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %w", webhook.ErrMalformed, err)
	}
	return wh, nil
}

type mailchimpWebhook struct{}

// CanWriteBack: Mailchimp's API cannot take an SMS opt-out, so a webhook
// queues no write-back (source.WriteBackChecker).
func (mailchimpWebhook) CanWriteBack() error { return mailchimp.ErrWriteBackUnsupported }

// Verify checks the secret token our webhook URL carries (Mailchimp signs nothing).
func (mailchimpWebhook) Verify(cfg map[string]string, d webhook.Delivery) error {
	if err := mailchimp.VerifyWebhook(cfg["webhookToken"], d.Query["token"]); err != nil {
		return fmt.Errorf("%w: %w", webhook.ErrSignature, err)
	}
	return nil
}

func (mailchimpWebhook) Parse(_ map[string]string, d webhook.Delivery, opts source.Options) (source.Webhook, error) {
	wh, err := mailchimp.ParseWebhook(d.Body, opts)
	if err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %w", webhook.ErrMalformed, err)
	}
	return wh, nil
}

type shopifyWebhook struct {
	r     *Registry
	names *segmentNames
}

// segmentTimeout bounds the segment name lookup of a webhook delivery.
const segmentTimeout = 10 * time.Second

// Segment names read for webhooks are reused for segmentNameTTL (a burst
// of joins after a segment is recomputed costs one lookup; a rename shows
// within the TTL), at most maxSegmentNames of them (the cache is emptied
// when full).
const (
	segmentNameTTL  = 5 * time.Minute
	maxSegmentNames = 10_000
)

// segmentNames caches segment names by connection and segment GID.
type segmentNames struct {
	mu sync.Mutex
	m  map[string]segmentName
}

type segmentName struct {
	name string
	at   time.Time
}

func (c *segmentNames) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[key]
	return n.name, ok && time.Since(n.at) < segmentNameTTL
}

func (c *segmentNames) put(key, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSegmentNames {
		c.m = map[string]segmentName{}
	}
	c.m[key] = segmentName{name: name, at: time.Now()}
}

func (shopifyWebhook) Verify(cfg map[string]string, d webhook.Delivery) error {
	// previousWebhookSecret covers the hour after a secret rotation
	// (webhookSecretRotatedAt, set by the Hub API when it stores one), and
	// only that hour.
	rotatedAt, _ := time.Parse(time.RFC3339Nano, cfg["webhookSecretRotatedAt"]) // absent or bad: zero, the previous secret is not accepted
	secrets := shopify.WebhookSecrets(cfg["webhookSecret"], cfg["previousWebhookSecret"], rotatedAt, d.At)
	if err := shopify.VerifyWebhook(secrets, d.Header, d.Body); err != nil {
		return fmt.Errorf("%w: %w", webhook.ErrSignature, err)
	}
	return nil
}

func (w shopifyWebhook) Parse(cfg map[string]string, d webhook.Delivery, opts source.Options) (source.Webhook, error) {
	// customer.joined_segment / left_segment name the segment by id: its
	// name (the group) is read from the shop, through the same hardened
	// client and host checks as a sync.
	names := func(ctx context.Context, gid string) (string, error) {
		key := opts.ConnectionID + " " + gid
		if w.names != nil {
			if name, ok := w.names.get(key); ok {
				return name, nil
			}
		}
		c, err := w.segmentClient(cfg, opts)
		if err != nil {
			return "", err
		}
		name, err := c.SegmentName(ctx, gid)
		if err == nil && name != "" && w.names != nil {
			w.names.put(key, name)
		}
		return name, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), segmentTimeout)
	defer cancel()
	wh, err := shopify.ParseWebhookWith(ctx, d.Header, d.Body, opts, names)
	if err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %w", webhook.ErrMalformed, err)
	}
	return wh, nil
}

// Uninstalled reports whether a verified delivery is app/uninstalled of
// the connection's own shop (the signed body names it: every shop's
// deliveries are signed with the one app secret, so a body from another
// shop is refused).
func (shopifyWebhook) Uninstalled(cfg map[string]string, d webhook.Delivery) (bool, error) {
	if d.Header.Get("X-Shopify-Topic") != "app/uninstalled" {
		return false, nil
	}
	wh, err := shopify.ParseWebhook(d.Header, d.Body, source.Options{})
	if err != nil {
		return false, fmt.Errorf("%w: %w", webhook.ErrMalformed, err)
	}
	if !strings.EqualFold(wh.Uninstalled, cfg["shopDomain"]) {
		return false, fmt.Errorf("%w: app/uninstalled of another shop", webhook.ErrMalformed)
	}
	return true, nil
}

// segmentClient is a Shopify client of the connection's config for a
// segment name lookup.
func (w shopifyWebhook) segmentClient(cfg map[string]string, opts source.Options) (*shopify.Client, error) {
	r := w.r
	if r == nil {
		r = &Registry{}
	}
	if bad := endpoints.Connection(string(source.Shopify), cfg, r.AllowPrivateHosts); len(bad) > 0 {
		return nil, ErrForbiddenHost
	}
	r.mu.Lock()
	hc := r.httpClient()
	r.mu.Unlock()
	return shopify.New(shopify.Config{ShopDomain: cfg["shopDomain"], AccessToken: cfg["accessToken"],
		APIVersion: cfg["apiVersion"], APIBaseURL: cfg["apiBaseUrl"]}, opts, hc)
}

type wooWebhook struct{}

func (wooWebhook) Verify(cfg map[string]string, d webhook.Delivery) error {
	if err := woocommerce.VerifyWebhook(cfg["webhookSecret"], d.Header, d.Body); err != nil {
		return fmt.Errorf("%w: %w", webhook.ErrSignature, err)
	}
	return nil
}

func (wooWebhook) Parse(cfg map[string]string, d webhook.Delivery, opts source.Options) (source.Webhook, error) {
	wh, err := woocommerce.ParseWebhookKeys(d.Header, d.Body, opts, woocommerce.Keys{Consent: cfg["smsConsentMetaKey"], Groups: cfg["groupsMetaKey"]})
	if err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %w", webhook.ErrMalformed, err)
	}
	return wh, nil
}
