// Package webhook is the webhook Lambda's handler: POST
// /webhooks/{platform}/{connectionId} from Shopify, WooCommerce, Mailchimp
// and Klaviyo. It finds the connection, verifies the platform's signature
// over the raw body, deduplicates by delivery id, merges and writes every
// record at once, and answers fast (Shopify allows 5 s). A record that
// shows an opted-out number subscribed, on a connection with
// writeBackOptOuts, has the opt-out's write-back queued at once.
//
// A connector that is a source.Uninstaller (Shopify) reports
// app/uninstalled of the connection's own shop: the connection is marked
// disconnected (data kept, out of the scheduler, "sync now" refused),
// whatever its state, and a disconnected connection's later deliveries are
// acknowledged without effect (connection_disconnected), as a draft's are.
//
// # Requests per delivery
//
// A delivery of one customer costs at most 4 DynamoDB requests on a warm
// container (TestWebhook_RequestsPerDelivery counts them on the real
// client): one BatchGetItem for the delivery's idempotency key with the
// record's link, phone item, suppression entry and email claim; one for
// the contacts they name (not for a new customer or an unchanged record);
// the decision's conditional write; one BatchWriteItem for the link and
// the completed key (a new customer's first link is a conditional put of
// its own; an older version, which changes nothing, has no decision to
// write: 3). A redelivery costs the first read alone, a re-fired
// identical payload that read and the key's write. A decision that loses
// a race (two versions of a customer, or two copies of one delivery, in
// flight at once) reads again, consistently, with the key: a copy whose
// twin completed the delivery stops there as a duplicate.
//
// Connections are kept per warm container for Deps.ConnectionTTL
// (DefaultConnectionTTL, 30 s), at most 1,024, by tenant and connection
// id, with their opened config. Only active connections are kept: a
// draft's activation, an enable or a reconnect counts at the next
// delivery. What the TTL allows: for up to 30 s after a connection is
// disabled, deleted or changed (field map, tags, consent mode,
// writeBackOptOuts), a container that read it before may still apply a
// delivery with what it read; a delivery signed with a rotated-out secret
// may still verify for that long. A delivery signed with a new secret
// that the kept config refuses makes the handler read the connection
// again, once, before it answers 401; app/uninstalled drops the entry at
// once.
//
// # Duplicates
//
// The delivery id's idempotency key is folded into the store's apply
// (store.Delivery, pkg/store/apply_delivery.go): read with the record's
// first reads, written completed with its last writes. A completed key
// answers "duplicate" and changes nothing. Two copies of one delivery in
// flight at once both apply: the store writes each decision on the
// conditions of what it read, so one commits and the other merges again
// on the committed state, where the record changes nothing and makes no
// text due; write-backs are queued under the record's reference. Texts
// and write-backs are therefore sent at most once, as with a claim, and a
// delivery whose invocation crashed before its last write is applied
// again by the platform's retry (no claim to wait out). Privacy webhooks
// (Shopify's redact and data_request topics) still claim their key first
// (store.ClaimIdempotency) and answer 409 while a copy is in flight.
//
// Answers: 200 for a processed, duplicate or ping delivery; 401 for a bad
// signature (or a signed timestamp outside its replay window:
// source.Delivery.At is the receipt time, from Deps.Now); any other method
// than POST gets the same answer for every webhook URL, connection or not
// (GET and HEAD 200, others 405); 404 for an unknown connection or a
// platform that does not match it; 400 for a malformed body or an
// unsupported topic; 413 over MaxBody; 409 with Retry-After while the same
// delivery's key is claimed in progress (a privacy webhook's, or one
// claimed before this version). Internal errors answer 500 so the platform
// retries; nothing internal is echoed.
package webhook
