// Package messagemedia verifies and parses Sinch MessageMedia reply
// callbacks and sends SMS through its Messages API, with our inbound URL as
// every message's callback_url (Client.CallbackURL); spec.go is its
// sms.Spec and checks credentials. Its fake, messagemediatest, serves the send endpoint and
// posts replies.
//
// Facts relied on (../../../../shared/platforms.md §6):
//   - A reply is POSTed as JSON to the original message's callback URL with
//     the fields of a GET /v1/replies element: reply_id, message_id,
//     content, date_received, source_number (the customer),
//     destination_number (our number), metadata (unconfirmed: the spec
//     shows only the delivery-report example). Any 2xx acknowledges it; it is
//     retried otherwise, so reply_id is the dedup key. Delivery reports
//     of the message go to the same callback_url; they are acknowledged
//     and ignored (sms.ErrUnsupported).
//   - Signed webhooks are opt-in per account: X-Messagemedia-Signature is a
//     base64 RSA signature (PKCS#1 v1.5 with the digest named in
//     X-Messagemedia-Digest-Type: SHA224, SHA256 or SHA512) which the vendor's
//     demo verifies over "POST <path> HTTP/1.1" + the Date header + the raw
//     body (unconfirmed: no formal spec or vector). With a configured public
//     key the signature is required, and the signed Date must be within
//     ReplayWindow (5 minutes, either way) of the time the callback is
//     received (Verify's now); without a key, the callback URL carries a
//     secret token we generate.
//   - Send: POST /v1/messages {"messages":[{content, destination_number,
//     source_number, format "SMS", delivery_report, metadata}]}, HTTP Basic
//     (API key : secret), answered 202 with message ids. Our reference goes
//     in metadata, so a crash-window duplicate is traceable. The Messages
//     API has no lookup by metadata, so a send whose answer was lost stays
//     unknown (never re-sent).
//   - MessageMedia blacklists numbers that reply with an opt-out keyword
//     itself; we still record the opt-out on our side.
package messagemedia

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"

	_ "crypto/sha256" // SHA224 and SHA256 for signatures
	_ "crypto/sha512" // SHA512 for signatures
)

// Signature headers.
const (
	HeaderSignature  = "X-Messagemedia-Signature"
	HeaderDigestType = "X-Messagemedia-Digest-Type"
)

var digests = map[string]crypto.Hash{"SHA224": crypto.SHA224, "SHA256": crypto.SHA256, "SHA512": crypto.SHA512}

// SignedString is what the signature covers.
func SignedString(path, date string, body []byte) []byte {
	return append([]byte("POST "+path+" HTTP/1.1"+date), body...)
}

// ReplayWindow is how far the signed Date header of a callback may be from
// the time it is received, either way (MessageMedia documents none; 5
// minutes is the Standard Webhooks tolerance, and HTTP-signature schemes
// over Date use similar skews).
const ReplayWindow = 5 * time.Minute

// ErrStale: a validly signed callback whose Date is outside ReplayWindow.
// It wraps sms.ErrInvalidSignature (answered 401).
var ErrStale = fmt.Errorf("%w: messagemedia Date outside the replay window", sms.ErrInvalidSignature)

