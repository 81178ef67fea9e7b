package klaviyo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// Revision is the API revision the client sends.
const Revision = "2026-07-15"

// PageSize is the largest profiles page.
const PageSize = 100

// Config is a connection's Klaviyo configuration.
type Config struct {
	PrivateAPIKey string
	WebhookSecret string // secret_key of a system webhook (VerifyWebhook)
	APIBaseURL    string // overrides https://a.klaviyo.com
	// Token, when set, gives the OAuth access token for each request
	// (Authorization: Bearer), refreshing it when it has expired
	// (connectors builds it on golang.org/x/oauth2); PrivateAPIKey is then
	// not needed.
	Token func(ctx context.Context) (string, error)
}

// Errors callers branch on.
var (
	ErrUnauthorized  = errors.New("klaviyo: unauthorized (check the private API key and its scopes)")
	ErrInvalidConfig = errors.New("klaviyo: invalid configuration")
	ErrInvalidCursor = errors.New("klaviyo: invalid cursor")
)

// decode reads the first error of a JSON:API error answer: its code and
// detail.
func decode(body []byte) (string, string) {
	var e struct {
		Errors []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return "", ""
	}
	return e.Errors[0].Code, e.Errors[0].Detail
}

// Client reads one Klaviyo account. Goroutines sharing it share its budget.
type Client struct {
	cfg  Config
	opts source.Options
	base string
	// api runs the requests; its MaxWait caps any wait Klaviyo asks for
	// (Retry-After, RateLimit-Reset). Tests lower it.
	api     *httpx.Client
	limiter *rate.Limiter
	// hookSecond and hookMinute pace the Webhooks API (subscriptions.go).
	hookSecond, hookMinute *rate.Limiter
}

// New validates cfg and returns a client paced at get_profiles' steady
// limit (750/min) with its burst (75).
func New(cfg Config, opts source.Options, hc *http.Client) (*Client, error) {
	if cfg.PrivateAPIKey == "" && cfg.Token == nil {
		return nil, fmt.Errorf("%w: a private API key or an OAuth token is required", ErrInvalidConfig)
	}
	base := cmp.Or(strings.TrimRight(cfg.APIBaseURL, "/"), "https://a.klaviyo.com")
	if hc == nil {
		// Tests against local fakes; production clients come hardened
		// from connectors.Registry (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 60 * time.Second})
	}
	opts.Label = cmp.Or(opts.Label, source.Klaviyo.DefaultLabel())
	api := &httpx.Client{HTTP: hc, Platform: "klaviyo", Attempts: 8, MaxBody: maxBody}
	return &Client{cfg: cfg, opts: opts, base: base, api: api, limiter: rate.NewLimiter(rate.Limit(750.0/60*paceMargin), 75),
		hookSecond: rate.NewLimiter(rate.Limit(HookBurstPerSecond*paceMargin), 1),
		hookMinute: rate.NewLimiter(rate.Limit(HookSteadyPerMinute/60.0*paceMargin), HookSteadyPerMinute)}, nil
}

// maxBody caps an answer (a page of 100 profiles is well under 1 MiB); a
// longer one fails with safehttp.ErrBodyTooLarge, not retried.
const maxBody = 32 << 20

// paceMargin keeps the client just under a limit, so timing jitter at a
// window edge does not cost a 429 and a whole Retry-After second.
const paceMargin = 0.97

// SetPace changes the client's pace (the fake's scaled-down limits in
// tests); the client runs at paceMargin of perSecond.
func (c *Client) SetPace(perSecond float64, burst int) {
	c.limiter.SetLimit(rate.Limit(perSecond * paceMargin))
	c.limiter.SetBurst(burst)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, out any) error {
	return c.request(ctx, method, path, q, body, out, false)
}

// request is do; hooks marks a Webhooks API call: paced by hookLimits as
// well, and a 403 is the account's lack of the API
// (source.WebhooksUnavailableError), not a refused key. httpx retries.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body any, out any, hooks bool) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	wait := c.limiter.Wait
	if hooks {
		wait = func(ctx context.Context) error {
			if err := c.limiter.Wait(ctx); err != nil {
				return err
			}
			return c.waitHooks(ctx)
		}
	}
	resp, err := c.api.Do(ctx, httpx.Request{New: c.build(method, path, q, payload), Decode: decode, Wait: wait})
	switch s := httpx.StatusOf(err); {
	case hooks && s == http.StatusForbidden:
		return hooksForbidden(err)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return ErrUnauthorized
	case err != nil:
		return err
	}
	// Stay under the window: with nothing left, wait for its reset.
	if rem, err := strconv.Atoi(resp.Header.Get("RateLimit-Remaining")); err == nil && rem <= 0 {
		if reset, err := strconv.Atoi(resp.Header.Get("RateLimit-Reset")); err == nil {
			_ = httpx.Sleep(ctx, safehttp.CapWait(time.Duration(min(max(reset, 0), 1<<20))*time.Second, c.api.MaxWait))
		}
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("klaviyo: decoding %s: %w", path, err)
		}
	}
	return nil
}

