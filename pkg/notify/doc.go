// Package notify is what contactsync tells the hub: signed events POSTed to
// the URL a tenant registered (PUT /v1/notifications/endpoint), following
// Standard Webhooks 1.0.0 (../shared/platforms-setup.md §6).
//
// # Events
//
// Each event is one JSON body {"type", "timestamp", "data"} of a type
// below. Its id (webhook-id, "msg_" + the event time in milliseconds + 16
// hex) is fixed when the event is made and is the same on every attempt,
// so a receiver dedupes on it; the same event made twice (a retried page
// finishing the same run, a STOP reply processed again) gets the same id
// when the caller gives a key (Event.Key), and is stored and sent once.
//
//   - connection.activated: a connection's install sync started (until
//     activation of draft connections exists, this is the install run).
//   - sync.completed, sync.failed: a run ended, with its counts (the same
//     names as GET /v1/syncs) and, for a failure, the reason.
//   - connection.needs_reauthorization, connection.webhooks_failing: made by
//     the OAuth and webhook-repair work through Emit (defined here).
//   - contact.unsubscribed: a STOP reply or a hub unsubscribe took the
//     number out of the audience: the contact id and the E.164 number (the
//     hub's own data; never logged unmasked), so a hub can stop a campaign
//     at once.
//
// # Signature
//
// webhook-id, webhook-timestamp (Unix seconds of this attempt) and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>", keyed
// with the tenant's secret: 32 random bytes shown once as "whsec_<base64>"
// and kept sealed (pkg/seal). Sign is checked against the official
// library's published vector (sign_test.go).
//
// # Delivery
//
// The outbox carries deliveries (pkg/outbox, message kind "notify",
// messages.NotifyMessage): the event's log item and its outbox marker are
// written in one transaction (with the decision that made the event, where
// there is one: a STOP's ledger write; Notifier does it for events of
// their own), then the message is queued; a lost enqueue is found by
// the outbox sweeper. Post makes one attempt through a safehttp client
// (public addresses only, https, no redirects, a 15 s timeout, at most
// 64 KiB of the answer read). A 2xx delivers; a 429, a 5xx, a 408, a
// time-out or a network error is retried after Backoff(attempt) (1 min,
// 5 min, 30 min, 1 h, 2 h, 6 h, 14 h: 8 attempts over about a day, a
// longer Retry-After honoured up to 6 h); anything else (a 3xx, another
// 4xx, 410) fails at once. The scheduler's tick brings retries back (the
// outbox sweeper), so a retry waits for the first tick after its time.
package notify
