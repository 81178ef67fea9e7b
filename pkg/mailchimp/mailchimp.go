// Package mailchimp is the Mailchimp connector: members of one audience
// through the Marketing API 3.0 (fanned-out offset pages, incremental by
// since_last_changed), form-encoded list webhooks authenticated by a secret
// token in the URL, and the mapping to source records. Its fake,
// mailchimptest, serves the same API.
//
// Facts relied on (../../../shared/platforms.md §3):
//   - Base https://<dc>.api.mailchimp.com/3.0 where dc is the API key's
//     suffix ("...-us6"); HTTP Basic with any user and the key.
//     https://mailchimp.com/developer/marketing/docs/fundamentals/
//   - GET /lists/{id}/members?count=1000&offset=N (count max 1000),
//     fields= projection, since_last_changed=ISO 8601; total_items tells the
//     size. https://mailchimp.com/developer/marketing/api/list-members/
//   - Members: unique_email_id (the id classic webhooks send as data[id]),
//     email_address, status, merge_fields (FNAME, LNAME, PHONE, ...), tags
//     (at most 50 returned), last_changed, sms_phone_number,
//     sms_subscription_status (subscribed / unsubscribed / nonsubscribed /
//     pending), sms_subscription_last_updated.
//   - Limit: 10 simultaneous connections per user, 429 beyond; the client
//     holds at most 10 requests in flight, shared by its goroutines (its
//     transport), and pkg/httpx retries a 429, a 5xx or a dropped
//     connection after Retry-After (capped) or a jittered backoff. A
//     failure is an *httpx.Error whose Reason (logs only) is Mailchimp's
//     problem document.
//   - Webhooks are form-encoded (type, fired_at "YYYY-MM-DD HH:MM:SS",
//     data[...]); there is no signature, so the URL carries a secret token
//     we generate; a GET validates the URL when the webhook is created.
//     Classic webhooks carry no SMS status: an "unsubscribe" or "cleaned"
//     is about email and never an SMS opt-out here (SignalNone).
//     https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/
//   - Selected tags scope the connection (design.md §3, "only the tags you
//     select will be synced"): tags are static segments, GET
//     /lists/{id}/segments?type=static (count, offset, total_items), and a
//     full sync lists only their members, GET
//     /lists/{id}/segments/{segment_id}/members (count max 1000, offset,
//     fields, total_items; include_cleaned, include_transactional and
//     include_unsubscribed default to false, so they are set: an email
//     status says nothing about SMS). The same fields projection is asked
//     for as on /members (*that segment members carry tags and the SMS
//     fields is not in the 3.0.55 schema; unconfirmed*).
//     https://mailchimp.com/developer/marketing/api/list-segment-members/
//     A member in several selected tags is read once: a tag's page skips
//     the members that carry a selected tag listed before it. To count
//     what is left out and to see members that left every selected tag,
//     the full sync also reads the audience's ids and tags alone (fields
//     members.unique_email_id,members.id,members.tags): a member with no
//     selected tag is an out-of-scope record (source.Record.OutOfScope),
//     which takes the Mailchimp source from a contact it was linked to. A
//     member returns at most 50 tags: one with 50 and no selected tag
//     among them may be in one, so it is left alone. An incremental sync
//     reads the changed members whole and sorts them the same way. Only
//     selected tags become groups; none selected means the whole audience
//     and no tag groups.
//   - Write-back: the members API has no SMS fields (and a 2025-08 release
//     note says SMS opt-outs must be updated manually), so WriteBackOptOut
//     returns ErrWriteBackUnsupported (source.ErrWriteBackUnsupported), and
//     CanWriteBack says so without a request: a sync counts it once.
//   - upemail gives the new unique id and both emails: the member's new id
//     is linked; the old id's link stays until the contact is re-synced.
//
// Setup calls (check.go, options.go): the credential check reads the
// chosen audience once (GET /lists/{id}?fields=id,name, no retry), which
// checks the key and the audience together (401/403 and 404 are
// rejections with Mailchimp's title and detail); the install options are
// the account's audiences (GET /lists) and the audience's tags (static
// segments) and saved segments (GET /lists/{id}/segments?type=...), each
// with Mailchimp's member count, one request of up to source.MaxOptions
// items each. Merge fields are the connector's fields (source.FieldLister).
// An OAuth draft has no audience yet: its client lists only the
// account's audiences, and refuses every call under /lists/{id}.
//
// List webhook (subscriptions.go, source.Subscriber for pkg/hooks): one
// webhook on the audience, topic WebhookTopic ("list"), POST
// /lists/{id}/webhooks {url, events, sources} at the connection's URL
// plus ?token=<WebhookToken> (exactly the URL pkg/connectors verifies,
// as ConnectionOut.WebhookURL shows it). Events: subscribe, unsubscribe,
// profile, upemail (cleaned and campaign carry nothing for SMS contacts).
// Sources: user, admin and api — the connector writes nothing to
// Mailchimp, so none of our calls can echo back, and other integrations
// change members through the API. The listing (GET, not paged) reports
// each webhook's URL without the token, active only when token, events
// and sources are ours; Reactivate PATCHes ours onto one that is not
// (GET /lists/{id}/webhooks/{webhook_id} first, for its URL), and
// Unsubscribe DELETEs (404 is done). Mailchimp GETs a new URL and refuses
// the webhook unless it answers 200; the refusal's reason (its field
// errors, else title and detail, without our secrets) is the
// connection's `failing` reason. Writes are made once, not retried.
//
// Field mapping (fields.go): Fields lists the audience's merge fields (GET
// /lists/{id}/merge-fields: tag, name, type; number, date, birthday, phone
// and address keep their type, the others are text); member records and
// webhooks carry the mapped merge fields' values by tag, as text.
package mailchimp

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// Config is a connection's Mailchimp configuration.
type Config struct {
	APIKey     string // ends with -<dc>
	AudienceID string
	APIBaseURL string // overrides https://<dc>.api.mailchimp.com
	// WebhookToken is the secret our webhook URL carries.
	WebhookToken string
	// AccessToken and DC are an OAuth install's token (sent as Bearer;
	// Mailchimp's tokens do not expire) and data centre, in place of
	// APIKey.
	AccessToken, DC string
}

