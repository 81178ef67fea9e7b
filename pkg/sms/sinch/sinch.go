// Package sinch verifies and parses Sinch SMS inbound (MO) callbacks and
// sends SMS through the Sinch SMS REST API; spec.go, its sms.Spec, checks
// credentials (a one-batch read) and names the manual inbound set-up (no
// API sets a service plan's callback URL). Its fake, sinchtest, serves the batches
// endpoint and posts signed inbound messages.
//
// Facts relied on (../../../../shared/platforms.md §7):
//   - MO callback: JSON {type: mo_text | mo_binary | mo_media, id, from, to,
//     body, received_at, ...}; MSISDNs come without '+'. Only mo_text is a
//     reply we act on; other types are acknowledged and ignored.
//     https://developers.sinch.com/docs/sms/api-reference/sms/tag/Inbounds
//   - HMAC callbacks (2025-02+): x-sinch-webhook-signature =
//     base64(HMAC-SHA256(secret, body + "." + nonce + "." + timestamp)) with
//     x-sinch-webhook-signature-nonce and -timestamp headers. A service plan
//     without HMAC authenticates by a secret in the callback URL instead.
//     The signed timestamp (Unix seconds) must be within ReplayWindow (5
//     minutes, either way) of the time the callback is received (Verify's
//     now), so a captured callback cannot be replayed later.
//   - Sinch retries 5xx and 429 (backing off up to ~22 h), so the same id
//     arrives again: dedupe on it.
//   - Send: POST {base}/xms/v1/{service_plan_id}/batches, Bearer API token,
//     {from, to: [...], body, client_reference}; our reference goes in
//     client_reference, which makes a crash-window duplicate traceable.
//     https://developers.sinch.com/docs/sms/api-reference/sms/tag/Batches
//   - List batches: GET {base}/xms/v1/{service_plan_id}/batches with
//     client_reference and start_date (ISO-8601) filters, batches of the last
//     14 days: Find reconciles a send whose answer was lost by our reference.
//     https://developers.sinch.com/docs/sms/api-reference/sms/batches/listbatches.md
package sinch

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
)

// Headers of an HMAC-signed callback.
const (
	HeaderSignature = "x-sinch-webhook-signature"
	HeaderNonce     = "x-sinch-webhook-signature-nonce"
	HeaderTimestamp = "x-sinch-webhook-signature-timestamp"
)

// Sign computes the callback signature.
func Sign(secret string, body []byte, nonce, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte("." + nonce + "." + timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ReplayWindow is how far the signed timestamp of an HMAC callback may be
// from the time it is received, either way (Sinch documents none; 5
// minutes is the Standard Webhooks tolerance). A retry is a new request
// with its own nonce, timestamp and signature.
const ReplayWindow = 5 * time.Minute

// ErrStale: a validly signed callback whose timestamp is outside
// ReplayWindow. It wraps sms.ErrInvalidSignature (answered 401).
var ErrStale = fmt.Errorf("%w: sinch timestamp outside the replay window", sms.ErrInvalidSignature)

// Verify checks the callback: the HMAC headers when a webhook secret is
// set, else the secret token in the callback URL (both constant time). A
// signed callback must also carry a timestamp (Unix seconds) within
// ReplayWindow of now, the time it was received.
func Verify(webhookSecret, urlToken, gotToken string, h http.Header, body []byte, now time.Time) error {
	if webhookSecret != "" {
		got, err := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
		if err != nil || len(got) == 0 {
			return sms.ErrInvalidSignature
		}
		ts := h.Get(HeaderTimestamp)
		want, _ := base64.StdEncoding.DecodeString(Sign(webhookSecret, body, h.Get(HeaderNonce), ts)) // our encoding decodes
		if !hmac.Equal(got, want) {
			return sms.ErrInvalidSignature
		}
		sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: timestamp %q is not Unix seconds", sms.ErrInvalidSignature, ts)
		}
		if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
			return ErrStale
		}
		return nil
	}
	if urlToken == "" || subtle.ConstantTimeCompare([]byte(urlToken), []byte(gotToken)) != 1 {
		return sms.ErrInvalidSignature
	}
	return nil
}

