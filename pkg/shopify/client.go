package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// DefaultAPIVersion is the Admin API version the client asks for.
const DefaultAPIVersion = "2026-07"

// Config is a connection's Shopify configuration (design.md §6).
type Config struct {
	ShopDomain    string // acme.myshopify.com
	AccessToken   string
	WebhookSecret string
	APIVersion    string // default DefaultAPIVersion
	APIBaseURL    string // overrides https://{ShopDomain} (fakes, tests)

	// Bulk makes PlanBulk export the customers with a Shopify Bulk
	// Operation (bulkOperationRunQuery) and plan byte ranges of its JSONL
	// result, fetched in parallel, instead of a chain of GraphQL pages.
	// The default (false) keeps the chained plan: it needs no waiting at
	// plan time, but is bounded by the cost bucket (about 99 customers/s
	// on a Standard plan). With Bulk, PlanBulk waits for the export to
	// complete, up to BulkWait.
	Bulk bool
	// BulkWait is how long PlanBulk waits for a running export before it
	// returns a *source.NotReadyError (the pipeline then asks again later,
	// and the running export is reused). 0 waits until ctx is done.
	BulkWait time.Duration
	// BulkLinesPerRange is about how many customers one range cursor of a
	// bulk plan holds (default DefaultBulkLinesPerRange).
	BulkLinesPerRange int
	// BulkPollInterval is the first wait between status polls of a bulk
	// operation; each wait is half again as long, up to 30 s (default 1 s).
	BulkPollInterval time.Duration
	// BulkReuseWithin is how recent (by createdAt) a COMPLETED export of
	// ours must be for PlanBulk to plan from it instead of starting
	// another (default 0: never; a new sync wants a new snapshot). A plan
	// that answered NotReadyError resumes its own export via ResumePlan.
	BulkReuseWithin time.Duration

	// MaxSegments caps how many segments a run reads members of (and
	// makes groups); the rest are reported (segments_over_cap). Default
	// DefaultMaxSegments.
	MaxSegments int
	// MaxSegmentMembers caps the segment members a run reads, summed over
	// its segments by their totalCount at plan time; a segment that does
	// not fit is left as it is and reported (segment_over_member_cap).
	// Default DefaultMaxSegmentMembers.
	MaxSegmentMembers int
	// MaxGuestOrders caps the orders a full run reads for guest checkouts;
	// past it the listing stops and is reported (guest_orders_capped).
	// Default DefaultMaxGuestOrders.
	MaxGuestOrders int
}

// Errors callers branch on.
var (
	ErrUnauthorized  = errors.New("shopify: unauthorized (check the access token)")
	ErrInvalidConfig = errors.New("shopify: invalid configuration")
	ErrInvalidCursor = errors.New("shopify: invalid cursor")
	ErrThrottled     = errors.New("shopify: throttled")
)

// HTTPError is a non-2xx answer that is not retried. Its Error() holds the
// status and our own words (Message) only: the text reaches API callers
// (a sync's error), so what the host answered stays in Body, for logs.
type HTTPError struct {
	Status  int
	Message string // ours, never the host's
	Body    string // an excerpt of the answer: logs only
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("shopify: HTTP %d", e.Status)
	}
	return fmt.Sprintf("shopify: HTTP %d: %s", e.Status, e.Message)
}

// GraphQLError is a GraphQL error the client does not retry. Error()
// carries the code (safehttp.Code) only; Message, Shopify's text, is for
// logs.
type GraphQLError struct{ Message, Code string }

func (e *GraphQLError) Error() string { return "shopify: GraphQL error " + safehttp.Code(e.Code) }

// Client talks to one shop. It is safe for concurrent use; goroutines
// sharing it share its cost bucket.
type Client struct {
	cfg      Config
	opts     source.Options
	endpoint string
	hc       *http.Client
	bucket   bucket
	// rangeSlack overrides defaultRangeSlack (tests of long lines).
	rangeSlack int64
	// limits override the caps of a range page (tests).
	limits rangeLimits
	// maxWait caps any wait the shop asks for (Retry-After, the cost
	// bucket's refill); 0 is safehttp.MaxRetryAfter. Tests lower it.
	maxWait time.Duration
	// segNames caches the shop's segment names for KeepGroups.
	segNames segmentNameCache
}

