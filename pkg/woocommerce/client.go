package woocommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

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

// HTTPError is a non-2xx answer that is not retried. Its Error() holds
// the status and WooCommerce's error code (safehttp.Code) only: the text
// reaches API callers (a sync's error), so the store's message stays in
// Message, for logs.
type HTTPError struct {
	Status  int
	Code    string
	Message string // the store's words: logs only
}

func (e *HTTPError) Error() string {
	if c := safehttp.Code(e.Code); c != "" {
		return fmt.Sprintf("woocommerce: HTTP %d %s", e.Status, c)
	}
	return fmt.Sprintf("woocommerce: HTTP %d", e.Status)
}

// Client talks to one store. It is safe for concurrent use; goroutines
// sharing it share its request budget.
type Client struct {
	cfg     Config
	opts    source.Options
	base    *url.URL
	hc      *http.Client
	limiter *rate.Limiter
	maxRPS  float64

	mu       sync.Mutex
	lastSlow time.Time
	// maxWait caps any wait the store asks for (Retry-After); 0 is
	// safehttp.MaxRetryAfter. Tests lower it.
	maxWait time.Duration
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
	if opts.Label == "" {
		opts.Label = source.WooCommerce.DefaultLabel()
	}
	rps := cfg.MaxRPS
	if rps <= 0 {
		rps = DefaultMaxRPS
	}
	return &Client{cfg: cfg, opts: opts, base: u, hc: hc, limiter: rate.NewLimiter(rate.Limit(rps), max(1, int(rps))), maxRPS: rps}, nil
}

const maxAttempts = 6

// maxBody caps an answer (a page of 100 customers is well under 1 MiB); a
// longer one fails with safehttp.ErrBodyTooLarge, not retried.
const maxBody = 32 << 20

// get fetches path with query into v and returns the response headers.
func (c *Client) get(ctx context.Context, path string, q url.Values, v any) (http.Header, error) {
	return c.do(ctx, http.MethodGet, path, q, nil, v)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, v any) (http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
	}
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
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		if u.Scheme == "https" {
			req.SetBasicAuth(c.cfg.ConsumerKey, c.cfg.ConsumerSecret)
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = fmt.Errorf("woocommerce: %s %s: %w", method, path, redact(err))
			if err := sleep(ctx, backoff(attempt, 0)); err != nil {
				return nil, err
			}
			continue
		}
		data, rerr := safehttp.ReadResponse(resp, maxBody)
		resp.Body.Close()
		switch {
		case errors.Is(rerr, safehttp.ErrBodyTooLarge):
			return nil, fmt.Errorf("woocommerce: reading %s: %w", path, rerr) // the host's answer, not a glitch: no retry
		case rerr != nil:
			lastErr = fmt.Errorf("woocommerce: reading %s: %w", path, rerr)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
				c.slowDown()
			}
			lastErr = &HTTPError{Status: resp.StatusCode, Message: "retried"}
			if err := sleep(ctx, backoff(attempt, safehttp.RetryAfter(resp.Header, time.Now(), c.maxWait))); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, ErrUnauthorized
		case resp.StatusCode == http.StatusNotFound:
			return nil, ErrNotFound
		case resp.StatusCode >= 300:
			var ae apiError
			_ = json.Unmarshal(data, &ae) // best effort: the status says enough
			return nil, &HTTPError{Status: resp.StatusCode, Code: ae.Code, Message: excerpt(ae.Message)}
		default:
			c.speedUp()
			if v != nil {
				if err := json.Unmarshal(data, v); err != nil {
					return nil, fmt.Errorf("woocommerce: decoding %s: %w", path, err)
				}
			}
			return resp.Header, nil
		}
	}
	return nil, fmt.Errorf("woocommerce: %s %s failed after %d attempts: %w", method, path, maxAttempts, lastErr)
}

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

func backoff(attempt int, floor time.Duration) time.Duration {
	d := min(100*time.Millisecond<<attempt, 10*time.Second)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	return max(d, floor)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// redact removes the query string (which holds the keys over plain http)
// from transport errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

func excerpt(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