// ParseInbound parses a verified MO callback; non-text MO types are
// sms.ErrUnsupported.
func ParseInbound(body []byte) (sms.Inbound, error) {
	var mo struct {
		Type       string     `json:"type"`
		ID         string     `json:"id"`
		From       string     `json:"from"`
		To         string     `json:"to"`
		Body       string     `json:"body"`
		ReceivedAt *time.Time `json:"received_at"`
	}
	if err := json.Unmarshal(body, &mo); err != nil {
		return sms.Inbound{}, fmt.Errorf("%w: %v", sms.ErrMalformed, err)
	}
	if mo.Type != "mo_text" {
		return sms.Inbound{}, fmt.Errorf("%w: %q", sms.ErrUnsupported, mo.Type)
	}
	from := msisdn(mo.From)
	if mo.ID == "" || len(from) < 8 {
		return sms.Inbound{}, fmt.Errorf("%w: id and from are required", sms.ErrMalformed)
	}
	in := sms.Inbound{Provider: sms.Sinch, MessageID: mo.ID, From: from, To: msisdn(mo.To), Text: mo.Body}
	if mo.ReceivedAt != nil {
		in.ReceivedAt = mo.ReceivedAt.UTC()
	}
	return in, nil
}

// msisdn adds the '+' Sinch leaves off.
func msisdn(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "+") {
		return s
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return s // a short code or alphanumeric sender: leave it
		}
	}
	return "+" + s
}

// DefaultBaseURL is Sinch's US region.
const DefaultBaseURL = "https://us.sms.api.sinch.com"

// Client sends SMS through one service plan.
type Client struct {
	base, plan, token string
	api               *httpx.Client
}

// NewClient returns a client; baseURL "" means the US region, hc nil a
// client for local fakes (sms.API). The credentials are Spec's keys.
func NewClient(baseURL, servicePlanID, apiToken string, hc *http.Client) *Client {
	return &Client{base: strings.TrimRight(cmp.Or(baseURL, DefaultBaseURL), "/"), plan: servicePlanID, token: apiToken, api: sms.API(sms.Sinch, hc)}
}

// request is a call with the Bearer token and a JSON body (nil: none).
func (c *Client) request(method, u string, body []byte) httpx.Request {
	return httpx.Request{Decode: httpx.Fields("code", "text"), New: httpx.Build(method, u, body, "application/json", func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+c.token)
		r.Header.Set("Accept", "application/json")
	})}
}

// Send sends one message. It repeats the request only when Sinch provably
// did not take it (httpx.Request.Once: no connection, 429, 503); a request
// that was sent and got no answer is sms.ErrUnknownOutcome (look it up with
// Find by its client_reference), other 4xx are permanent *httpx.Error.
func (c *Client) Send(ctx context.Context, m sms.Message) (sms.SendResult, error) {
	payload, err := json.Marshal(map[string]any{"from": m.From, "to": []string{m.To}, "body": m.Text, "client_reference": m.Reference})
	if err != nil {
		return sms.SendResult{}, err
	}
	r := c.request(http.MethodPost, c.base+"/xms/v1/"+c.plan+"/batches", payload)
	r.Once = true
	resp, err := c.api.Do(ctx, r)
	if err != nil {
		return sms.SendResult{}, err
	}
	var out struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(resp.Body, &out) // accepted either way
	return sms.SendResult{ProviderMessageID: out.ID}, nil
}

// Find looks for the batch carrying m.Reference as client_reference created
// at or after since (minus a minute of clock skew).
func (c *Client) Find(ctx context.Context, m sms.Message, since time.Time) (string, bool, error) {
	if m.Reference == "" {
		return "", false, errors.New("sinch: finding a message needs its reference")
	}
	q := url.Values{"client_reference": {m.Reference}, "start_date": {since.Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")}, "page_size": {"30"}}
	resp, err := c.api.Do(ctx, c.request(http.MethodGet, c.base+"/xms/v1/"+c.plan+"/batches?"+q.Encode(), nil))
	if err != nil {
		return "", false, fmt.Errorf("sinch: listing batches: %w", err)
	}
	var page struct {
		Batches []struct {
			ID              string   `json:"id"`
			To              []string `json:"to"`
			ClientReference string   `json:"client_reference"`
		} `json:"batches"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return "", false, fmt.Errorf("sinch: listing batches: %w", err)
	}
	for _, b := range page.Batches {
		if b.ClientReference == m.Reference {
			return b.ID, true, nil
		}
	}
	return "", false, nil
}
