// Package twilio verifies and parses Twilio's inbound-SMS webhooks, answers
// them with TwiML, and sends SMS through the Messages API. spec.go is its
// sms.Spec with the set-up: the credential check (the account fetch) and
// pointing the sender number's SmsUrl, or a Messaging Service's
// InboundRequestUrl, at our inbound URL. Its fake, twiliotest, serves the
// API and posts signed inbound messages.
//
// Facts relied on (../../../../shared/platforms.md §5):
//   - Inbound: a form POST with MessageSid, From, To, Body, AccountSid, ...
//     and no timestamp; Twilio may add parameters without notice.
//     https://www.twilio.com/docs/messaging/guides/webhook-request
//   - X-Twilio-Signature = base64(HMAC-SHA1(auth token, the full URL Twilio
//     called followed by every POST parameter name and value in name order,
//     repeated names with their values sorted)); validators accept the URL
//     with or without the scheme's default port. A JSON body is signed with
//     a bodySHA256 query parameter instead of form parameters.
//     https://www.twilio.com/docs/usage/security
//   - Reply with TwiML (text/xml): <Response/> for no reply.
//   - Send: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic
//     (AccountSid:AuthToken), form To, From, Body; JSON {sid, status}; error
//     21610 means the recipient opted out (permanent).
//     https://www.twilio.com/docs/messaging/api/message-resource
//   - Twilio has no idempotency header for sends (platforms.md §9): the
//     outbox closes the crash window with its own marker (claimed before the
//     send, completed after) and records the MessageSid; a crash between the
//     provider's 201 and our mark can at worst re-send after the claim
//     lapses, which the outbox makes at most once more per message.
//
// Dedup inbound messages by MessageSid (Twilio sends the same SID again
// only when a retry override or fallback URL fires).
package twilio

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/contactsync/contactsync/pkg/sms"
)

// HeaderSignature carries the signature.
const HeaderSignature = "X-Twilio-Signature"

// Signature computes Twilio's signature of a form request to fullURL.
func Signature(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := slices.Sorted(maps.Keys(params))
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// urlVariants returns u as given, and with the scheme's default port added
// or removed (Twilio's validators accept either).
func urlVariants(u string) []string {
	p, err := url.Parse(u)
	if err != nil {
		return []string{u}
	}
	def := map[string]string{"https": "443", "http": "80"}[p.Scheme]
	out := []string{u}
	switch port := p.Port(); {
	case port == "":
		q := *p
		q.Host = p.Host + ":" + def
		out = append(out, q.String())
	default:
		q := *p
		q.Host = p.Hostname()
		out = append(out, q.String())
	}
	return out
}

// Verify checks X-Twilio-Signature for a request to fullURL (the public URL
// Twilio called, with its query) with the given raw body, in constant time.
func Verify(authToken, fullURL string, h http.Header, body []byte) error {
	got, err := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	if err != nil || len(got) == 0 || authToken == "" {
		return sms.ErrInvalidSignature
	}
	var params url.Values
	if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		// JSON bodies are covered by bodySHA256 in the URL instead.
		u, err := url.Parse(fullURL)
		if err != nil {
			return sms.ErrInvalidSignature
		}
		sum := sha256.Sum256(body)
		if !hmac.Equal([]byte(u.Query().Get("bodySHA256")), []byte(hex.EncodeToString(sum[:]))) {
			return sms.ErrInvalidSignature
		}
	} else if params, err = url.ParseQuery(string(body)); err != nil {
		return sms.ErrInvalidSignature
	}
	for _, u := range urlVariants(fullURL) {
		want, _ := base64.StdEncoding.DecodeString(Signature(authToken, u, params)) // our own encoding decodes
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return sms.ErrInvalidSignature
}

// ParseInbound verifies and parses an inbound-SMS webhook.
func ParseInbound(authToken, fullURL string, h http.Header, body []byte) (sms.Inbound, error) {
	if err := Verify(authToken, fullURL, h, body); err != nil {
		return sms.Inbound{}, err
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return sms.Inbound{}, fmt.Errorf("%w: form body does not parse", sms.ErrMalformed)
	}
	in := sms.Inbound{Provider: sms.Twilio, MessageID: cmp.Or(v.Get("MessageSid"), v.Get("SmsMessageSid")),
		From: v.Get("From"), To: v.Get("To"), Text: v.Get("Body")}
	if in.MessageID == "" || !strings.HasPrefix(in.From, "+") || len(in.From) < 8 {
		return sms.Inbound{}, fmt.Errorf("%w: MessageSid and an E.164 From are required", sms.ErrMalformed)
	}
	return in, nil
}

// EmptyTwiML is the answer that sends no reply.
func EmptyTwiML() string { return `<?xml version="1.0" encoding="UTF-8"?><Response/>` }

// ContentType is TwiML's content type.
const ContentType = "text/xml; charset=utf-8"
