package woocommerce

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// Config is a connection's WooCommerce configuration (design.md §6).
type Config struct {
	StoreURL          string // https://shop.example.com
	ConsumerKey       string
	ConsumerSecret    string
	WebhookSecret     string
	SMSConsentMetaKey string
	// GroupsMetaKey is the customer meta key holding tags or segments
	// that become groups ("" = none; the role still does).
	GroupsMetaKey string
	// MaxRPS caps requests per second (the host's limit; core has none).
	// Zero means DefaultMaxRPS.
	MaxRPS float64
}

// DefaultMaxRPS is the pace when the connection sets none.
const DefaultMaxRPS = 20

// Errors callers branch on.
var (
	ErrUnauthorized         = errors.New("woocommerce: unauthorized (check the consumer key and secret)")
	ErrNotFound             = errors.New("woocommerce: not found")
	ErrInvalidConfig        = errors.New("woocommerce: invalid configuration")
	ErrInvalidCursor        = errors.New("woocommerce: invalid cursor")
	ErrWriteBackUnsupported = fmt.Errorf("woocommerce: write-back needs an SMS consent meta key: %w", source.ErrWriteBackUnsupported)
)

// Client talks to one store. It is safe for concurrent use; goroutines
// sharing it share its request budget.
type Client struct {
	cfg     Config
	opts    source.Options
	base    *url.URL
	api     *httpx.Client // its MaxWait caps a Retry-After (tests lower it)
	limiter *rate.Limiter
	maxRPS  float64

	mu       sync.Mutex
	lastSlow time.Time
}

// New validates cfg and returns a client.
func New(cfg Config, opts source.Options, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.StoreURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: storeUrl must be an http(s) URL", ErrInvalidConfig)
	}
	if cfg.ConsumerKey == "" || cfg.ConsumerSecret == "" {
		return nil, fmt.Errorf("%w: consumer key and secret are required", ErrInvalidConfig)
	}
	if hc == nil {
		// Tests against local fakes; production clients come hardened
		// from connectors.Registry (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 60 * time.Second})
	}
	opts.Label = cmp.Or(opts.Label, source.WooCommerce.DefaultLabel())
	rps := cfg.MaxRPS
	if rps <= 0 {
		rps = DefaultMaxRPS
	}
	api := &httpx.Client{HTTP: hc, Platform: "woocommerce", Attempts: maxAttempts, MaxBody: maxBody}
	return &Client{cfg: cfg, opts: opts, base: u, api: api, limiter: rate.NewLimiter(rate.Limit(rps), max(1, int(rps))), maxRPS: rps}, nil
}

const maxAttempts = 6

// maxBody caps an answer (a page of 100 customers is well under 1 MiB); a
// longer one fails with safehttp.ErrBodyTooLarge, not retried.
const maxBody = 32 << 20

// get fetches path with query into v and returns the response headers.
func (c *Client) get(ctx context.Context, path string, q url.Values, v any) (http.Header, error) {
	return c.do(ctx, http.MethodGet, path, q, nil, v)
}

// do makes a call, paced by the limiter and retried by httpx (a 429 or
// 503 slows the pace down, a success speeds it up): a 401/403 is
// ErrUnauthorized, a 404 ErrNotFound, other failures *httpx.Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, v any) (http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
	}
	resp, err := c.api.Do(ctx, httpx.Request{New: c.build(method, path, q, payload), Decode: decode, Wait: c.limiter.Wait,
		Unspent: func(status int) {
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				c.slowDown()
			}
		}})
	if err != nil {
		return nil, c.known(err)
	}
	c.speedUp()
	if v != nil {
		if err := json.Unmarshal(resp.Body, v); err != nil {
			return nil, fmt.Errorf("woocommerce: decoding %s: %w", path, err)
		}
	}
	return resp.Header, nil
}

// known maps the statuses callers branch on to their errors.
func (c *Client) known(err error) error {
	switch httpx.StatusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	}
	return err
}

// build is a Request.New for path under /wp-json/wc/v3 with q (nil: none):
// the keys go in HTTP Basic over https, in the query over plain http (as
// WooCommerce takes them; httpx keeps the URL out of errors).
func (c *Client) build(method, path string, q url.Values, payload []byte) func(context.Context) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + "/wp-json/wc/v3" + path
	if q == nil {
		q = url.Values{}
	}
	if u.Scheme == "http" {
		q.Set("consumer_key", c.cfg.ConsumerKey)
		q.Set("consumer_secret", c.cfg.ConsumerSecret)
	}
	u.RawQuery = q.Encode()
	return httpx.Build(method, u.String(), payload, "application/json", func(r *http.Request) {
		if u.Scheme == "https" {
			r.SetBasicAuth(c.cfg.ConsumerKey, c.cfg.ConsumerSecret)
		}
		r.Header.Set("Accept", "application/json")
	})
}

// decode reads WooCommerce's error body {code, message, data}.
var decode = httpx.Fields("code", "message")

// slowDown halves the request rate after a 429/503 (at most once a second).
func (c *Client) slowDown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.lastSlow) < time.Second {
		return
	}
	c.lastSlow = time.Now()
	c.limiter.SetLimit(max(c.limiter.Limit()/2, 0.5))
}

// speedUp recovers the rate by 5 % per success, up to the configured cap.
func (c *Client) speedUp() {
	if l := c.limiter.Limit(); float64(l) < c.maxRPS {
		c.limiter.SetLimit(rate.Limit(min(float64(l)*1.05, c.maxRPS)))
	}
}
