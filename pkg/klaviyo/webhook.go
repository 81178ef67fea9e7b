package klaviyo

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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

// The SMS consent topics ParseWebhook maps from event payloads, and the
// signal each one states.
var consentTopics = map[string]source.SignalState{
	"event:klaviyo.subscribed_to_sms_marketing":     source.SignalSubscribed,
	"event:klaviyo.unsubscribed_from_sms_marketing": source.SignalUnsubscribed,
}

// maxTopicRunes bounds the topic a delivery names (it is logged).
const maxTopicRunes = 128

// ParseWebhook turns a verified system-webhook delivery into records.
//
// Each data item's payload has the shape of a Get Event answer ({data:
// <event>, included: [...]}, or the event resource itself). An event of
// an SMS consent topic (consentTopics) becomes a partial record of its
// profile (relationships.profile.data.id): the topic's signal at the
// event's datetime (else its timestamp), Method the topic, and the phone
// of the profile when the payload includes it. A payload that is a
// profile resource (itself or {"data": <profile>}) is still mapped whole
// (Profile.Record). Other items are skipped; a delivery left with no
// record is ErrUnsupportedTopic (ErrMalformed when a consent event names
// no profile).
//
// Klaviyo-Webhook-Id is required. Klaviyo calls it the webhook's id, so
// it is the same on every delivery of a webhook: the delivery id is
// derived from it and the events' external_id (deliveryID).
func ParseWebhook(h http.Header, body []byte, opts source.Options) (source.Webhook, error) {
	var env struct {
		Data []struct {
			Topic      string          `json:"topic"`
			ExternalID string          `json:"external_id"`
			Payload    json.RawMessage `json:"payload"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	hookID := strings.TrimSpace(h.Get("Klaviyo-Webhook-Id"))
	if hookID == "" || len(env.Data) == 0 {
		return source.Webhook{}, fmt.Errorf("%w: missing webhook id or data", ErrMalformed)
	}
	opts.Label = cmp.Or(opts.Label, source.Klaviyo.DefaultLabel())
	wh := source.Webhook{Topic: source.Truncate(strings.ToValidUTF8(env.Data[0].Topic, "\uFFFD"), maxTopicRunes)}
	ids := make([]string, 0, len(env.Data))
	noProfile := 0
	for _, item := range env.Data {
		if ids != nil {
			if item.ExternalID == "" {
				ids = nil // an event without an id: the body names the delivery
			} else {
				ids = append(ids, item.ExternalID)
			}
		}
		if p, ok := payloadProfile(item.Payload); ok {
			wh.Records = append(wh.Records, p.Record(opts))
			continue
		}
		state, ok := consentTopics[item.Topic]
		if !ok {
			continue
		}
		if r, ok := consentRecord(item.Payload, item.Topic, state, opts); ok {
			wh.Records = append(wh.Records, r)
		} else {
			noProfile++
		}
	}
	if len(wh.Records) == 0 {
		if noProfile > 0 {
			return source.Webhook{}, fmt.Errorf("%w: %q event names no profile", ErrMalformed, wh.Topic)
		}
		return source.Webhook{}, fmt.Errorf("%w: %q carries no profile or SMS consent event", ErrUnsupportedTopic, wh.Topic)
	}
	wh.DeliveryID = deliveryID(hookID, ids, body)
	return wh, nil
}

// deliveryID names a delivery for dedup: a hash of the webhook id and the
// sorted, distinct event ids (a retry of the same events gets the same id,
// whether Klaviyo-Webhook-Id names the webhook, as Klaviyo's guide says,
// or the delivery), or, when an event carries no external_id (ids nil),
// a hash of the raw body. Fixed length whatever the input.
func deliveryID(hookID string, ids []string, body []byte) string {
	if ids == nil {
		sum := sha256.Sum256(body)
		return "body-" + hex.EncodeToString(sum[:])
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	m := sha256.New()
	for _, v := range append([]string{hookID}, ids...) {
		// Length-prefixed, so no two lists of ids write the same bytes.
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(v))))
		m.Write([]byte(v))
	}
	return "events-" + hex.EncodeToString(m.Sum(nil))
}

type typed struct {
	Type string `json:"type"`
}

// payloadDoc splits a payload into its primary resource and its included
// resources: a JSON:API document {data, included}, or a bare resource.
func payloadDoc(raw json.RawMessage) (json.RawMessage, []json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	var doc struct {
		Data     json.RawMessage   `json:"data"`
		Included []json.RawMessage `json:"included"`
	}
	if json.Unmarshal(raw, &doc) == nil && len(doc.Data) > 0 {
		return doc.Data, doc.Included
	}
	return raw, nil
}

func payloadProfile(raw json.RawMessage) (Profile, bool) {
	raw, _ = payloadDoc(raw)
	var t typed
	var p Profile
	if json.Unmarshal(raw, &t) != nil || t.Type != "profile" || json.Unmarshal(raw, &p) != nil || p.ID == "" {
		return Profile{}, false
	}
	return p, true
}

// event is the part of a Get Event resource a consent record needs.
type event struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		Datetime  string          `json:"datetime"`
		Timestamp json.RawMessage `json:"timestamp"`
	} `json:"attributes"`
	Relationships struct {
		Profile struct {
			Data *struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"data"`
		} `json:"profile"`
	} `json:"relationships"`
}