// PageSize is the largest member page.
const PageSize = 1000

// MaxConnections is Mailchimp's simultaneous-connection limit.
const MaxConnections = 10

// Errors callers branch on.
var (
	ErrUnauthorized         = errors.New("mailchimp: unauthorized (check the API key)")
	ErrInvalidConfig        = errors.New("mailchimp: invalid configuration")
	ErrInvalidCursor        = errors.New("mailchimp: invalid cursor")
	ErrInvalidToken         = errors.New("mailchimp: invalid webhook token")
	ErrMalformed            = errors.New("mailchimp: malformed webhook")
	ErrUnsupportedTopic     = errors.New("mailchimp: unsupported webhook type")
	ErrWriteBackUnsupported = fmt.Errorf("mailchimp: the API cannot write SMS opt-outs: %w", source.ErrWriteBackUnsupported)
)

// errNoAudience is a call about the audience before one is chosen.
var errNoAudience = fmt.Errorf("%w: no audience chosen (audienceId)", ErrInvalidConfig)

// Client reads one audience.
type Client struct {
	cfg  Config
	opts source.Options
	base string
	api  *httpx.Client // its HTTP holds at most MaxConnections requests in flight
}

// New validates cfg and returns a client.
func New(cfg Config, opts source.Options, hc *http.Client) (*Client, error) {
	// The data centre becomes a host name: only letters then digits (us6).
	dc, ok := endpoints.MailchimpDC(cfg.APIKey)
	if cfg.AccessToken != "" {
		dc, ok = endpoints.MailchimpDC("oauth-" + cfg.DC)
	}
	// An OAuth draft has no audience yet: its client lists the account's
	// audiences (InstallOptions) and refuses every audience call.
	if !ok || (cfg.AudienceID == "" && cfg.AccessToken == "") {
		return nil, fmt.Errorf("%w: an API key ending in -<dc> and an audience id are required", ErrInvalidConfig)
	}
	base := cmp.Or(strings.TrimRight(cfg.APIBaseURL, "/"), "https://"+dc+".api.mailchimp.com")
	if hc == nil {
		// Keep every connection Mailchimp allows open between pages: the
		// default transport keeps 2 idle per host, so 8 of the 10 would be
		// re-dialled (a TLS handshake each) for every wave of pages.
		// nil is for tests against local fakes; production clients come
		// hardened from connectors.Registry (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 120 * time.Second, MaxIdleConnsPerHost: MaxConnections})
	}
	opts.Label = cmp.Or(opts.Label, source.Mailchimp.DefaultLabel())
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	capped := *hc
	capped.Transport = &connCap{rt: rt, slot: make(chan struct{}, MaxConnections)}
	api := &httpx.Client{HTTP: &capped, Platform: "mailchimp", Attempts: 6, MaxBody: maxBody, BaseDelay: 200 * time.Millisecond}
	return &Client{cfg: cfg, opts: opts, base: base + "/3.0", api: api}, nil
}

