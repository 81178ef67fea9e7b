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
//     holds at most 10 requests in flight, shared by its goroutines.
//   - Webhooks are form-encoded (type, fired_at "YYYY-MM-DD HH:MM:SS",
//     data[...]); there is no signature, so the URL carries a secret token
//     we generate; a GET validates the URL when the webhook is created.
//     Classic webhooks carry no SMS status: an "unsubscribe" or "cleaned"
//     is about email and never an SMS opt-out here (SignalNone).
//     https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/
//   - Only the connection's selected tags become groups (design.md §3);
//     none selected means no tag groups.
//   - Write-back: the members API has no SMS fields (and a 2025-08 release
//     note says SMS opt-outs must be updated manually), so WriteBackOptOut
//     returns ErrWriteBackUnsupported.
//   - upemail gives the new unique id and both emails: the member's new id
//     is linked; the old id's link stays until the contact is re-synced.
package mailchimp

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/endpoints"
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
	ErrWriteBackUnsupported = errors.New("mailchimp: the API cannot write SMS opt-outs")
)

// HTTPError is a non-2xx answer that is not retried. Its Error() holds
// the status only: the text reaches API callers (a sync's error), so
// Mailchimp's detail stays in Detail, for logs.
type HTTPError struct {
	Status int
	Detail string // Mailchimp's words: logs only
}

func (e *HTTPError) Error() string { return fmt.Sprintf("mailchimp: HTTP %d", e.Status) }

// Client reads one audience.
type Client struct {
	cfg  Config
	opts source.Options
	base string
	hc   *http.Client
	slot chan struct{} // at most MaxConnections requests in flight
}

// New validates cfg and returns a client.
func New(cfg Config, opts source.Options, hc *http.Client) (*Client, error) {
	// The data centre becomes a host name: only letters then digits (us6).
	dc, ok := endpoints.MailchimpDC(cfg.APIKey)
	if cfg.AudienceID == "" || !ok {
		return nil, fmt.Errorf("%w: an API key ending in -<dc> and an audience id are required", ErrInvalidConfig)
	}
	base := strings.TrimRight(cfg.APIBaseURL, "/")
	if base == "" {
		base = "https://" + dc + ".api.mailchimp.com"
	}
	if hc == nil {
		// Keep every connection Mailchimp allows open between pages: the
		// default transport keeps 2 idle per host, so 8 of the 10 would be
		// re-dialled (a TLS handshake each) for every wave of pages.
		// nil is for tests against local fakes; production clients come
		// hardened from connectors.Registry (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 120 * time.Second, MaxIdleConnsPerHost: MaxConnections})
	}
	if opts.Label == "" {
		opts.Label = source.Mailchimp.DefaultLabel()
	}
	return &Client{cfg: cfg, opts: opts, base: base + "/3.0", hc: hc, slot: make(chan struct{}, MaxConnections)}, nil
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

const fields = "members.unique_email_id,members.id,members.email_address,members.status,members.merge_fields,members.tags,members.last_changed,members.sms_phone_number,members.sms_subscription_status,members.sms_subscription_last_updated,total_items"

func (c *Client) get(ctx context.Context, q url.Values, out any) error {
	u := c.base + "/lists/" + url.PathEscape(c.cfg.AudienceID) + "/members?" + q.Encode()
	var last error
	for attempt := 1; attempt <= 6; attempt++ {
		select {
		case c.slot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			<-c.slot
			return err
		}
		req.SetBasicAuth("contactsync", c.cfg.APIKey)
		resp, err := c.hc.Do(req)
		var body []byte
		if err == nil {
			body, err = readBody(resp)
			resp.Body.Close()
		}
		<-c.slot
		// Let the request that was waiting for this connection go out
		// before decoding (milliseconds of CPU): otherwise it waits in
		// this P's run queue for the scheduler's 10 ms time slice.
		runtime.Gosched()
		switch {
		case errors.Is(err, safehttp.ErrBodyTooLarge):
			return fmt.Errorf("mailchimp: reading members: %w", err)
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = fmt.Errorf("mailchimp: request failed: %w", err)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return ErrUnauthorized
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = &HTTPError{Status: resp.StatusCode, Detail: "retried"}
		case resp.StatusCode >= 300:
			var e struct{ Detail string }
			_ = json.Unmarshal(body, &e) // the status says enough when it does not decode
			return &HTTPError{Status: resp.StatusCode, Detail: e.Detail}
		default:
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("mailchimp: decoding members: %w", err)
			}
			return nil
		}
		d := min(200*time.Millisecond<<attempt, 10*time.Second)
		t := time.NewTimer(d/2 + time.Duration(rand.Int64N(int64(d/2))))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("mailchimp: gave up: %w", last)
}

// maxBody caps a response body (a 1000-member page is about 1 MB); a
// longer one fails with safehttp.ErrBodyTooLarge, not retried.
const maxBody = 64 << 20

// readBody reads a response body in one allocation when its length is
// known (a members page is about 1 MB: growing a buffer by doubling would
// copy it about twice over while the connection is held).
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		b := make([]byte, n)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	return safehttp.ReadResponse(resp, maxBody)
}