// New validates cfg and returns a client.
func New(cfg Config, opts source.Options, hc *http.Client) (*Client, error) {
	if cfg.AccessToken == "" || (cfg.ShopDomain == "" && cfg.APIBaseURL == "") {
		return nil, fmt.Errorf("%w: shop domain and access token are required", ErrInvalidConfig)
	}
	base := strings.TrimRight(cfg.APIBaseURL, "/")
	if base == "" {
		base = "https://" + cfg.ShopDomain
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if hc == nil {
		// Tests against local fakes; production clients come hardened
		// from connectors.Registry (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 60 * time.Second})
	}
	if opts.Label == "" {
		opts.Label = source.Shopify.DefaultLabel()
	}
	return &Client{cfg: cfg, opts: opts, endpoint: base + "/admin/api/" + cfg.APIVersion + "/graphql.json", hc: hc,
		bucket: bucket{max: 2000, available: 2000, rate: 100, at: time.Now()}}, nil
}

// bucket models Shopify's leaky bucket: points restore at rate per second
// up to max; each request reserves its cost before it is sent (waiting when
// the model is short), and each answer corrects the model with Shopify's
// own throttleStatus. Reservations of requests still in flight are kept
// aside, so concurrent pages of one connection share the budget.
type bucket struct {
	mu        sync.Mutex
	max       float64
	available float64
	rate      float64
	at        time.Time
	inflight  float64
}

func (b *bucket) refill(now time.Time) {
	b.available = min(b.max, b.available+b.rate*now.Sub(b.at).Seconds())
	b.at = now
}

// reserve takes cost points, waiting as long as the model says it must,
// but never longer than maxWait (safehttp.CapWait): the model's rates come
// from the shop's answers, and a shop reporting a near-zero restore rate
// must not park the worker.
func (b *bucket) reserve(ctx context.Context, cost float64, maxWait time.Duration) error {
	b.mu.Lock()
	b.refill(time.Now())
	b.available -= cost
	b.inflight += cost
	wait := time.Duration(0)
	if b.available < 0 {
		wait = safehttp.CapWait(time.Duration(min(-b.available/b.rate, 1e6)*float64(time.Second)), maxWait)
	}
	b.mu.Unlock()
	if wait == 0 {
		return nil
	}
	if err := sleep(ctx, wait); err != nil {
		b.done(cost, nil, false)
		return err
	}
	return nil
}

// done settles a reservation: charged says whether Shopify spent the
// points (a THROTTLED answer does not), ts is its throttle status if any.
func (b *bucket) done(cost float64, ts *throttleStatus, charged bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(time.Now())
	b.inflight -= cost
	if !charged {
		b.available += cost
	}
	if ts == nil || ts.MaximumAvailable <= 0 || ts.RestoreRate <= 0 {
		return
	}
	b.max, b.rate = ts.MaximumAvailable, ts.RestoreRate
	b.available = min(b.available, ts.CurrentlyAvailable-b.inflight)
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
	Extensions struct {
		Cost struct {
			RequestedQueryCost float64        `json:"requestedQueryCost"`
			ActualQueryCost    float64        `json:"actualQueryCost"`
			ThrottleStatus     throttleStatus `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

const maxAttempts = 8

// maxBody caps a GraphQL answer (a page of 250 customers is a few hundred
// KiB); a longer one fails with safehttp.ErrBodyTooLarge, not retried.
const maxBody = 64 << 20

// query runs a GraphQL operation with variables into out, pacing by cost
// and retrying THROTTLED, 429, 5xx and network errors.
func (c *Client) query(ctx context.Context, cost float64, q string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return fmt.Errorf("encoding query: %w", err)
	}
	var last error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err := c.bucket.reserve(ctx, cost, c.maxWait); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Access-Token", c.cfg.AccessToken)
		resp, err := c.hc.Do(req)
		if err != nil {
			c.bucket.done(cost, nil, false)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = fmt.Errorf("shopify: request failed: %w", err)
			if err := sleep(ctx, backoff(attempt, 0)); err != nil {
				return err
			}
			continue
		}
		data, rerr := safehttp.ReadResponse(resp, maxBody)
		resp.Body.Close()
		if rerr != nil || resp.StatusCode != http.StatusOK {
			c.bucket.done(cost, nil, false)
		}
		switch {
		case errors.Is(rerr, safehttp.ErrBodyTooLarge):
			return fmt.Errorf("shopify: reading response: %w", rerr) // the host's answer, not a glitch: no retry
		case rerr != nil:
			last = fmt.Errorf("shopify: reading response: %w", rerr)
			continue
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return ErrUnauthorized
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = &HTTPError{Status: resp.StatusCode, Message: "retried"}
			if err := sleep(ctx, backoff(attempt, c.retryAfter(resp.Header))); err != nil {
				return err
			}
			continue
		case resp.StatusCode >= 300:
			return &HTTPError{Status: resp.StatusCode, Body: excerpt(string(data))}
		}
		var gr gqlResponse
		if err := json.Unmarshal(data, &gr); err != nil {
			c.bucket.done(cost, nil, true)
			return fmt.Errorf("shopify: decoding response: %w", err)
		}
		throttled := len(gr.Errors) > 0 && gr.Errors[0].Extensions.Code == "THROTTLED"
		c.bucket.done(cost, &gr.Extensions.Cost.ThrottleStatus, !throttled)
		if len(gr.Errors) > 0 {
			e := gr.Errors[0]
			if throttled {
				last = ErrThrottled // the next reserve waits for the points Shopify reported missing
				continue
			}
			if e.Extensions.Code == "ACCESS_DENIED" || e.Extensions.Code == "UNAUTHORIZED" {
				return ErrUnauthorized
			}
			return &GraphQLError{Message: excerpt(e.Message), Code: e.Extensions.Code}
		}
		if out != nil {
			if err := json.Unmarshal(gr.Data, out); err != nil {
				return fmt.Errorf("shopify: decoding data: %w", err)
			}
		}
		return nil
	}
	return fmt.Errorf("shopify: gave up after %d attempts: %w", maxAttempts, last)
}

// retryAfter is the answer's Retry-After, capped (maxWait).
func (c *Client) retryAfter(h http.Header) time.Duration {
	return safehttp.RetryAfter(h, time.Now(), c.maxWait)
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

func excerpt(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