// consentRecord maps an SMS consent event to a partial record of its
// profile (design.md §3 "partial records are partial": it updates the
// contact the profile is linked to and never re-matches it). It reports
// false when the payload is no event or names no profile.
func consentRecord(raw json.RawMessage, topic string, state source.SignalState, opts source.Options) (source.Record, bool) {
	res, included := payloadDoc(raw)
	var ev event
	if json.Unmarshal(res, &ev) != nil || ev.Type != "event" {
		return source.Record{}, false
	}
	rel := ev.Relationships.Profile.Data
	if rel == nil || strings.TrimSpace(rel.ID) == "" || (rel.Type != "" && rel.Type != "profile") {
		return source.Record{}, false
	}
	r := source.Record{Platform: source.Klaviyo, Label: opts.Label, ConnectionID: opts.ConnectionID, ExternalID: rel.ID, Partial: true,
		Consent: source.ConsentSignal{State: state, At: eventTime(ev), Method: topic}}
	// An included profile (a Get Event answer with include=profile) lends
	// its phone: the number the consent is about. Nothing else of it is
	// taken, and the record stays partial.
	for _, inc := range included {
		var t typed
		var p Profile
		if json.Unmarshal(inc, &t) != nil || t.Type != "profile" || json.Unmarshal(inc, &p) != nil || p.ID != rel.ID {
			continue
		}
		if phone := strings.TrimSpace(p.Attributes.PhoneNumber); phone != "" {
			country := ""
			if p.Attributes.Location != nil {
				country = countries[strings.ToLower(strings.TrimSpace(p.Attributes.Location.Country))]
			}
			r.Phones = []source.PhoneField{{Raw: phone, Country: country, Field: "phone_number"}}
		}
		break
	}
	return r, true
}

// eventLayouts are the forms of an event's datetime: ISO 8601 with a T
// (the API reference) or a space (the webhook example in Klaviyo's
// guide), with or without fractions; without a zone it is UTC.
var eventLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// eventTime is when the event happened: attributes.datetime, else
// attributes.timestamp (Unix seconds), else zero.
func eventTime(ev event) time.Time {
	if v := strings.TrimSpace(ev.Attributes.Datetime); v != "" {
		for _, layout := range eventLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC()
			}
		}
	}
	var n json.Number
	if json.Unmarshal(ev.Attributes.Timestamp, &n) == nil {
		if s, err := n.Int64(); err == nil && s > 0 {
			return time.Unix(s, 0).UTC()
		}
	}
	return time.Time{}
}