type cursor struct {
	Offset int       `json:"o"`
	Since  time.Time `json:"s,omitzero"`
}

func (c cursor) encode() source.Cursor {
	b, _ := json.Marshal(c) // a small struct always encodes
	return source.Cursor("mc1." + base64.RawURLEncoding.EncodeToString(b))
}

func decodeCursor(s source.Cursor) (cursor, error) {
	raw, ok := strings.CutPrefix(string(s), "mc1.")
	b, err := base64.RawURLEncoding.DecodeString(raw)
	var c cursor
	if !ok || err != nil || json.Unmarshal(b, &c) != nil || c.Offset < 0 {
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
	q := url.Values{"count": {"1"}, "offset": {"0"}, "fields": {"total_items"}}
	if !since.IsZero() {
		q.Set("since_last_changed", since.UTC().Format(time.RFC3339))
	}
	var p membersPage
	if err := c.get(ctx, q, &p); err != nil {
		return source.Plan{}, err
	}
	plan := source.Plan{Total: p.TotalItems}
	if !since.IsZero() {
		plan.Total = -1
	}
	for off := 0; off < p.TotalItems; off += PageSize {
		plan.Fanout = append(plan.Fanout, cursor{Offset: off, Since: since}.encode())
	}
	return plan, nil
}

// FetchPage fetches the members page at cur.
func (c *Client) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	cu, err := decodeCursor(cur)
	if err != nil {
		return source.Page{}, err
	}
	q := url.Values{"count": {strconv.Itoa(PageSize)}, "offset": {strconv.Itoa(cu.Offset)}, "fields": {fields}}
	if !cu.Since.IsZero() {
		q.Set("since_last_changed", cu.Since.UTC().Format(time.RFC3339))
	}
	var p membersPage
	if err := c.get(ctx, q, &p); err != nil {
		return source.Page{}, err
	}
	page := source.Page{Records: make([]source.Record, 0, len(p.Members))}
	for _, m := range p.Members {
		page.Records = append(page.Records, m.Record(c.opts))
	}
	return page, nil
}

// WriteBackOptOut cannot be done through Mailchimp's API (see the package doc).
func (c *Client) WriteBackOptOut(context.Context, string, string) error {
	return ErrWriteBackUnsupported
}

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
	if r.Label == "" {
		r.Label = source.Mailchimp.DefaultLabel()
	}
	if r.ExternalID == "" {
		r.ExternalID = m.ID
	}
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
	for k, hub := range opts.FieldMap {
		if v := str(k); v != "" && hub != "" {
			if r.Fields == nil {
				r.Fields = map[string]string{}
			}
			r.Fields[hub] = v
		}
	}
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
