package shopify

import (
	"context"
	"fmt"

	"github.com/contactsync/contactsync/pkg/source"
)

// WebhookTopics are the WebhookSubscriptionTopic values of every topic
// ParseWebhook handles, plus APP_UNINSTALLED (which marks the connection
// disconnected). The mandatory privacy topics (customers/data_request,
// customers/redact, shop/redact) are app configuration, not API
// subscriptions.
var WebhookTopics = []string{
	"CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE", "CUSTOMERS_ENABLE", "CUSTOMERS_DISABLE",
	"CUSTOMERS_MARKETING_CONSENT_UPDATE", "CUSTOMER_TAGS_ADDED", "CUSTOMER_TAGS_REMOVED",
	"CUSTOMER_JOINED_SEGMENT", "CUSTOMER_LEFT_SEGMENT", "ORDERS_CREATE", "ORDERS_UPDATED", "APP_UNINSTALLED",
}

// subscriptionsPage is how many subscriptions a listing page asks for.
const subscriptionsPage = 100

// SubscriptionsQuery lists the shop's webhook subscriptions of this app.
const SubscriptionsQuery = `query ContactsyncWebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}`

// SubscribeMutation creates one webhook subscription (JSON, HTTPS uri).
const SubscribeMutation = `mutation ContactsyncWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}`

// UnsubscribeMutation deletes one webhook subscription.
const UnsubscribeMutation = `mutation ContactsyncWebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}`

var _ source.Subscriber = (*Client)(nil)

// WebhookTopics: see the package variable.
func (c *Client) WebhookTopics() []string { return append([]string(nil), WebhookTopics...) }

type userErrors []struct {
	Message string `json:"message"`
}

func (u userErrors) err() error {
	if len(u) == 0 {
		return nil
	}
	return &GraphQLError{Message: excerpt(u[0].Message), Code: "USER_ERROR"}
}

// Subscriptions lists the shop's subscriptions (every page, up to
// source.MaxSubscriptions).
func (c *Client) Subscriptions(ctx context.Context) ([]source.Subscription, error) {
	var out []source.Subscription
	after := ""
	for len(out) < source.MaxSubscriptions {
		vars := map[string]any{"first": subscriptionsPage}
		if after != "" {
			vars["after"] = after
		}
		var page struct {
			Subs struct {
				Nodes []struct {
					ID    string `json:"id"`
					Topic string `json:"topic"`
					URI   string `json:"uri"`
				} `json:"nodes"`
				PageInfo pageInfo `json:"pageInfo"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.query(ctx, 2+subscriptionsPage, SubscriptionsQuery, vars, &page); err != nil {
			return nil, err
		}
		for _, n := range page.Subs.Nodes {
			out = append(out, source.Subscription{ID: n.ID, Topic: n.Topic, URL: n.URI, Active: true})
		}
		if !page.Subs.PageInfo.HasNextPage || page.Subs.PageInfo.EndCursor == "" {
			break
		}
		after = page.Subs.PageInfo.EndCursor
	}
	return out, nil
}

// Subscribe creates a JSON subscription of topic delivering to url.
func (c *Client) Subscribe(ctx context.Context, topic, url string) (source.Subscription, error) {
	vars := map[string]any{"topic": topic, "webhookSubscription": map[string]any{"uri": url, "format": "JSON"}}
	var out struct {
		Create struct {
			Sub *struct {
				ID    string `json:"id"`
				Topic string `json:"topic"`
				URI   string `json:"uri"`
			} `json:"webhookSubscription"`
			UserErrors userErrors `json:"userErrors"`
		} `json:"webhookSubscriptionCreate"`
	}
	if err := c.query(ctx, 10, SubscribeMutation, vars, &out); err != nil {
		return source.Subscription{}, err
	}
	if err := out.Create.UserErrors.err(); err != nil {
		return source.Subscription{}, err
	}
	if out.Create.Sub == nil || out.Create.Sub.ID == "" {
		return source.Subscription{}, fmt.Errorf("%w: webhookSubscriptionCreate returned no subscription", ErrMalformedResult)
	}
	return source.Subscription{ID: out.Create.Sub.ID, Topic: out.Create.Sub.Topic, URL: out.Create.Sub.URI, Active: true}, nil
}

// Reactivate: a Shopify subscription that exists delivers (Shopify
// deletes the ones that keep failing), so there is nothing to do.
func (c *Client) Reactivate(context.Context, string) error { return nil }

// Unsubscribe deletes a subscription; one the shop no longer has is no
// error.
func (c *Client) Unsubscribe(ctx context.Context, id string) error {
	var out struct {
		Delete struct {
			ID         *string    `json:"deletedWebhookSubscriptionId"`
			UserErrors userErrors `json:"userErrors"`
		} `json:"webhookSubscriptionDelete"`
	}
	if err := c.query(ctx, 10, UnsubscribeMutation, map[string]any{"id": id}, &out); err != nil {
		return err
	}
	// A user error here is "Webhook subscription does not exist": it is
	// already gone, which is what was asked.
	return nil
}
