package source

import "context"

// Subscription is one webhook subscription a platform holds: its id on
// the platform, the topic as the platform names it, the address it
// delivers to, and whether it still delivers (WooCommerce pauses and
// disables hooks; a Shopify subscription that exists is active; a
// Mailchimp list webhook is active when its token, events and sources are
// ours).
type Subscription struct {
	ID     string
	Topic  string
	URL    string
	Active bool
}

// Subscriber is a connector that registers the webhooks it handles on its
// platform (Shopify webhookSubscriptionCreate, WooCommerce
// /wp-json/wc/v3/webhooks, Mailchimp /lists/{id}/webhooks: one webhook,
// topic "list", with every event; Klaviyo webhooks plug in the same way). pkg/hooks keeps a connection's subscriptions with
// it: it lists, then creates what is missing and re-activates what the
// platform disabled, so a retried registration creates no duplicate.
type Subscriber interface {
	// WebhookTopics are the topics to subscribe to, as the platform names
	// them in Subscription.Topic.
	WebhookTopics() []string
	// Subscriptions lists every subscription of the credentials (every
	// page, bounded by MaxSubscriptions); the caller picks its own by URL.
	Subscriptions(ctx context.Context) ([]Subscription, error)
	// Subscribe creates a subscription of topic delivering to url (signed
	// with the connection's webhook secret where the platform takes one).
	Subscribe(ctx context.Context, topic, url string) (Subscription, error)
	// Reactivate makes an inactive subscription deliver again.
	Reactivate(ctx context.Context, id string) error
	// Unsubscribe deletes a subscription; one already gone is no error.
	Unsubscribe(ctx context.Context, id string) error
}

// MaxSubscriptions bounds a subscription listing (a store or shop with
// more hooks than this is answered from the first ones).
const MaxSubscriptions = 1000

// WebhooksUnavailableError is a Subscriber's refusal that means the
// platform does not let this account use webhooks at all (Klaviyo's
// Webhooks API answers 403 to accounts without Advanced KDP that are not
// app partners), as opposed to a failure to be repaired: pkg/hooks shows
// it as `unavailable` with Reason (safe to show), notifies nobody, and
// the daily sync carries live changes.
type WebhooksUnavailableError struct {
	Reason string
}

func (e *WebhooksUnavailableError) Error() string { return "webhooks unavailable: " + e.Reason }

// TopicOfferer is a Subscriber whose platform offers topics per account
// (Klaviyo's webhook topics depend on the metrics an account has):
// pkg/hooks subscribes only to the WebhookTopics the account offers.
type TopicOfferer interface {
	OfferedTopics(ctx context.Context) ([]string, error)
}
