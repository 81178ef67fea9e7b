package woocommerce

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/source"
)

// Webhook errors.
var (
	ErrInvalidSignature = errors.New("woocommerce: invalid webhook signature")
	ErrMalformed        = errors.New("woocommerce: malformed webhook")
	ErrUnsupportedTopic = errors.New("woocommerce: unsupported webhook topic")
)

// Webhook headers.
const (
	HeaderSignature  = "X-WC-Webhook-Signature"
	HeaderTopic      = "X-WC-Webhook-Topic"
	HeaderDeliveryID = "X-WC-Webhook-Delivery-ID"
	HeaderWebhookID  = "X-WC-Webhook-ID"
)

// Sign returns the X-WC-Webhook-Signature of body: base64 HMAC-SHA256 keyed
// with the secret (HTML entities decoded, as WooCommerce stores it).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(html.UnescapeString(secret)))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// IsPing reports whether a delivery is the ping a new webhook sends: the
// form body webhook_id=<id> with no signature or topic header.
func IsPing(h http.Header, body []byte) bool {
	if h.Get(HeaderSignature) != "" || h.Get(HeaderTopic) != "" {
		return false
	}
	v, err := url.ParseQuery(string(bytes.TrimSpace(body)))
	if err != nil || len(v) != 1 {
		return false
	}
	_, err = strconv.ParseInt(v.Get("webhook_id"), 10, 64)
	return err == nil
}

// VerifyWebhook checks the signature over the raw body in constant time. A
// ping carries no signature and verifies (it carries no data either).
func VerifyWebhook(secret string, h http.Header, body []byte) error {
	if IsPing(h, body) {
		return nil
	}
	got, err := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	if err != nil || len(got) == 0 || secret == "" {
		return ErrInvalidSignature
	}
	want, _ := base64.StdEncoding.DecodeString(Sign(secret, body)) // our own encoding always decodes
	if !hmac.Equal(got, want) {
		return ErrInvalidSignature
	}
	return nil
}

// ParseWebhookKeys turns a verified delivery into records, reading the
// meta keys the connection sets (consent and groups).
func ParseWebhookKeys(h http.Header, body []byte, opts source.Options, keys Keys) (source.Webhook, error) {
	consentKey := keys.Consent
	if IsPing(h, body) {
		return source.Webhook{Ping: true, DeliveryID: "ping:" + string(body), Topic: "ping"}, nil
	}
	topic := h.Get(HeaderTopic)
	wh := source.Webhook{Topic: topic, DeliveryID: h.Get(HeaderDeliveryID)}
	if wh.DeliveryID == "" {
		sum := sha256.Sum256(body)
		wh.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	switch topic {
	case "customer.created", "customer.updated", "customer.deleted", "order.created", "order.updated":
		if err := checkShape(topic, body); err != nil {
			return source.Webhook{}, err
		}
	}
	switch topic {
	case "customer.created", "customer.updated":
		var c Customer
		if err := decodeStrict(body, &c); err != nil || c.ID <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: %s body is not a customer", ErrMalformed, topic)
		}
		wh.Records = []source.Record{customerRecord(c, opts, keys)}
	case "customer.deleted":
		var d struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(body, &d); err != nil || d.ID <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: %s body has no id", ErrMalformed, topic)
		}
		wh.Records = []source.Record{{Platform: source.WooCommerce, Label: label(opts), ConnectionID: opts.ConnectionID,
			ExternalID: strconv.FormatInt(d.ID, 10), Deleted: true}}
	case "order.created", "order.updated":
		var o Order
		if err := decodeStrict(body, &o); err != nil || o.ID <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: %s body is not an order", ErrMalformed, topic)
		}
		// A guest order is a contact; a registered customer's order says
		// nothing new (customer.* webhooks and the daily run cover them).
		if rec, ok := guestRecord(o, opts, consentKey); ok {
			wh.Records = []source.Record{rec}
		}
	default:
		return source.Webhook{}, fmt.Errorf("%w: %q", ErrUnsupportedTopic, topic)
	}
	return wh, nil
}

// decodeStrict decodes one JSON object (trailing data is an error).
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