// connCap holds a client's requests to MaxConnections in flight (shared
// by its goroutines), each from its start until its answer is closed:
// Mailchimp answers 429 beyond.
type connCap struct {
	rt   http.RoundTripper
	slot chan struct{}
}

func (t *connCap) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case t.slot <- struct{}{}:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, req.Context().Err()
	}
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		<-t.slot
		return nil, err
	}
	resp.Body = &slotBody{ReadCloser: resp.Body, slot: t.slot}
	return resp, nil
}

// slotBody gives its request's slot back when closed.
type slotBody struct {
	io.ReadCloser
	once sync.Once
	slot chan struct{}
}

func (b *slotBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		<-b.slot
		// Let the request that was waiting for this connection go out
		// before the answer is decoded (milliseconds of CPU): otherwise
		// it waits in this P's run queue for the scheduler's time slice.
		runtime.Gosched()
	})
	return err
}

// auth sets the request's credentials: the OAuth token, else the API key.
func (c *Client) auth(req *http.Request) {
	if c.cfg.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.AccessToken)
		return
	}
	req.SetBasicAuth("contactsync", c.cfg.APIKey)
}

// Member is a list member.
type Member struct {
	UniqueEmailID string `json:"unique_email_id"`
	ID            string `json:"id"`
	EmailAddress  string `json:"email_address"`
	Status        string `json:"status"`
	// MergeFields are kept raw and decoded only where read: a page holds
	// 1000 members, and decoding every merge field into interfaces was
	// most of the client's CPU on a page.
	MergeFields    map[string]json.RawMessage `json:"merge_fields"`
	Tags           []struct{ Name string }    `json:"tags"`
	LastChanged    string                     `json:"last_changed"`
	SMSPhoneNumber string                     `json:"sms_phone_number"`
	SMSStatus      string                     `json:"sms_subscription_status"`
	SMSLastUpdated string                     `json:"sms_subscription_last_updated"`
}

type membersPage struct {
	Members    []Member `json:"members"`
	TotalItems int      `json:"total_items"`
}

// scopeFields is the projection of a scope page: ids and tags only.
const scopeFields = "members.unique_email_id,members.id,members.tags,total_items"

// MaxMemberTags is the most tags Mailchimp returns with a member.
const MaxMemberTags = 50

const fields = "members.unique_email_id,members.id,members.email_address,members.status,members.merge_fields,members.tags,members.last_changed,members.sms_phone_number,members.sms_subscription_status,members.sms_subscription_last_updated,total_items"

func (c *Client) get(ctx context.Context, q url.Values, out any) error {
	return c.getPath(ctx, "/members", q, out)
}

