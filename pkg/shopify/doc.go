// Package shopify is the Shopify connector: a GraphQL Admin API client
// (cursor-paginated customers, incremental by updated_at, cost-based
// throttling, SMS-consent write-back, and optionally a Bulk Operations
// export for the install sync), webhook verification and parsing, and the
// mapping of customers and guest orders to source records. Its fake,
// shopifytest, serves the same GraphQL endpoint and bulk result downloads
// for tests and the sandbox.
//
// Two plans for the install (bulk) sync. The default is a chain of
// customers pages, bounded by the cost bucket (below). With Config.Bulk,
// PlanBulk runs BulkCustomersQuery with bulkOperationRunQuery — or reuses
// our export (same query document in currentBulkOperation) when it is
// CREATED or RUNNING, or COMPLETED less than Config.BulkReuseWithin (1 h)
// ago, as after a plan attempt whose deadline passed — polls node(id:) with growing waits (Config.BulkPollInterval, ×1.5, at
// most 30 s) until COMPLETED, and fans out byte ranges of the JSONL result
// of about Config.BulkLinesPerRange (1000) lines each, sized from fileSize
// / objectCount; Total is objectCount. A range cursor ("sb1.") holds the
// result URL and [start, end): a line belongs to the range its first byte
// is in, so the ranges list every customer exactly once whatever the line
// lengths; FetchPage reads from start-1 (a '\n' there means start begins a
// line) through end plus 64 KiB, asking for more only if the last line is
// longer. Each line maps through the same Customer.record as a page node,
// so both plans give identical records. The download takes no access
// token and no cost points; 429 (after Retry-After), 5xx, network errors
// and cut bodies are retried; 200 without Range support is read by
// skipping. FAILED/CANCELED/EXPIRED end the plan with a
// BulkOperationError (ACCESS_DENIED unwraps to ErrUnauthorized); Shopify
// refusing a second operation while someone else's runs is ErrBulkBusy
// (retry later). The signed result URL is a bearer credential: it is kept
// out of errors and logs (redactErr), though it travels in page messages.
// A range page is capped (64 MiB read, 50,000 customers, 1 MiB per line):
// a result whose fileSize is 0 or absent is planned as one range to the
// end of the file, and past a cap the page fails with the permanent
// ErrResultTooLarge rather than read the file into memory. Waits the shop
// asks for (Retry-After, the cost bucket's refill) are capped at 60 s.
//
// # Segments, scope and guests
//
// Every full plan (paged and bulk alike) lists the shop's segments
// (SegmentsQuery, 250 a page, at most 20 pages) and reads the members of
// those that become groups: all of them, or with a selection
// (source.Options.SelectedTags) those whose name is selected (exact
// match). A selected name that is no segment's is a tag. The selection is
// a union: the customers listing is filtered by the selected tags as
// before, and each selected segment's members are listed too; with only
// segments selected no customers listing is made (the members are the
// whole scope, and their contacts carry no tag groups: member records
// have no tags). A selected name that is both a segment's and a tag's is
// taken as the segment. A segment and a tag with the same name give one
// group.
// Each segment's members are a chain of their own in Fanout (cursor
// "sg1.": segment GID, the name resolved at plan time, Shopify's cursor),
// 250 a page: a page yields membership records (Customer.MembershipRecord:
// the member's identifiers, names and SMS consent, AddGroups [name],
// HasGroups false, UpdatedAt zero, Partial), like Klaviyo's member pages
// and for the same reasons (pkg/klaviyo/doc.go "Groups: lists and
// segments": the record lands on the right contact whichever page is
// applied first, and only fills empty fields). A full plan names the
// segments it lists in CompleteGroups, so a full run that ends without a
// failed page removes those groups from the contacts no member record put
// in them (leavers). Incremental plans read segments only when the
// selection names some (their members cannot be listed by date; they are
// read whole, and CompleteGroups stays empty); unscoped, segment changes
// come by webhook and at the next full sync.
//
// A customer node lists its tags, not its segments, and its record is a
// complete set (HasGroups) that would replace the segment groups the
// member records gave (pages run concurrently, and every incremental sync
// re-applies changed customers). So each customer record names the shop's
// segments in source.Record.KeepGroups (the names are cached by the
// client for 10 minutes) and the merge keeps those groups on the link.
//
// Caps (Config, with report warnings instead of unbounded work): at most
// MaxSegments (50) segments are read a run (more: a warning row,
// external id "segments", reason segments_over_cap); their members are
// counted at plan time (totalCount) and a segment that does not fit the
// run's MaxSegmentMembers budget (200,000) is not read and not in
// CompleteGroups, so its group is left as it is (warning
// "segment:<id>" segment_over_member_cap); a chain that grows past twice
// the budget stops (segment_members_capped). A warning is a record with
// Unreadable set: the report lists it as invalid with that reason.
//
// Guests on the full sync: a customer whose state is DISABLED (no account:
// the record Shopify keeps for a guest checkout) is a guest (Record.Guest:
// "<Label> - Guests", next to its tags), on the listings and on
// customers/* webhooks (state "disabled"). An unscoped full plan whose
// shop has orders (OrdersProbeQuery, first: 1) also lists past orders
// (GuestOrdersQuery, 250 a page, cursor "so1.") and maps those with
// customer null as orders/create does (guestRecord, external id
// "order:<id>": the webhook and the listing give the same record); it
// stops after MaxGuestOrders (25,000) orders with a warning
// (guest_orders_capped). Orders with a customer are skipped (the
// customers listing has them).
//
// Segment webhooks: customer.joined_segment and customer.left_segment
// (2026-07) carry only GIDs, so ParseWebhookWith asks a SegmentNamer
// (Client.SegmentName, SegmentNameQuery) for the segment's name; pkg/
// connectors answers it through the connection's hardened client within
// 10 s, and reuses a name for 5 minutes (a rename shows within that). A segment the selection leaves out, or one that is gone, gives no
// record; a failed lookup refuses the delivery (Shopify retries it). The
// record is a group delta (AddGroups or RemoveGroups [name], Partial), held
// like a tag delta when the customer is not linked yet.
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
//   - Selected tags (source.Options.SelectedTags) scope the listings: the
//     customers search gets "(tag:'a' OR tag:'b')" (AND the updated_at
//     filter of an incremental listing), the paged query through its query
//     variable and the bulk export as customers(query: "...") — so our
//     export is recognised by that query (reuse, resume). In a quoted
//     value \ and ' are escaped by a backslash; the tag search term is
//     enabled again in every API version (2024-07 had disabled it).
//     https://shopify.dev/docs/api/usage/search-syntax ,
//     https://shopify.dev/changelog/posts/re-enabled-customer-search-terms
//     Customers left out are never read, so they are not counted
//     (out_of_scope) and one that loses its last selected tag keeps its
//     Shopify source; webhooks (whose bodies carry no tags) are not scoped.
//   - Since 2025-01 customers/* webhook bodies carry no tags and no consent:
//     SMS consent comes on customers_marketing_consent/update, tag deltas on
//     customer.tags_added / customer.tags_removed (GID customerId).
//   - Webhooks: X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(client secret,
//     raw body)); after a secret rotation deliveries may be signed with the
//     old secret for an hour, so the previous secret is accepted for
//     SecretRotationWindow (1 h) after the rotation time the Hub API
//     records (webhookSecretRotatedAt), never after.
//   - The topic header is not signed, so each topic's body must have its
//     topic's shape (shape.go); a body re-sent under another topic is
//     ErrMalformed.
//     X-Shopify-Webhook-Id is unique per delivery (dedup key). Header names
//     may arrive lower-cased, and "events"-style deliveries use shopify-*
//     names. https://shopify.dev/docs/apps/build/webhooks
//   - A guest order has "customer": null and the contact in email /
//     contact_email / phone / billing_address; API-created orders may have
//     no contact at all (skipped).
//   - Ids exceed 2^53: they are decoded as json.Number / int64, never float64.
//   - Segments: segments(first:, after:, query:, sortKey:) is a cursor
//     connection of Segment {id, name, query, creationDate, lastEditDate}.
//     https://shopify.dev/docs/api/admin-graphql/2026-10/queries/segments ;
//     https://shopify.dev/docs/api/admin-graphql/2026-07/objects/Segment
//   - customerSegmentMembers(segmentId:, first:, after:) pages a segment's
//     members, at most 1,000 a page, with totalCount (and statistics);
//     a CustomerSegmentMember has id, firstName, lastName,
//     defaultEmailAddress, defaultPhoneNumber (CustomerPhoneNumber, with
//     the SMS marketing state), defaultAddress, but no tags, updatedAt or
//     state. https://shopify.dev/docs/api/admin-graphql/latest/connections/customersegmentmemberconnection ;
//     https://shopify.dev/docs/api/admin-graphql/2025-07/objects/CustomerSegmentMember
//     *Unconfirmed*: the per-query cost (we budget 2 + first, as for
//     customers, and the bucket follows Shopify's throttleStatus), and that
//     a member's GID ends with its customer's numeric id (we map the tail).
//   - Segment webhooks: the topics are customer.joined_segment and
//     customer.left_segment (dotted, like customer.tags_added; Flow calls
//     them "Customer joined segment"), both in the 2026-07 list we pin,
//     body {shop_id, customer_id, segment_id}, all GIDs, no segment name.
//     https://shopify.dev/docs/api/webhooks/2026-07 (the sample payload is
//     testdata/webhook-customer-joined-segment.docs-2026-07.json)
//   - CustomerState: DECLINED, DISABLED ("doesn't have an active account";
//     a merchant can also disable one), ENABLED, INVITED.
//     https://shopify.dev/docs/api/admin-graphql/2025-10/enums/CustomerState
//     *Unconfirmed*: that a guest checkout's customer record is DISABLED
//     (typical behaviour, platforms.md); a customer disabled by the
//     merchant is counted a guest too.
//   - Orders: only the last 60 days of orders are readable unless the app
//     has read_all_orders, so past guest checkouts are those of that
//     window by default. https://shopify.dev/docs/api/admin-graphql/2025-10/enums/Audience
//     (the Order object's note)
//   - Write-back: customerSmsMarketingConsentUpdate with marketingState
//     UNSUBSCRIBED. https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerSmsMarketingConsentUpdate
//   - Webhook subscriptions (subscriptions.go, source.Subscriber):
//     webhookSubscriptionCreate(topic:, webhookSubscription: {uri, format})
//     → {webhookSubscription {id topic uri}, userErrors}, with the unified
//     uri (callbackUrl is deprecated from 2024-10);
//     webhookSubscriptionDelete(id:) → {deletedWebhookSubscriptionId,
//     userErrors}; webhookSubscriptions(first:, after:) nodes {id topic
//     uri}. WebhookTopics are the WebhookSubscriptionTopic values of the
//     topics ParseWebhook takes plus APP_UNINSTALLED; the mandatory privacy
//     topics are app configuration, not API subscriptions. Subscriptions
//     made through the API are per shop, and Shopify removes one whose
//     deliveries keep failing (8 retries over 4 h; the removal is seen only
//     second-hand), so pkg/hooks checks them daily.
//     https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate ;
//     https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces ;
//     https://shopify.dev/changelog/updates-to-webhook-retry-mechanism
//   - app/uninstalled: the body is the shop (REST Shop resource: id, name,
//     myshopify_domain...); the token is unusable at once and the app's
//     subscriptions are deleted. Every shop's deliveries are signed with
//     the one app secret, so the connector accepts it only when the signed
//     myshopify_domain is the connection's shop.
//     https://shopify.dev/docs/apps/build/authentication-authorization/app-installation/uninstall-app-api-request
//   - Bulk export: bulkOperationRunQuery(query:) runs a query
//     asynchronously over a whole connection (no first/after); poll
//     currentBulkOperation or node(id:) (or subscribe to
//     bulk_operations/finish) until status COMPLETED, then download the
//     JSONL file at url. Nested connections come as separate lines with
//     __parentId; the customers query has none, so a line is a customer.
//     From API 2026-01 an app runs up to five bulk queries per shop at
//     once (before: one query and one mutation); an operation must finish
//     within 10 days; bulk queries do not spend the cost bucket.
//     https://shopify.dev/docs/api/usage/bulk-operations/queries ;
//     https://shopify.dev/changelog (faster bulk operations, 2025-12-15)
//   - BulkOperation fields: id, status, errorCode, type, query (the
//     document as submitted), createdAt, completedAt, objectCount,
//     rootObjectCount, fileSize, url, partialDataUrl; url and
//     partialDataUrl expire seven days after the operation ends (a range
//     fetched later fails with a permanent *httpx.Error: replan). objectCount,
//     rootObjectCount and fileSize are UnsignedInt64, sent as strings of
//     digits ("50"). https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation ;
//     https://shopify.dev/docs/api/admin-graphql/latest/scalars/UnsignedInt64
//   - BulkOperationStatus: CREATED, RUNNING, COMPLETED, CANCELING,
//     CANCELED, FAILED, EXPIRED. BulkOperationErrorCode (FAILED):
//     ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT.
//     BulkOperationUserErrorCode (userErrors of the mutation): INVALID,
//     LIMIT_REACHED, OPERATION_IN_PROGRESS.
//     https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationUserErrorCode ;
//     https://shopify.dev/docs/api/admin-graphql/2026-07/enums/BulkOperationErrorCode
//   - 2026-01 added bulkOperations(query: "status:running ...") and
//     bulkOperation(id:); currentBulkOperation shows only the app's most
//     recent operation, so with several running at once a reuse check can
//     miss ours (a duplicate export, not a wrong result). node(id:) works
//     in every version. https://shopify.dev/changelog/new-queries-for-bulk-operations
//   - *Unconfirmed*, handled either way: that an empty result has url null
//     and objectCount "0" (empty plan; fileSize null alone gives a single
//     range to the end of the file); that the result host honours Range
//     (the URL is a signed cloud-storage link; a 200 with the whole file
//     is read by skipping); the exact "already in progress" message text
//     (the code is checked first); that query comes back verbatim (it is
//     compared ignoring whitespace).
//
// For the README: Shopify syncs customers (names, email, the SMS consent
// phone and the default address phone with its country, tags and
// segments as groups, SMS consent with its timestamp) and guest checkouts
// (customers without an account, and past orders without a customer on a
// full sync); it needs the customers/create, customers/update,
// customers/delete, customers_marketing_consent/update,
// customer.tags_added, customer.tags_removed, customer.joined_segment,
// customer.left_segment, orders/create, orders/updated and app/uninstalled
// webhooks (registered by contactsync itself), plus the mandatory privacy
// topics, and the read_customers and read_orders scopes. The chained bulk pull is bounded by the cost bucket: at
// 100 points/s and 252 points per page of 250, about 99 customers/s on a
// Standard plan. With Config.Bulk the install sync uses a Bulk Operations
// export instead: no cost bucket, ranges of the result fetched in
// parallel (BenchmarkBulkOperation: about 10^5 customers/s against the
// fake, export time excluded — on Shopify the export itself sets the pace).
//
// Setup calls (check.go, options.go): the credential check is one
// `query ContactsyncCheck { shop { name } }` without retry (401/403, 402,
// 404 and GraphQL errors are rejections with Shopify's words; 429, 5xx and
// transport failures platform errors); the install options are
// Shop.customerTags(first: 250) (a first-n listing, truncated beyond) and
// segments(first: 250, after:) pages up to source.MaxOptions, no counts.
// # Field mapping (fields.go)
//
// Fields lists firstName, lastName, email, phone, the default address
// fields (defaultAddress.city...) and the customer metafield definitions
// (metafieldDefinitions(ownerType: CUSTOMER), keyed
// "metafield:<namespace>.<key>"; number_integer and number_decimal are
// number, date and date_time date, the rest text). The page query and the
// bulk export select only the metafields the connection's field map names
// (aliased mf0..mf19, at most MaxMappedMetafields, by key order); with k
// of them a page asks for PageSize/(1+k) customers so its cost stays in
// budget. Records carry the mapped values by key; webhook bodies (REST)
// carry the default address but no metafields.
package shopify
