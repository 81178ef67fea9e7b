package klaviyo

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Webhook errors callers branch on (the HTTP layer maps them to 401/400).
var (
	ErrInvalidSignature = errors.New("klaviyo: invalid webhook signature")
	ErrMalformed        = errors.New("klaviyo: malformed webhook")
	ErrUnsupportedTopic = errors.New("klaviyo: unsupported webhook topic")
)

// Signature computes the (unconfirmed, see doc.go) system-webhook signature:
// hex HMAC-SHA256 keyed with the secret over the raw body followed by the
// Klaviyo-Timestamp value.
func Signature(secret string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(timestamp))
	return hex.EncodeToString(m.Sum(nil))
}

// ReplayWindow is how far Klaviyo-Timestamp may be from the time a
// delivery is received, either way. Klaviyo documents none; 5 minutes is
// the tolerance of the Standard Webhooks libraries (platforms-setup.md §6).
const ReplayWindow = 5 * time.Minute

// ErrStale: a validly signed delivery whose timestamp is outside
// ReplayWindow (a replay, or a clock far off). It wraps ErrInvalidSignature,
// so callers answer it as they answer a bad signature.
var ErrStale = fmt.Errorf("%w: timestamp outside the replay window", ErrInvalidSignature)

// VerifyWebhook checks Klaviyo-Signature over the raw body and
// Klaviyo-Timestamp in constant time, then that the signed timestamp is
// within ReplayWindow of now (the time the delivery was received; the
// caller's clock, so tests fix it).
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	sig, err := hex.DecodeString(strings.TrimSpace(h.Get("Klaviyo-Signature")))
	if secret == "" || err != nil || len(sig) == 0 {
		return ErrInvalidSignature
	}
	ts := h.Get("Klaviyo-Timestamp")
	want, _ := hex.DecodeString(Signature(secret, body, ts))
	if !hmac.Equal(sig, want) {
		return ErrInvalidSignature
	}
	at, ok := parseTimestamp(ts)
	if !ok {
		return fmt.Errorf("%w: Klaviyo-Timestamp %q is not a time", ErrInvalidSignature, ts)
	}
	if d := now.Sub(at); d > ReplayWindow || d < -ReplayWindow {
		return ErrStale
	}
	return nil
}

// parseTimestamp reads Klaviyo-Timestamp: Unix seconds (what the Hookdeck
// description and our fake send), Unix milliseconds, or RFC 3339.
func parseTimestamp(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > 1e12 || n < -1e12 {
			return time.UnixMilli(n), true
		}
		return time.Unix(n, 0), true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// ParseWebhook turns a verified system-webhook delivery into records. Each
// data item whose payload is a profile resource (either the resource itself
// or {"data": <profile>}) becomes a record; a delivery with no profile at
// all is ErrUnsupportedTopic. The delivery id is Klaviyo-Webhook-Id.
func ParseWebhook(h http.Header, body []byte, opts source.Options) (source.Webhook, error) {
	var env struct {
		Data []struct {
			Topic   string          `json:"topic"`
			Payload json.RawMessage `json:"payload"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	id := h.Get("Klaviyo-Webhook-Id")
	if id == "" || len(env.Data) == 0 {
		return source.Webhook{}, fmt.Errorf("%w: missing delivery id or data", ErrMalformed)
	}
	if opts.Label == "" {
		opts.Label = source.Klaviyo.DefaultLabel()
	}
	wh := source.Webhook{DeliveryID: id, Topic: env.Data[0].Topic}
	for _, item := range env.Data {
		if p, ok := payloadProfile(item.Payload); ok {
			wh.Records = append(wh.Records, p.Record(opts))
		}
	}
	if len(wh.Records) == 0 {
		return source.Webhook{}, fmt.Errorf("%w: %q carries no profile", ErrUnsupportedTopic, wh.Topic)
	}
	return wh, nil
}

type typed struct {
	Type string `json:"type"`
}

func payloadProfile(raw json.RawMessage) (Profile, bool) {
	raw = bytes.TrimSpace(raw)
	var wrap struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &wrap) == nil && len(wrap.Data) > 0 {
		raw = wrap.Data
	}
	var t typed
	var p Profile
	if json.Unmarshal(raw, &t) != nil || t.Type != "profile" || json.Unmarshal(raw, &p) != nil || p.ID == "" {
		return Profile{}, false
	}
	return p, true
}