// getPath GETs path under the audience (/lists/{id}) into out.
func (c *Client) getPath(ctx context.Context, path string, q url.Values, out any) error {
	if c.cfg.AudienceID == "" {
		return errNoAudience
	}
	return c.getURL(ctx, c.base+"/lists/"+url.PathEscape(c.cfg.AudienceID)+path+"?"+q.Encode(), path, out)
}

// getURL GETs u into out, retrying 429, 5xx and network errors
// (httpx); path names it in errors.
func (c *Client) getURL(ctx context.Context, u, path string, out any) error {
	resp, err := c.api.Do(ctx, httpx.Request{New: httpx.Build(http.MethodGet, u, nil, "", c.auth), Decode: decode})
	if err != nil {
		return known(err)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("mailchimp: decoding %s: %w", strings.TrimPrefix(path, "/"), err)
	}
	return nil
}

// known is ErrUnauthorized for a 401/403, err otherwise.
func known(err error) error {
	if s := httpx.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
		return ErrUnauthorized
	}
	return err
}

// decode reads Mailchimp's error document (problem.String) as the
// error's Reason.
func decode(body []byte) (string, string) {
	var p problem
	_ = json.Unmarshal(body, &p) // an answer that is not Mailchimp's still has a status
	return "", p.String()
}

// maxBody caps a response body (a 1000-member page is about 1 MB); a
// longer one fails with safehttp.ErrBodyTooLarge, not retried.
const maxBody = 64 << 20

type cursor struct {
	Offset int       `json:"o"`
	Since  time.Time `json:"s,omitzero"`
	// Segment and Tag name a page of one selected tag's members (its
	// static segment's id and the tag's name).
	Segment string `json:"g,omitempty"`
	Tag     string `json:"t,omitempty"`
	// Scope marks a page of the audience read only for the members out of
	// the selected tags (ids and tags); with Since, an incremental page
	// read whole and sorted into in and out of scope.
	Scope bool `json:"x,omitempty"`
}

func (c cursor) encode() source.Cursor { return source.NewCursor("mc1.", c) }

