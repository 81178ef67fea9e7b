// Package woocommerce is the WooCommerce connector: REST API v3 client
// (bulk and incremental listing, write-back), webhook verification and
// parsing, and the mapping of customers and guest orders to source records.
// Its fake, woocommercetest, serves the same API for tests and the sandbox,
// webhooks included, and delivers its own signed webhooks when a test
// changes a customer through it.
//
// Facts relied on (see ../../../shared/platforms.md §2 for the full table):
//
//   - Customers: GET {store}/wp-json/wc/v3/customers?page=N&per_page=100
//     (WordPress caps per_page at 100), role=all to include every role,
//     orderby=id&order=asc for a stable order; totals in X-WP-Total and
//     X-WP-TotalPages. https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-customers
//   - Guests exist only as orders with customer_id 0 and the buyer in
//     billing{...}: GET /orders?page=N&per_page=100.
//     https://woocommerce.github.io/woocommerce-rest-api-docs/#orders
//   - Incremental: modified_after=<ISO 8601> on both lists.
//   - Auth: HTTP Basic with consumer key and secret over https; over plain
//     http the keys go in the query string (consumer_key, consumer_secret),
//     which is what local fakes use.
//     https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication
//   - Core WooCommerce has no rate limit; hosts and WAFs answer 429/503. The
//     client paces with a token bucket (Config.MaxRPS), halves its rate on a
//     429 and recovers slowly, and honours Retry-After (capped at 60 s).
//   - No core SMS-consent field: consent comes from a configurable customer
//     meta key (Config.SMSConsentMetaKey); without one every customer is
//     "never asked" and the connection's consent mode decides.
//   - Webhooks: X-WC-Webhook-Signature = base64(HMAC-SHA256(secret, exact
//     body)); X-WC-Webhook-Delivery-ID is new for every delivery, and WooCommerce
//     can fire several identical deliveries per save (woocommerce#13760), so
//     the merge core also compares content hashes. A new webhook sends a
//     ping: the form body webhook_id=<id> with no signature or topic headers,
//     which must be answered 200. WooCommerce never retries a delivery, so
//     the daily run reconciles what webhooks missed.
//     WC-core class-wc-webhook.php deliver(), deliver_ping(), generate_signature().
//   - *.deleted deliveries carry only {"id": N}.
//   - Webhooks API (subscriptions.go, source.Subscriber): POST
//     /wp-json/wc/v3/webhooks {name, topic, delivery_url, secret, status}
//     (the secret is write-only), GET ?status=all&per_page=&page= (paged
//     like every listing), PUT /webhooks/{id} {status: "active"} re-enables
//     one, DELETE /webhooks/{id}?force=true (without force: 501
//     woocommerce_rest_trash_not_supported). Creating needs a key with write
//     permission. After 5 consecutive failed deliveries (non-2xx; 301/302
//     count as success) WooCommerce sets a webhook "disabled" until it is
//     edited, so pkg/hooks checks them daily. We subscribe to
//     customer.created, customer.updated, customer.deleted and
//     order.created. https://github.com/woocommerce/woocommerce-rest-api-docs
//     (source/includes/wp-api-v3/_webhooks.md)
//   - Groups (groups.go): core WooCommerce has no customer tags or
//     segments. A customer's groups are its role (the REST "role" slug)
//     when it is not the default "customer" — wholesale and membership
//     plugins add roles — and the names in the connection's groups meta
//     key (Config.GroupsMetaKey, config "groupsMetaKey"), read in the
//     shapes tagging plugins leave in meta_data[].value: a comma-separated
//     string, a JSON array or object (PHP arrays with gaps in their keys),
//     terms with a name, or a PHP-serialized list kept as a string; a
//     value over 16 KiB is not read. Records carry the complete set
//     (HasGroups), webhooks as well as pages.
//   - Credential check (check.go): one GET /customers?per_page=1&role=all,
//     no retry: 401/403 and 404 (no WooCommerce REST API at the URL) are
//     rejections with the store's code and message, 429/5xx and transport
//     failures are platform errors.
//   - Install options (options.go): WooCommerce has no endpoint listing
//     roles or meta keys, so they are those seen in the newest
//     OptionSamplePages pages of customers, counted in that sample.
//   - X-WC-Webhook-Topic is not signed, so each topic's body must have its
//     topic's shape (shape.go): a signed body re-sent under another topic
//     (a customer as customer.deleted, an order as customer.updated) is
//     ErrMalformed. WooCommerce signs no timestamp, so there is no replay
//     window; duplicates are caught by delivery id and content hash.
//
// The plan of a bulk listing is every page of customers and of orders, known
// from one probe of each (per_page=1 reads the totals), so all pages fan out
// at once.
//
// # Field mapping (fields.go)
//
// Fields lists the customer fields (first_name, email, role...),
// billing.<field> and shipping.<field>, and the meta keys of the
// MetaSampleSize most recent customers (the REST API lists no meta schema),
// typed from the sampled values. Customer and guest records carry the
// mapped values by key (a meta key named like a customer field is not
// read: the field wins).
package woocommerce
