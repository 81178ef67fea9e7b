// Package shopify is the Shopify connector: a GraphQL Admin API client
// (cursor-paginated customers, incremental by updated_at, cost-based
// throttling, SMS-consent write-back), webhook verification and parsing,
// and the mapping of customers and guest orders to source records. Its
// fake, shopifytest, serves the same GraphQL endpoint for tests and the
// sandbox.
//
// Facts relied on (../../../shared/platforms.md §1):
//
//   - REST is legacy since 2024-10; new public apps use GraphQL only:
//     POST https://{shop}/admin/api/{version}/graphql.json with
//     X-Shopify-Access-Token. customers(first: ≤250, after:, query:) is a
//     cursor connection (pageInfo{hasNextPage endCursor}); incremental with
//     query "updated_at:>'<RFC 3339>'". https://shopify.dev/docs/api/usage/pagination-graphql
//   - Cost-based limits: a leaky bucket per app and shop; restore rate 100
//     points/s on Standard (200 Advanced, 1000 Plus), 2000 points maximum.
//     Each response carries extensions.cost{requestedQueryCost,
//     actualQueryCost, throttleStatus{maximumAvailable, currentlyAvailable,
//     restoreRate}}; a throttled request answers HTTP 200 with an error whose
//     extensions.code is THROTTLED. The client keeps a model of the bucket,
//     shared by all goroutines using it, and waits before spending points it
//     does not have. https://shopify.dev/docs/api/usage/limits
//   - Customer fields: id (GID), firstName, lastName, updatedAt, tags,
//     defaultEmailAddress{emailAddress}, defaultPhoneNumber{phoneNumber,
//     marketingState, marketingOptInLevel, marketingUpdatedAt} (SMS consent,
//     2025-04+), defaultAddress{phone, countryCodeV2}.
//     CustomerSmsMarketingState: SUBSCRIBED, UNSUBSCRIBED, NOT_SUBSCRIBED,
//     PENDING, REDACTED (INVALID in some versions); only the first two are
//     explicit here, the rest are "never asked".
//   - Since 2025-01 customers/* webhook bodies carry no tags and no consent:
//     SMS consent comes on customers_marketing_consent/update, tag deltas on
//     customer.tags_added / customer.tags_removed (GID customerId).
//   - Webhooks: X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(client secret,
//     raw body)); after a secret rotation deliveries may be signed with the
//     old secret for an hour, so several secrets are accepted.
//     X-Shopify-Webhook-Id is unique per delivery (dedup key). Header names
//     may arrive lower-cased, and "events"-style deliveries use shopify-*
//     names. https://shopify.dev/docs/apps/build/webhooks
//   - A guest order has "customer": null and the contact in email /
//     contact_email / phone / billing_address; API-created orders may have
//     no contact at all (skipped).
//   - Ids exceed 2^53: they are decoded as json.Number / int64, never float64.
//   - Write-back: customerSmsMarketingConsentUpdate with marketingState
//     UNSUBSCRIBED. https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerSmsMarketingConsentUpdate
//
// For the README: Shopify syncs customers (names, email, the SMS consent
// phone and the default address phone with its country, tags as groups,
// SMS consent with its timestamp) and guest checkouts; it needs the
// customers/create, customers/update, customers/delete,
// customers_marketing_consent/update, customer.tags_added,
// customer.tags_removed and orders/create webhooks, plus the mandatory
// privacy topics. The bulk pull is bounded by the cost bucket: at 100
// points/s and 252 points per page of 250, about 99 customers/s on a
// Standard plan. Bulk Operations (JSONL export) are not used yet.
package shopify