func decodeCursor(s source.Cursor) (cursor, error) {
	var c cursor
	if !s.Decode("mc1.", &c) || c.Offset < 0 {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// PlanBulk probes total_items and fans out every offset page.
func (c *Client) PlanBulk(ctx context.Context) (source.Plan, error) { return c.plan(ctx, time.Time{}) }

// PlanIncremental plans the members changed after since.
func (c *Client) PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error) {
	return c.plan(ctx, since)
}

func (c *Client) plan(ctx context.Context, since time.Time) (source.Plan, error) {
	scoped := len(c.opts.SelectedTags) > 0
	var plan source.Plan
	if scoped && since.IsZero() {
		// One chain per selected tag (its first page; each page names the
		// next while total_items says there are more), and the audience's
		// ids-and-tags pages fanned out, each a chain of one page.
		segs, err := c.selectedSegments(ctx)
		if err != nil {
			return source.Plan{}, err
		}
		for _, g := range segs {
			plan.Fanout = append(plan.Fanout, cursor{Segment: g.id, Tag: g.name}.encode())
		}
	}
	plan.Chained = scoped && since.IsZero()
	q := url.Values{"count": {"1"}, "offset": {"0"}, "fields": {"total_items"}}
	if !since.IsZero() {
		q.Set("since_last_changed", since.UTC().Format(time.RFC3339))
	}
	var p membersPage
	if err := c.get(ctx, q, &p); err != nil {
		return source.Plan{}, err
	}
	plan.Total = p.TotalItems
	if !since.IsZero() || scoped {
		// Scoped: a member in several tags is read once, and one with 50
		// tags none of which is selected is not read at all, so the
		// audience's size bounds nothing.
		plan.Total = -1
	}
	for off := 0; off < p.TotalItems; off += PageSize {
		plan.Fanout = append(plan.Fanout, cursor{Offset: off, Since: since, Scope: scoped}.encode())
	}
	return plan, nil
}

type namedSegment struct{ id, name string }

// selectedSegments returns the static segments of the selected tags, in
// the order the tags were selected (a selected tag the audience does not
// have is left out: it has no members).
func (c *Client) selectedSegments(ctx context.Context) ([]namedSegment, error) {
	byName := map[string]string{}
	for off := 0; ; off += PageSize {
		q := url.Values{"type": {"static"}, "count": {strconv.Itoa(PageSize)}, "offset": {strconv.Itoa(off)},
			"fields": {"segments.id,segments.name,total_items"}}
		var p struct {
			Segments []struct {
				ID   json.Number `json:"id"`
				Name string      `json:"name"`
			} `json:"segments"`
			TotalItems int `json:"total_items"`
		}
		if err := c.getPath(ctx, "/segments", q, &p); err != nil {
			return nil, err
		}
		for _, g := range p.Segments {
			if _, dup := byName[g.Name]; !dup && g.ID != "" {
				byName[g.Name] = g.ID.String()
			}
		}
		if len(p.Segments) == 0 || off+PageSize >= p.TotalItems {
			break
		}
	}
	var out []namedSegment
	seen := map[string]bool{}
	for _, t := range c.opts.SelectedTags {
		if id, ok := byName[t]; ok && !seen[t] {
			seen[t] = true
			out = append(out, namedSegment{id: id, name: t})
		}
	}
	return out, nil
}

// segmentQuery asks a segment's members of every email status: the email
// status says nothing about SMS.
func segmentQuery() url.Values {
	return url.Values{"include_cleaned": {"true"}, "include_transactional": {"true"}, "include_unsubscribed": {"true"}}
}

// FetchPage fetches the members page at cur.
func (c *Client) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	cu, err := decodeCursor(cur)
	if err != nil {
		return source.Page{}, err
	}
	q := url.Values{"count": {strconv.Itoa(PageSize)}, "offset": {strconv.Itoa(cu.Offset)}, "fields": {fields}}
	path := "/members"
	switch {
	case cu.Segment != "":
		path = "/segments/" + url.PathEscape(cu.Segment) + "/members"
		maps.Copy(q, segmentQuery())
	case cu.Scope && cu.Since.IsZero():
		q.Set("fields", scopeFields)
	}
	if !cu.Since.IsZero() {
		q.Set("since_last_changed", cu.Since.UTC().Format(time.RFC3339))
	}
	var p membersPage
	if err := c.getPath(ctx, path, q, &p); err != nil {
		if cu.Segment != "" && httpx.StatusOf(err) == http.StatusNotFound {
			// The tag was deleted since the plan: it has no members now
			// (its former members are out of scope on the audience pages).
			return source.Page{}, nil
		}
		return source.Page{}, err
	}
	// A selected tag's rank: a tag's page leaves out the members that
	// carry a tag selected before it (that tag's page has them).
	rank := map[string]int{}
	for i, t := range c.opts.SelectedTags {
		if _, ok := rank[t]; !ok {
			rank[t] = i
		}
	}
	page := source.Page{Records: make([]source.Record, 0, len(p.Members))}
	if cu.Segment != "" && len(p.Members) > 0 && cu.Offset+len(p.Members) < p.TotalItems {
		next := cu
		next.Offset += len(p.Members)
		page.Next = next.encode()
	}
	for _, m := range p.Members {
		switch {
		case cu.Segment != "":
			if first, ok := m.firstSelected(rank); ok && first != cu.Tag && rank[first] < rank[cu.Tag] {
				continue // read on that tag's page
			}
			page.Records = append(page.Records, m.Record(c.opts))
		case !cu.Scope:
			page.Records = append(page.Records, m.Record(c.opts))
		default:
			_, in := m.firstSelected(rank)
			switch {
			case in && !cu.Since.IsZero():
				page.Records = append(page.Records, m.Record(c.opts)) // changed, in scope
			case in || len(m.Tags) >= MaxMemberTags:
				// In scope (its tag's page reads it), or perhaps in a tag
				// Mailchimp did not return: left alone.
			default:
				page.Records = append(page.Records, m.outOfScope(c.opts))
			}
		}
	}
	return page, nil
}

