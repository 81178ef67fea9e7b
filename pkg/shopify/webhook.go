package shopify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Webhook errors.
var (
	ErrInvalidSignature = errors.New("shopify: invalid webhook signature")
	ErrMalformed        = errors.New("shopify: malformed webhook")
	ErrUnsupportedTopic = errors.New("shopify: unsupported webhook topic")
)

// header reads a Shopify header in its X-Shopify-* or events-style
// shopify-* form (http.Header.Get is case-insensitive).
func header(h http.Header, name string) string {
	return cmp.Or(h.Get("X-Shopify-"+name), h.Get("Shopify-"+name))
}

// Sign returns the X-Shopify-Hmac-Sha256 value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks the HMAC of the raw body in constant time against
// each secret (the current one and, after a rotation, the previous one).
func VerifyWebhook(secrets []string, h http.Header, body []byte) error {
	got, err := base64.StdEncoding.DecodeString(header(h, "Hmac-Sha256"))
	if err != nil || len(got) == 0 {
		return ErrInvalidSignature
	}
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		if hmac.Equal(got, m.Sum(nil)) {
			ok = true // keep comparing: the time does not depend on which secret matched
		}
	}
	if !ok {
		return ErrInvalidSignature
	}
	return nil
}

func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// SegmentNamer returns the name of the segment with the given GID, or ""
// when the shop has none by that id (Client.SegmentName).
type SegmentNamer func(ctx context.Context, segmentGID string) (string, error)

// ErrNoSegmentNamer: a segment topic parsed without a SegmentNamer (its
// body names the segment by id only).
var ErrNoSegmentNamer = errors.New("shopify: segment webhooks need the segment's name")

// ParseWebhook turns a verified delivery into records. Segment topics need
// ParseWebhookWith.
func ParseWebhook(h http.Header, body []byte, opts source.Options) (source.Webhook, error) {
	return ParseWebhookWith(context.Background(), h, body, opts, nil)
}

