package shopify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
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
	// api runs the requests; its MaxWait caps any wait the shop asks for
	// (Retry-After, the cost bucket's refill). Tests lower it.
	api    *httpx.Client
	bucket bucket
	// rangeSlack overrides defaultRangeSlack (tests of long lines).
	rangeSlack int64
	// limits override the caps of a range page (tests).
	limits rangeLimits
	// segNames caches the shop's segment names for KeepGroups.
	segNames segmentNameCache
}

// New validates cfg and returns a client.
func New(cfg Config, opts source.Options, hc *http.Client) (*Client, error) {
	if cfg.AccessToken == "" || (cfg.ShopDomain == "" && cfg.APIBaseURL == "") {
		return nil, fmt.Errorf("%w: shop domain and access token are required", ErrInvalidConfig)
	}
	base := cmp.Or(strings.TrimRight(cfg.APIBaseURL, "/"), "https://"+cfg.ShopDomain)
	cfg.APIVersion = cmp.Or(cfg.APIVersion, DefaultAPIVersion)
	cfg.BulkLinesPerRange = positiveOr(cfg.BulkLinesPerRange, DefaultBulkLinesPerRange)
	cfg.MaxSegments = positiveOr(cfg.MaxSegments, DefaultMaxSegments)
	cfg.MaxSegmentMembers = positiveOr(cfg.MaxSegmentMembers, DefaultMaxSegmentMembers)
	cfg.MaxGuestOrders = positiveOr(cfg.MaxGuestOrders, DefaultMaxGuestOrders)
	if hc == nil {
		// Tests against local fakes; production clients come hardened
		// from connectors.Registry (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 60 * time.Second})
	}
	opts.Label = cmp.Or(opts.Label, source.Shopify.DefaultLabel())
	api := &httpx.Client{HTTP: hc, Platform: "shopify", Attempts: maxAttempts, MaxBody: maxBody}
	return &Client{cfg: cfg, opts: opts, endpoint: base + "/admin/api/" + cfg.APIVersion + "/graphql.json", api: api,
		bucket: bucket{max: 2000, available: 2000, rate: 100, at: time.Now()}}, nil
}

// positiveOr is v, or def when v is not positive (a Config default).
func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
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
	if err := httpx.Sleep(ctx, wait); err != nil {
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

// query runs a GraphQL operation with variables into out, pacing by cost;
// httpx retries 429, 5xx and network errors, and query repeats THROTTLED
// answers (the next reservation waits for the points Shopify reported
// missing).
func (c *Client) query(ctx context.Context, cost float64, q string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return fmt.Errorf("encoding query: %w", err)
	}
	for range maxAttempts {
		resp, err := c.api.Do(ctx, c.request(body, cost))
		if s := httpx.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
			return ErrUnauthorized
		} else if err != nil {
			return err
		}
		var gr gqlResponse
		if err := json.Unmarshal(resp.Body, &gr); err != nil {
			c.bucket.done(cost, nil, true)
			return fmt.Errorf("shopify: decoding response: %w", err)
		}
		throttled := len(gr.Errors) > 0 && gr.Errors[0].Extensions.Code == "THROTTLED"
		c.bucket.done(cost, &gr.Extensions.Cost.ThrottleStatus, !throttled)
		if len(gr.Errors) > 0 {
			e := gr.Errors[0]
			if throttled {
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
	return fmt.Errorf("shopify: gave up after %d attempts: %w", maxAttempts, ErrThrottled)
}

// request is a GraphQL POST with the access token; cost > 0 reserves that
// many points of the bucket before each attempt and gives them back when
// no answer is read (a check spends none).
func (c *Client) request(body []byte, cost float64) httpx.Request {
	r := httpx.Request{Decode: decodeErrors, New: httpx.Build(http.MethodPost, c.endpoint, body, "application/json", func(r *http.Request) {
		r.Header.Set("X-Shopify-Access-Token", c.cfg.AccessToken)
	})}
	if cost > 0 {
		r.Wait = func(ctx context.Context) error { return c.bucket.reserve(ctx, cost, c.api.MaxWait) }
		r.Unspent = func(int) { c.bucket.done(cost, nil, false) }
	}
	return r
}

// decodeErrors reads Shopify's "errors": a string (REST-style answers to
// a bad token) or GraphQL's [{message, extensions{code}}].
func decodeErrors(body []byte) (code, msg string) {
	var b struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &b) != nil || json.Unmarshal(b.Errors, &msg) == nil {
		return "", msg
	}
	var list []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	}
	if json.Unmarshal(b.Errors, &list) != nil || len(list) == 0 {
		return "", ""
	}
	return list[0].Extensions.Code, list[0].Message
}

func excerpt(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