// firstSelected returns the member's selected tag of lowest rank.
func (m *Member) firstSelected(rank map[string]int) (string, bool) {
	first, found := "", false
	for _, t := range m.Tags {
		if r, ok := rank[t.Name]; ok && (!found || r < rank[first]) {
			first, found = t.Name, true
		}
	}
	return first, found
}

// outOfScope is the record of a member in none of the selected tags: it
// takes this source from a contact it was linked to, and is reported
// out_of_scope.
func (m Member) outOfScope(opts source.Options) source.Record {
	r := source.Record{Platform: source.Mailchimp, Label: opts.Label, ConnectionID: opts.ConnectionID,
		ExternalID: m.UniqueEmailID, Deleted: true, OutOfScope: true}
	r.Label = cmp.Or(r.Label, source.Mailchimp.DefaultLabel())
	r.ExternalID = cmp.Or(r.ExternalID, m.ID)
	return r
}

// WriteBackOptOut cannot be done through Mailchimp's API (see the package doc).
func (c *Client) WriteBackOptOut(context.Context, string, string) error {
	return ErrWriteBackUnsupported
}

// CanWriteBack says, without a request, that no opt-out can be written
// back (source.WriteBackChecker): a sync counts it once, not per member.
func (c *Client) CanWriteBack() error { return ErrWriteBackUnsupported }

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Record maps a member.
func (m Member) Record(opts source.Options) source.Record {
	r := source.Record{Platform: source.Mailchimp, Label: opts.Label, ConnectionID: opts.ConnectionID,
		ExternalID: m.UniqueEmailID, UpdatedAt: parseTime(m.LastChanged), HasGroups: true}
	r.Label = cmp.Or(r.Label, source.Mailchimp.DefaultLabel())
	r.ExternalID = cmp.Or(r.ExternalID, m.ID)
	if e := strings.TrimSpace(m.EmailAddress); e != "" {
		r.Emails = []string{e}
	}
	str := func(k string) string {
		var v string
		if raw, ok := m.MergeFields[k]; ok && json.Unmarshal(raw, &v) == nil {
			return strings.TrimSpace(v) // a number or an address is not a string field
		}
		return ""
	}
	r.FirstName, r.LastName = str("FNAME"), str("LNAME")
	var addr struct {
		Country string `json:"country"`
	}
	if raw, ok := m.MergeFields["ADDRESS"]; ok && json.Unmarshal(raw, &addr) == nil && len(addr.Country) == 2 {
		r.Country = strings.ToUpper(addr.Country)
	}
	// SMS numbers are described as US numbers; they normally come in E.164.
	// A national format is read in the address country, then the
	// connection's default region.
	if m.SMSPhoneNumber != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: m.SMSPhoneNumber, Country: r.Country, Field: "sms_phone_number"})
	}
	if p := str("PHONE"); p != "" {
		r.Phones = append(r.Phones, source.PhoneField{Raw: p, Country: r.Country, Field: "merge:PHONE"})
	}
	r.Consent = source.ConsentSignal{State: source.SignalNeverAsked, At: parseTime(m.SMSLastUpdated), Method: "sms_subscription_status"}
	switch m.SMSStatus {
	case "subscribed":
		r.Consent.State = source.SignalSubscribed
	case "unsubscribed":
		r.Consent.State = source.SignalUnsubscribed
	}
	selected := map[string]bool{}
	for _, t := range opts.SelectedTags {
		selected[t] = true
	}
	for _, t := range m.Tags {
		if selected[t.Name] {
			r.Groups = append(r.Groups, t.Name)
		}
	}
	r.Fields = m.mappedFields(opts.FieldMap)
	return r
}

// VerifyWebhook compares the token in the webhook URL with the one we
// generated, in constant time.
func VerifyWebhook(expected, got string) error {
	if expected == "" || subtle.ConstantTimeCompare([]byte(expected), []byte(got)) != 1 {
		return ErrInvalidToken
	}
	return nil
}
