package shopify

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// Spec describes Shopify to the engine (pkg/platform).
func Spec() platform.Spec {
	return platform.Spec{
		Name:  source.Shopify,
		Label: source.Shopify.DefaultLabel(),
		Keys: []platform.Key{
			{Name: "shopDomain", Flags: platform.Required | platform.Credential},
			{Name: "accessToken", Flags: platform.Required | platform.Secret | platform.Credential},
			{Name: "webhookSecret", Flags: platform.Required | platform.Secret},
			{Name: "apiVersion", Flags: platform.Credential},
			{Name: "apiBaseUrl", Flags: platform.URL | platform.Credential},
			{Name: "previousWebhookSecret", Flags: platform.Secret},
			{Name: "bulkOperations"},
		},
		Hosts: func(cfg map[string]string, allowPrivate bool) map[string]string {
			return endpoints.Connection(string(source.Shopify), cfg, allowPrivate)
		},
		New: func(cfg map[string]string, opts source.Options, env platform.Env) (platform.Client, error) {
			return New(Config{
				ShopDomain: cfg["shopDomain"], AccessToken: cfg["accessToken"], WebhookSecret: cfg["webhookSecret"],
				APIVersion: cfg["apiVersion"], APIBaseURL: cfg["apiBaseUrl"],
				// Install syncs export through Bulk Operations unless the
				// connection turns it off: paging is capped by the cost
				// bucket (about 99 customers/s on a Standard plan).
				Bulk: cfg["bulkOperations"] != "false",
				// The plan step waits this long for a running export, then
				// is re-queued (bulksync honours source.NotReadyError) so a
				// large store's export can take as long as it needs.
				BulkWait: cmp.Or(env.PlanWait, 20*time.Second),
			}, opts, env.HTTP)
		},
		Permanent:            Permanent,
		Webhooks:             func(build platform.Builder) platform.Webhook { return &webhooks{build: build} },
		RotatesWebhookSecret: true,
		OAuth: &platform.OAuth{
			App:    func(apps oauth.Apps) oauth.App { return apps.Shopify },
			Config: func(apps oauth.Apps, shop, redirect string) *oauth2.Config { return apps.ShopifyConfig(shop, redirect) },
			Shop:   true,
			// Shopify signs the callback: checked before anything else.
			VerifyCallback: func(app oauth.App, q url.Values) bool { return oauth.VerifyShopifyHMAC(app.ClientSecret, q) },
			Credentials: func(_ context.Context, g platform.Grant) (map[string]string, error) {
				// Shopify signs webhooks with the app's client secret.
				cfg := map[string]string{"shopDomain": g.Shop, "accessToken": g.Token.AccessToken, "webhookSecret": g.Apps.Shopify.ClientSecret}
				if b := g.Apps.Shopify.APIBaseURL; b != "" {
					cfg["apiBaseUrl"] = b
				}
				return cfg, nil
			},
		},
	}
}

// Permanent reports whether err is one no retry fixes.
func Permanent(err error) bool {
	var ge *GraphQLError
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidCursor) || errors.Is(err, ErrInvalidConfig) || errors.As(err, &ge) ||
		errors.Is(err, ErrResultTooLarge) || errors.Is(err, ErrMalformedResult) || httpx.IsPermanent(err)
}

// webhooks verifies and parses a connection's deliveries; segment topics
// name the segment by id, so its name (the group) is read from the shop
// through build (the same hardened client and host checks as a sync),
// and kept a while.
type webhooks struct {
	build platform.Builder
	mu    sync.Mutex
	names map[string]segmentName // by connection and segment GID
}

type segmentName struct {
	name string
	at   time.Time
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

func (w *webhooks) cached(key string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.names[key]
	return n.name, ok && time.Since(n.at) < segmentNameTTL
}

func (w *webhooks) keep(key, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.names == nil || len(w.names) >= maxSegmentNames {
		w.names = map[string]segmentName{}
	}
	w.names[key] = segmentName{name: name, at: time.Now()}
}

func (*webhooks) Verify(cfg map[string]string, d source.Delivery) error {
	// previousWebhookSecret covers the hour after a secret rotation
	// (webhookSecretRotatedAt, set by the Hub API when it stores one), and
	// only that hour.
	rotatedAt, _ := time.Parse(time.RFC3339Nano, cfg["webhookSecretRotatedAt"]) // absent or bad: zero, the previous secret is not accepted
	return VerifyWebhook(WebhookSecrets(cfg["webhookSecret"], cfg["previousWebhookSecret"], rotatedAt, d.At), d.Header, d.Body)
}

func (w *webhooks) Parse(cfg map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error) {
	names := func(ctx context.Context, gid string) (string, error) {
		key := opts.ConnectionID + " " + gid
		if name, ok := w.cached(key); ok {
			return name, nil
		}
		c, err := w.build(map[string]string{"shopDomain": cfg["shopDomain"], "accessToken": cfg["accessToken"],
			"apiVersion": cfg["apiVersion"], "apiBaseUrl": cfg["apiBaseUrl"], "bulkOperations": "false"}, opts)
		if err != nil {
			return "", err
		}
		sc, ok := c.(*Client)
		if !ok {
			return "", ErrInvalidConfig
		}
		name, err := sc.SegmentName(ctx, gid)
		if err == nil && name != "" {
			w.keep(key, name)
		}
		return name, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), segmentTimeout)
	defer cancel()
	return ParseWebhookWith(ctx, d.Header, d.Body, opts, names)
}

// Uninstalled reports whether a verified delivery is app/uninstalled of
// the connection's own shop (the signed body names it: every shop's
// deliveries are signed with the one app secret, so a body from another
// shop is refused).
func (*webhooks) Uninstalled(cfg map[string]string, d source.Delivery) (bool, error) {
	if header(http.Header(d.Header), "Topic") != "app/uninstalled" {
		return false, nil
	}
	wh, err := ParseWebhook(d.Header, d.Body, source.Options{})
	if err != nil {
		return false, err
	}
	if !strings.EqualFold(wh.Uninstalled, cfg["shopDomain"]) {
		return false, errors.New("shopify: app/uninstalled of another shop")
	}
	return true, nil
}