// build is a Request.New for path with q, authorised (authorize) and of
// the client's revision.
func (c *Client) build(method, path string, q url.Values, payload []byte) func(context.Context) (*http.Request, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	plain := httpx.Build(method, u, payload, "application/vnd.api+json", func(req *http.Request) {
		req.Header.Set("revision", Revision)
		req.Header.Set("Accept", "application/vnd.api+json")
	})
	return func(ctx context.Context) (*http.Request, error) {
		req, err := plain(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.authorize(ctx, req); err != nil {
			return nil, &tokenError{err}
		}
		return req, nil
	}
}

// tokenError is an OAuth access token that could not be refreshed.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// authorize sets the request's credentials: an OAuth install's access
// token (Bearer, refreshed by cfg.Token when it has expired), else the
// private key.
func (c *Client) authorize(ctx context.Context, req *http.Request) error {
	if c.cfg.Token != nil {
		tok, err := c.cfg.Token(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
	req.Header.Set("Authorization", "Klaviyo-API-Key "+c.cfg.PrivateAPIKey)
	return nil
}

// cursor is a page position: a page of the profiles listing (Kind ""),
// or of the members of one list or segment (Kind "list" / "segment", ID,
// and Name, the group name its records carry, fixed when the run was
// planned so a retried page maps exactly as the first try did).
//
// Scoped marks a page of a connection scoped by selected lists or
// segments: a member page's records keep the profile's updated time (they
// are the profile's only records), and a profiles page (Kind "") is read
// ids-only and yields out-of-scope records (see doc.go, "Scope").
type cursor struct {
	Page   string    `json:"p,omitempty"` // Klaviyo's page[cursor]
	Since  time.Time `json:"s,omitzero"`
	Kind   string    `json:"k,omitempty"`
	ID     string    `json:"i,omitempty"`
	Name   string    `json:"n,omitempty"`
	Scoped bool      `json:"x,omitempty"`
}

func (c cursor) encode() source.Cursor { return source.NewCursor("kl1.", c) }

func decodeCursor(s source.Cursor) (cursor, error) {
	var c cursor
	if !s.Decode("kl1.", &c) {
		return cursor{}, ErrInvalidCursor
	}
	switch c.Kind {
	case "":
	case kindList, kindSegment:
		if c.ID == "" || c.Name == "" {
			return cursor{}, ErrInvalidCursor
		}
	default:
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// PlanBulk plans a full listing: the chain of profile pages, and one chain
// of member pages per selected list and segment (see groups.go). Finding
// the lists and segments costs a few requests now.
func (c *Client) PlanBulk(ctx context.Context) (source.Plan, error) {
	return c.plan(ctx, time.Time{})
}

// PlanIncremental plans the profiles updated after since and the
// memberships that started after since (joined_group_at).
func (c *Client) PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error) {
	return c.plan(ctx, since)
}

func (c *Client) plan(ctx context.Context, since time.Time) (source.Plan, error) {
	groups, err := c.selectedGroups(ctx)
	if err != nil {
		return source.Plan{}, err
	}
	scoped := len(c.opts.SelectedTags) > 0
	plan := source.Plan{Fanout: make([]source.Cursor, 0, 1+len(groups)), Chained: true, Total: -1}
	if !scoped {
		plan.Fanout = append(plan.Fanout, cursor{Since: since}.encode())
	}
	for _, g := range groups {
		cu := cursor{Since: since, Kind: g.Kind, ID: g.ID, Name: g.Name, Scoped: scoped}
		if scoped {
			// Scoped, the members are the records: an incremental run
			// reads them whole too (a profile's changes reach the hub
			// only through its member records).
			cu.Since = time.Time{}
		}
		plan.Fanout = append(plan.Fanout, cu.encode())
		if since.IsZero() && !slices.Contains(plan.CompleteGroups, g.Name) {
			// A full run lists every member: who is not listed left.
			plan.CompleteGroups = append(plan.CompleteGroups, g.Name)
		}
	}
	if scoped && since.IsZero() {
		// The profiles, ids only: the pipeline counts and removes those
		// that no member page listed (out of scope).
		plan.Fanout = append(plan.Fanout, cursor{Scoped: true}.encode())
	}
	return plan, nil
}

// FetchPage fetches the page at cur: profiles, or the members of a list or
// segment (membership records, see groups.go).
func (c *Client) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	cu, err := decodeCursor(cur)
	if err != nil {
		return source.Page{}, err
	}
	q := url.Values{"page[size]": {strconv.Itoa(PageSize)}, "additional-fields[profile]": {"subscriptions"}}
	if cu.Kind == "" && cu.Scoped {
		q = url.Values{"page[size]": {strconv.Itoa(PageSize)}, "fields[profile]": {"id"}}
	}
	if cu.Page != "" {
		q.Set("page[cursor]", cu.Page)
	}
	path := "/api/profiles"
	if cu.Kind != "" {
		path = "/api/" + cu.Kind + "s/" + url.PathEscape(cu.ID) + "/profiles"
	}
	if !cu.Since.IsZero() {
		field := "updated"
		if cu.Kind != "" {
			field = "joined_group_at"
		}
		q.Set("filter", fmt.Sprintf("greater-than(%s,%s)", field, cu.Since.UTC().Format(time.RFC3339)))
	}
	var out struct {
		Data  []Profile `json:"data"`
		Links struct {
			Next string `json:"next"`
		} `json:"links"`
	}
	if err := c.do(ctx, http.MethodGet, path, q, nil, &out); err != nil {
		if cu.Kind != "" && httpx.StatusOf(err) == http.StatusNotFound {
			// The list or segment was deleted after planning: no (more)
			// members, and its listing is not complete (nobody is
			// removed from its group for not being listed).
			return source.Page{Incomplete: []string{cu.Name}}, nil
		}
		return source.Page{}, err
	}
	page := source.Page{Records: make([]source.Record, 0, len(out.Data))}
	for _, p := range out.Data {
		switch {
		case cu.Kind == "" && cu.Scoped:
			page.Records = append(page.Records, p.outOfScope(c.opts))
		case cu.Kind == "":
			page.Records = append(page.Records, p.Record(c.opts))
		case cu.Scoped:
			page.Records = append(page.Records, p.ScopedMembershipRecord(c.opts, cu.Name))
		default:
			page.Records = append(page.Records, p.MembershipRecord(c.opts, cu.Name))
		}
	}
	if out.Links.Next != "" {
		next, err := nextCursor(out.Links.Next)
		if err != nil {
			return source.Page{}, err
		}
		cu.Page = next
		page.Next = cu.encode()
	}
	return page, nil
}

// listing reads the JSON:API listing at path (q is changed), following
// links.next for at most maxPages pages (hooks: a Webhooks API call, see
// request); each takes a page's data and says whether to read on. It
// reports whether a next page was left unread.
func listing[T any](ctx context.Context, c *Client, path string, q url.Values, hooks bool, maxPages int, each func(data []T) bool) (bool, error) {
	for pages := 1; ; pages++ {
		var page struct {
			Data  []T `json:"data"`
			Links struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		if err := c.request(ctx, http.MethodGet, path, q, nil, &page, hooks); err != nil {
			return false, err
		}
		more := each(page.Data)
		if page.Links.Next == "" || !more || pages >= maxPages {
			return page.Links.Next != "", nil
		}
		next, err := nextCursor(page.Links.Next)
		if err != nil {
			return false, err
		}
		q.Set("page[cursor]", next)
	}
}

// nextCursor is the page[cursor] of a links.next URL.
func nextCursor(link string) (string, error) {
	next, err := url.Parse(link)
	if err != nil || next.Query().Get("page[cursor]") == "" {
		return "", errors.New("klaviyo: unusable links.next (no page[cursor])")
	}
	return next.Query().Get("page[cursor]"), nil
}

// WriteBackOptOut unsubscribes the number from SMS marketing.
func (c *Client) WriteBackOptOut(ctx context.Context, _ string, e164 string) error {
	body := map[string]any{"data": map[string]any{"type": "profile-subscription-bulk-delete-job", "attributes": map[string]any{
		"profiles": map[string]any{"data": []any{map[string]any{"type": "profile", "attributes": map[string]any{
			"phone_number": e164, "subscriptions": map[string]any{"sms": map[string]any{"marketing": map[string]any{"consent": "UNSUBSCRIBED"}}},
		}}}},
	}}}
	return c.do(ctx, http.MethodPost, "/api/profile-subscription-bulk-delete-jobs", nil, body, nil)
}
