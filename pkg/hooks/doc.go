// Package hooks registers and looks after the webhook subscriptions a
// connection needs on its platform, so live sync works without anyone
// copying our URL and secret into the platform's admin.
//
// On activation (and on a create with pasted keys, which activates at
// once) and on re-enabling, Keeper.Register subscribes to every topic the
// connector handles (source.Subscriber.WebhookTopics: Shopify
// webhookSubscriptionCreate, WooCommerce POST /wp-json/wc/v3/webhooks with
// the connection's secret, Klaviyo POST /api/webhooks likewise, Mailchimp one list webhook of the audience,
// topic "list", with its secret token added to the URL by the client) at
// the connection's webhook URL (/webhooks/{platform}/{connectionId}).
// Mailchimp's client lists its webhooks by that URL without the token, and
// reports one that is not exactly ours (another token, events or sources)
// inactive, so re-activating it PATCHes ours back onto it: the Subscriber
// contract needs nothing more for one webhook holding every event. It lists first and creates only
// what is missing, so a retried activation creates no duplicate. The ids
// are kept by topic in the connection's webhook state (store.WebhookState,
// its own item). A platform's refusal is recorded on the state as
// `failing` with the reason; it never fails the install sync. A
// registration ends StateReserve before its caller's deadline (the api
// request's), so one the platform holds too long is stored as `failing`
// ("the platform did not answer in time") and retried within the hour.
//
// On delete and on disable, Keeper.Remove deletes every subscription at
// the connection's URL.
//
// Platforms drop failing subscriptions (Shopify deletes an API-created one
// after its retries run out; WooCommerce disables a hook after 5
// consecutive failed deliveries; Mailchimp may drop or disable one). The scheduler's tick calls
// Keeper.CheckDue: for at most MaxChecksPerTick connections whose check
// is due (CheckEvery after the last; an hour after a failing one), it
// lists the subscriptions and re-creates missing ones and re-activates
// disabled ones. The outcome is `ok`, `repaired` (something had to be
// re-created or re-activated) or `failing` (with the reason), with the
// time of the check, shown by the Hub API as the connection's `webhooks`.
// Turning `failing` emits connection.webhooks_failing once (not again
// while it stays failing).
//
// Klaviyo (system webhooks, POST /api/webhooks with the connection's
// secret as secret_key, one webhook per topic) implements
// source.TopicOfferer as well: its topics depend on the account, so only
// the WebhookTopics it offers (GET /api/webhook-topics) are subscribed to.
// Its Webhooks API is only for Advanced KDP customers and app partners;
// the 403 it gives other accounts is a source.WebhooksUnavailableError,
// which the keeper stores as `unavailable` with the reason (offering none
// of our topics is the same): not a failure, nobody is notified, checked
// again after CheckEvery, and removal finds nothing to remove. Live changes
// of such a connection arrive with its daily sync.
package hooks
