// Package httpx runs requests to a platform's or provider's HTTP API: the
// one retry loop of the clients (Shopify, WooCommerce, Twilio, Sinch,
// MessageMedia; Mailchimp and Klaviyo are to move onto it), and their one
// error type.
//
// A Client wraps an *http.Client (hardened by pkg/safehttp where the host
// is tenant-given). Client.Do makes up to Attempts attempts of a Request:
//   - it repeats a transport failure, a 429 and a 5xx, after a jittered
//     exponential backoff (BaseDelay doubling up to MaxDelay, the upper
//     half of it drawn at random) or the answer's Retry-After (seconds or
//     an HTTP date) if longer; a Retry-After is capped at MaxWait
//     (safehttp.MaxRetryAfter, 60 s, unless lowered);
//   - it sleeps through Sleep, which ends with the context (tests inject
//     their own and wait for nothing), and gives up at once when the
//     context's deadline comes before the end of the wait;
//   - it reads at most MaxBody bytes of an answer; a longer one is an
//     Error wrapping safehttp.ErrBodyTooLarge, not repeated;
//   - Request.Once keeps a request that must not be accepted twice (an SMS
//     send) at most once: it is repeated only when the platform provably
//     did not take it — the connection failed before the request was
//     written, or the answer was 429 or 503 — and a request that was
//     written and got no answer, or another 5xx, is ErrUnknownOutcome.
//
// Every failure that is the platform's answer (or its silence) is an
// *Error: the platform, the status, the code and reason the caller's
// Request.Decode read from the body, and Permanent(). Its Error() holds
// the platform, the status, the sanitised code (safehttp.Code) and our own
// words only — never the body or the platform's message, which may echo
// what the request carried and reaches API callers through sync and
// outbox errors; Reason is for logs.
package httpx