// ParseWebhookWith is ParseWebhook with names, which resolves the segment
// of a customer.joined_segment / customer.left_segment delivery (their
// bodies carry ids only). A segment the connection's selection leaves out,
// or one the shop no longer has, gives no records.
func ParseWebhookWith(ctx context.Context, h http.Header, body []byte, opts source.Options, names SegmentNamer) (source.Webhook, error) {
	topic := header(h, "Topic")
	wh := source.Webhook{Topic: topic, DeliveryID: header(h, "Webhook-Id")}
	if wh.DeliveryID == "" {
		sum := sha256.Sum256(body)
		wh.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if err := checkShape(topic, body); err != nil {
		return source.Webhook{}, err
	}
	base := source.Record{Platform: source.Shopify, Label: label(opts), ConnectionID: opts.ConnectionID}
	switch topic {
	case "customers/create", "customers/update", "customers/enable", "customers/disable":
		var c restCustomer
		if err := decode(body, &c); err != nil {
			return source.Webhook{}, err
		}
		rec, err := c.record(opts)
		if err != nil {
			return source.Webhook{}, err
		}
		wh.Records = []source.Record{rec} // since 2025-01: no tags, no consent (SignalNone, HasGroups false)
	case "customers/delete":
		var d struct {
			ID json.Number `json:"id"`
		}
		if err := decode(body, &d); err != nil {
			return source.Webhook{}, err
		}
		id, err := d.ID.Int64()
		if err != nil || id <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: no customer id", ErrMalformed)
		}
		rec := base
		rec.ExternalID, rec.Deleted = strconv.FormatInt(id, 10), true
		wh.Records = []source.Record{rec}
	case "customers_marketing_consent/update":
		var d struct {
			ID      json.Number `json:"id"`
			Phone   string      `json:"phone"`
			Consent *struct {
				State     *string    `json:"state"`
				OptIn     *string    `json:"opt_in_level"`
				UpdatedAt *time.Time `json:"consent_updated_at"`
			} `json:"sms_marketing_consent"`
		}
		if err := decode(body, &d); err != nil {
			return source.Webhook{}, err
		}
		id, err := d.ID.Int64()
		if err != nil || id <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: no customer id", ErrMalformed)
		}
		rec := base
		rec.ExternalID = strconv.FormatInt(id, 10)
		rec.Partial = true // id, phone and consent only: never re-matched (design.md §3)
		if d.Phone != "" {
			rec.Phones = []source.PhoneField{{Raw: d.Phone, Field: "sms_consent"}}
		}
		if d.Consent != nil {
			state, level := "", ""
			if d.Consent.State != nil {
				state = *d.Consent.State
			}
			if d.Consent.OptIn != nil {
				level = *d.Consent.OptIn
			}
			rec.Consent = consentFrom(state, level, d.Consent.UpdatedAt)
			if d.Consent.UpdatedAt != nil {
				rec.UpdatedAt = d.Consent.UpdatedAt.UTC()
			}
		}
		wh.Records = []source.Record{rec}
	case "customer.tags_added", "customer.tags_removed":
		var d struct {
			CustomerID string    `json:"customerId"`
			Tags       []string  `json:"tags"`
			OccurredAt time.Time `json:"occurredAt"`
		}
		if err := decode(body, &d); err != nil {
			return source.Webhook{}, err
		}
		id, err := parseID(d.CustomerID)
		if err != nil || id <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: no customer id", ErrMalformed)
		}
		rec := base
		rec.ExternalID, rec.UpdatedAt = strconv.FormatInt(id, 10), d.OccurredAt.UTC()
		rec.Partial = true // a tag delta: only the linked contact's groups
		if topic == "customer.tags_added" {
			rec.AddGroups = d.Tags
		} else {
			rec.RemoveGroups = d.Tags
		}
		wh.Records = []source.Record{rec}
	case "customer.joined_segment", "customer.left_segment":
		var d struct {
			CustomerID string `json:"customer_id"`
			SegmentID  string `json:"segment_id"`
		}
		if err := decode(body, &d); err != nil {
			return source.Webhook{}, err
		}
		id, err := parseID(d.CustomerID)
		if err != nil || id <= 0 {
			return source.Webhook{}, fmt.Errorf("%w: no customer id", ErrMalformed)
		}
		if names == nil {
			return source.Webhook{}, ErrNoSegmentNamer
		}
		name, err := names(ctx, d.SegmentID)
		if err != nil {
			return source.Webhook{}, err
		}
		if name == "" || (len(opts.SelectedTags) > 0 && !slices.Contains(opts.SelectedTags, name)) {
			break // a segment gone since, or one the connection does not sync
		}
		rec := base
		rec.ExternalID = strconv.FormatInt(id, 10)
		rec.Partial = true // a membership delta: only the linked contact's groups
		if topic == "customer.joined_segment" {
			rec.AddGroups = []string{name}
		} else {
			rec.RemoveGroups = []string{name}
		}
		wh.Records = []source.Record{rec}
	case "orders/create", "orders/updated":
		rec, ok, err := orderRecord(body, opts)
		if err != nil {
			return source.Webhook{}, err
		}
		if ok {
			wh.Records = []source.Record{rec}
		}
	case "app/uninstalled":
		var d struct {
			Domain string `json:"myshopify_domain"`
		}
		if err := decode(body, &d); err != nil {
			return source.Webhook{}, err
		}
		wh.Uninstalled = d.Domain
	case "customers/redact", "customers/data_request", "shop/redact":
		var d struct {
			Customer *struct {
				ID    json.Number `json:"id"`
				Email string      `json:"email"`
				Phone string      `json:"phone"`
			} `json:"customer"`
		}
		if err := decode(body, &d); err != nil {
			return source.Webhook{}, err
		}
		wh.Privacy = source.PrivacyRequest(topic)
		if d.Customer != nil {
			if id, err := d.Customer.ID.Int64(); err == nil && id > 0 {
				rec := base
				rec.ExternalID = strconv.FormatInt(id, 10)
				if d.Customer.Email != "" {
					rec.Emails = []string{d.Customer.Email}
				}
				wh.Records = []source.Record{rec}
			}
		}
	default:
		return source.Webhook{}, fmt.Errorf("%w: %q", ErrUnsupportedTopic, topic)
	}
	return wh, nil
}

// orderRecord maps an order: a guest checkout (customer null) with a
// contact becomes a guest record, an order with a customer that
// customer's record, an order with no contact nothing.
func orderRecord(body []byte, opts source.Options) (source.Record, bool, error) {
	var o struct {
		ID           json.Number   `json:"id"`
		Email        string        `json:"email"`
		ContactEmail string        `json:"contact_email"`
		Phone        string        `json:"phone"`
		UpdatedAt    *time.Time    `json:"updated_at"`
		CreatedAt    *time.Time    `json:"created_at"`
		Customer     *restCustomer `json:"customer"`
		Billing      *restAddress  `json:"billing_address"`
	}
	if err := decode(body, &o); err != nil {
		return source.Record{}, false, err
	}
	id, err := o.ID.Int64()
	if err != nil || id <= 0 {
		return source.Record{}, false, fmt.Errorf("%w: no order id", ErrMalformed)
	}
	if o.Customer != nil {
		rec, err := o.Customer.record(opts)
		return rec, err == nil, err
	}
	rec, ok := guestRecord(opts, id, []*time.Time{o.UpdatedAt, o.CreatedAt}, []string{o.Email, o.ContactEmail}, o.Phone, o.Billing)
	return rec, ok, nil
}
