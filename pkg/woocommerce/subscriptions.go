package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/source"
)

// WebhookTopics are the topics the connector handles.
var WebhookTopics = []string{"customer.created", "customer.updated", "customer.deleted", "order.created"}

// hookName names the webhooks we create (the store's admin shows it).
const hookName = "contactsync"

// Webhook is a webhook as /wp-json/wc/v3/webhooks answers it.
type Webhook struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"` // active, paused or disabled
	Topic       string `json:"topic"`
	Resource    string `json:"resource"`
	Event       string `json:"event"`
	Hooks       []any  `json:"hooks"`
	DeliveryURL string `json:"delivery_url"`
	DateCreated string `json:"date_created_gmt"`
}

var _ source.Subscriber = (*Client)(nil)

// WebhookTopics: see the package variable.
func (c *Client) WebhookTopics() []string { return append([]string(nil), WebhookTopics...) }

func (w Webhook) subscription() source.Subscription {
	return source.Subscription{ID: strconv.FormatInt(w.ID, 10), Topic: w.Topic, URL: w.DeliveryURL, Active: w.Status == "active"}
}

// Subscriptions lists every webhook of the store (status=all, 100 a
// page, up to source.MaxSubscriptions).
func (c *Client) Subscriptions(ctx context.Context) ([]source.Subscription, error) {
	var out []source.Subscription
	for page := 1; len(out) < source.MaxSubscriptions; page++ {
		var hooks []Webhook
		h, err := c.get(ctx, "/webhooks", url.Values{"status": {"all"}, "per_page": {"100"}, "page": {strconv.Itoa(page)}}, &hooks)
		if err != nil {
			return nil, err
		}
		for _, w := range hooks {
			out = append(out, w.subscription())
		}
		pages, _ := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if len(hooks) == 0 || page >= pages {
			break
		}
	}
	return out, nil
}

// Subscribe creates an active webhook of topic delivering to url, signed
// with the connection's webhook secret.
func (c *Client) Subscribe(ctx context.Context, topic, deliveryURL string) (source.Subscription, error) {
	if c.cfg.WebhookSecret == "" {
		return source.Subscription{}, fmt.Errorf("%w: no webhook secret to sign deliveries with", ErrInvalidConfig)
	}
	var w Webhook
	body := map[string]string{"name": hookName, "topic": topic, "delivery_url": deliveryURL, "secret": c.cfg.WebhookSecret, "status": "active"}
	if _, err := c.do(ctx, "POST", "/webhooks", nil, body, &w); err != nil {
		return source.Subscription{}, err
	}
	if w.ID <= 0 {
		return source.Subscription{}, fmt.Errorf("woocommerce: creating a webhook returned no id")
	}
	return w.subscription(), nil
}

// Reactivate sets a paused or disabled webhook active again.
func (c *Client) Reactivate(ctx context.Context, id string) error {
	_, err := c.do(ctx, "PUT", "/webhooks/"+url.PathEscape(id), nil, map[string]string{"status": "active"}, nil)
	return err
}

// Unsubscribe deletes a webhook (force=true: webhooks cannot be trashed);
// one already gone is no error.
func (c *Client) Unsubscribe(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/webhooks/"+url.PathEscape(id), url.Values{"force": {"true"}}, nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