// Verify checks a reply callback: the RSA signature when publicKeyPEM is
// set, else the URL token (constant time). A signed callback's Date header
// (an HTTP date, covered by the signature) must be within ReplayWindow of
// now, the time it was received.
func Verify(publicKeyPEM, urlToken, gotToken, path string, h http.Header, body []byte, now time.Time) error {
	if publicKeyPEM == "" {
		if urlToken == "" || subtle.ConstantTimeCompare([]byte(urlToken), []byte(gotToken)) != 1 {
			return sms.ErrInvalidSignature
		}
		return nil
	}
	block, _ := pem.Decode([]byte(publicKeyPEM))
	if block == nil {
		return fmt.Errorf("%w: no PEM public key configured", sms.ErrInvalidSignature)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	pub, ok := key.(*rsa.PublicKey)
	if err != nil || !ok {
		return fmt.Errorf("%w: the configured key is not an RSA public key", sms.ErrInvalidSignature)
	}
	hash, ok := digests[strings.ToUpper(h.Get(HeaderDigestType))]
	sig, derr := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	if !ok || derr != nil || len(sig) == 0 {
		return sms.ErrInvalidSignature
	}
	date := h.Get("Date")
	d := hash.New()
	d.Write(SignedString(path, date, body))
	if rsa.VerifyPKCS1v15(pub, hash, d.Sum(nil), sig) != nil {
		return sms.ErrInvalidSignature
	}
	at, err := http.ParseTime(date)
	if err != nil {
		return fmt.Errorf("%w: Date %q is not an HTTP date", sms.ErrInvalidSignature, date)
	}
	if skew := now.Sub(at); skew > ReplayWindow || skew < -ReplayWindow {
		return ErrStale
	}
	return nil
}

// ParseInbound parses a verified reply callback.
func ParseInbound(body []byte) (sms.Inbound, error) {
	var r struct {
		DeliveryReportID  string     `json:"delivery_report_id"`
		ReplyID           string     `json:"reply_id"`
		Content           string     `json:"content"`
		SourceNumber      string     `json:"source_number"`
		DestinationNumber string     `json:"destination_number"`
		DateReceived      *time.Time `json:"date_received"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return sms.Inbound{}, fmt.Errorf("%w: %v", sms.ErrMalformed, err)
	}
	if r.DeliveryReportID != "" && r.ReplyID == "" {
		// A delivery report posted to the message's callback_url (which
		// carries our inbound URL): acknowledged, not a reply.
		return sms.Inbound{}, fmt.Errorf("%w: delivery report", sms.ErrUnsupported)
	}
	if r.ReplyID == "" || !strings.HasPrefix(r.SourceNumber, "+") || len(r.SourceNumber) < 8 {
		return sms.Inbound{}, fmt.Errorf("%w: reply_id and an E.164 source_number are required", sms.ErrMalformed)
	}
	in := sms.Inbound{Provider: sms.MessageMedia, MessageID: r.ReplyID, From: r.SourceNumber, To: r.DestinationNumber, Text: r.Content}
	if r.DateReceived != nil {
		in.ReceivedAt = r.DateReceived.UTC()
	}
	return in, nil
}

// DefaultBaseURL is MessageMedia's API.
const DefaultBaseURL = "https://api.messagemedia.com"

// Client sends SMS through one account.
type Client struct {
	base, key, secret string
	api               *httpx.Client
	// CallbackURL, when set, is every message's callback_url: replies to
	// the message (and its delivery reports) are posted there.
	CallbackURL string
}

// NewClient returns a client; baseURL "" means MessageMedia's own, hc nil
// a client for local fakes (sms.API). The credentials are Spec's keys.
func NewClient(baseURL, apiKey, apiSecret string, hc *http.Client) *Client {
	return &Client{base: strings.TrimRight(cmp.Or(baseURL, DefaultBaseURL), "/"), key: apiKey, secret: apiSecret, api: sms.API(sms.MessageMedia, hc)}
}

// request is a call with HTTP Basic auth and a JSON body (nil: none).
func (c *Client) request(method, u string, body []byte) httpx.Request {
	return httpx.Request{Decode: httpx.Fields("", "message"), New: httpx.Build(method, u, body, "application/json", func(r *http.Request) {
		r.SetBasicAuth(c.key, c.secret)
		r.Header.Set("Accept", "application/json")
	})}
}

// Send sends one message. It repeats the request only when MessageMedia
// provably did not take it (httpx.Request.Once: no connection, 429, 503); a
// request that was sent and got no answer is sms.ErrUnknownOutcome, other
// 4xx are permanent *httpx.Error.
func (c *Client) Send(ctx context.Context, m sms.Message) (sms.SendResult, error) {
	msg := map[string]any{"content": m.Text, "destination_number": m.To, "format": "SMS", "delivery_report": true}
	if m.From != "" {
		msg["source_number"] = m.From
	}
	if c.CallbackURL != "" {
		msg["callback_url"] = c.CallbackURL
	}
	if m.Reference != "" {
		msg["metadata"] = map[string]string{"reference": m.Reference}
	}
	payload, err := json.Marshal(map[string]any{"messages": []any{msg}})
	if err != nil {
		return sms.SendResult{}, err
	}
	r := c.request(http.MethodPost, c.base+"/v1/messages", payload)
	r.Once = true
	resp, err := c.api.Do(ctx, r)
	if err != nil {
		return sms.SendResult{}, err
	}
	var out struct {
		Messages []struct {
			MessageID string `json:"message_id"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(resp.Body, &out) // accepted either way
	res := sms.SendResult{}
	if len(out.Messages) > 0 {
		res.ProviderMessageID = out.Messages[0].MessageID
	}
	return res, nil
}
