package klaviyo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/time/rate"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// WebhookTopics are the system-webhook topics whose deliveries
// ParseWebhook maps to records: a profile subscribing to or unsubscribing
// from SMS marketing (the consent the hub keeps). Only those the account
// offers (GET /api/webhook-topics) are subscribed to.
var WebhookTopics = []string{"event:klaviyo.subscribed_to_sms_marketing", "event:klaviyo.unsubscribed_from_sms_marketing"}

// The Webhooks API's rate limits (every endpoint of it: burst 1/s, steady
// 15/m). The client keeps under both; a 429 is still retried after its
// Retry-After.
const (
	HookBurstPerSecond  = 1
	HookSteadyPerMinute = 15
)

// hookName names the webhooks we create (Klaviyo's settings show it).
const hookName = "contactsync"

// unavailableReason is why an account's webhooks are `unavailable`.
const unavailableReason = "Klaviyo's Webhooks API is only for Advanced KDP customers and app partners (it answered 403 to this account); live consent changes arrive with the daily sync"

var _ source.Subscriber = (*Client)(nil)
var _ source.TopicOfferer = (*Client)(nil)

// SetHookPace changes the Webhooks API pace (tests against a fake with
// other limits).
func (c *Client) SetHookPace(perSecond float64, perMinute int) {
	c.hookSecond.SetLimit(rateOf(perSecond))
	c.hookMinute.SetLimit(rateOf(float64(perMinute) / 60))
	c.hookMinute.SetBurst(max(perMinute, 1))
}

func (c *Client) waitHooks(ctx context.Context) error {
	if err := c.hookMinute.Wait(ctx); err != nil {
		return err
	}
	return c.hookSecond.Wait(ctx)
}

// hooksForbidden is a Webhooks API 403 (an *httpx.Error): Klaviyo
// refuses the API to accounts without Advanced KDP that are not app
// partners (it answers permission_denied even when the key has the
// webhooks scopes).
func hooksForbidden(err error) error {
	reason := unavailableReason
	if he := (*httpx.Error)(nil); errors.As(err, &he) && safehttp.Code(he.Code) != "" {
		reason += " (" + safehttp.Code(he.Code) + ")"
	}
	return &source.WebhooksUnavailableError{Reason: reason}
}

// Webhook is a system webhook as /api/webhooks answers it.
type Webhook struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		EndpointURL string `json:"endpoint_url"`
		Enabled     bool   `json:"enabled"`
		CreatedAt   string `json:"created_at"`
		UpdatedAt   string `json:"updated_at"`
	} `json:"attributes"`
	Relationships struct {
		Topics struct {
			Data []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"data"`
		} `json:"webhook-topics"`
	} `json:"relationships"`
}

// address is where w delivers. Klaviyo may shorten endpoint_url in its
// answers, so our webhooks carry the whole URL in their description too.
func (w Webhook) address() string {
	d := w.Attributes.Description
	if w.Attributes.Name == hookName && (strings.HasPrefix(d, "https://") || strings.HasPrefix(d, "http://")) {
		return d
	}
	return w.Attributes.EndpointURL
}

// subscriptions is w as one subscription per topic (a webhook may carry
// several; ours carry one).
func (w Webhook) subscriptions() []source.Subscription {
	base := source.Subscription{ID: w.ID, URL: w.address(), Active: w.Attributes.Enabled}
	if len(w.Relationships.Topics.Data) == 0 {
		return []source.Subscription{base}
	}
	out := make([]source.Subscription, 0, len(w.Relationships.Topics.Data))
	for _, t := range w.Relationships.Topics.Data {
		s := base
		s.Topic = t.ID
		out = append(out, s)
	}
	return out
}

// WebhookTopics: see the package variable.
func (c *Client) WebhookTopics() []string { return append([]string(nil), WebhookTopics...) }

// OfferedTopics lists the topic ids the account offers (GET
// /api/webhook-topics, every page up to source.MaxSubscriptions).
func (c *Client) OfferedTopics(ctx context.Context) ([]string, error) {
	var ids []string
	err := c.pages(ctx, "/api/webhook-topics", url.Values{}, func(data []Webhook) {
		for _, t := range data {
			ids = append(ids, t.ID)
		}
	})
	return ids, err
}

// Subscriptions lists the account's system webhooks with their topics
// (GET /api/webhooks?include=webhook-topics, every page).
func (c *Client) Subscriptions(ctx context.Context) ([]source.Subscription, error) {
	var out []source.Subscription
	err := c.pages(ctx, "/api/webhooks", url.Values{"include": {"webhook-topics"}}, func(data []Webhook) {
		for _, w := range data {
			out = append(out, w.subscriptions()...)
		}
	})
	return out, err
}

// pages reads a Webhooks API listing, following links.next, until
// source.MaxSubscriptions items.
func (c *Client) pages(ctx context.Context, path string, q url.Values, each func([]Webhook)) error {
	n := 0
	_, err := listing(ctx, c, path, q, true, source.MaxSubscriptions, func(data []Webhook) bool {
		each(data)
		n += len(data)
		return len(data) > 0 && n < source.MaxSubscriptions
	})
	return err
}

// Subscribe creates an enabled webhook of topic delivering to
// endpointURL, signed with the connection's webhook secret (secret_key,
// what VerifyWebhook checks deliveries with).
func (c *Client) Subscribe(ctx context.Context, topic, endpointURL string) (source.Subscription, error) {
	if c.cfg.WebhookSecret == "" {
		return source.Subscription{}, fmt.Errorf("%w: no webhook secret to sign deliveries with", ErrInvalidConfig)
	}
	body := map[string]any{"data": map[string]any{
		"type": "webhook",
		"attributes": map[string]any{"name": hookName, "description": endpointURL, "endpoint_url": endpointURL,
			"secret_key": c.cfg.WebhookSecret},
		"relationships": map[string]any{"webhook-topics": map[string]any{"data": []any{map[string]any{"type": "webhook-topic", "id": topic}}}},
	}}
	var out struct {
		Data Webhook `json:"data"`
	}
	if err := c.request(ctx, http.MethodPost, "/api/webhooks", nil, body, &out, true); err != nil {
		return source.Subscription{}, err
	}
	if out.Data.ID == "" {
		return source.Subscription{}, errors.New("klaviyo: creating a webhook returned no id")
	}
	return source.Subscription{ID: out.Data.ID, Topic: topic, URL: endpointURL, Active: out.Data.Attributes.Enabled}, nil
}

// Reactivate enables a disabled webhook (PATCH enabled=true).
func (c *Client) Reactivate(ctx context.Context, id string) error {
	body := map[string]any{"data": map[string]any{"type": "webhook", "id": id, "attributes": map[string]any{"enabled": true}}}
	return c.request(ctx, http.MethodPatch, "/api/webhooks/"+url.PathEscape(id), nil, body, nil, true)
}

// Unsubscribe deletes a webhook; one already gone is no error.
func (c *Client) Unsubscribe(ctx context.Context, id string) error {
	err := c.request(ctx, http.MethodDelete, "/api/webhooks/"+url.PathEscape(id), nil, nil, nil, true)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}

func rateOf(perSecond float64) rate.Limit { return rate.Limit(perSecond * paceMargin) }
