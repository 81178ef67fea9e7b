// Package httpx runs requests to a platform's or provider's HTTP API: the
// one retry loop of the clients (Shopify, WooCommerce, Mailchimp,
// Klaviyo, Twilio, Sinch, MessageMedia), and their one error type.
//
// Client.Do repeats a transport failure, a 429 and a 5xx after a jittered
// exponential backoff, or the answer's Retry-After (seconds or an HTTP
// date, capped at MaxWait: safehttp.MaxRetryAfter, 60 s) if longer. Its
// waits end with the context, never pass its deadline, and go through an
// injectable Sleep, so tests wait for nothing. An answer over MaxBody is
// not read (safehttp.ErrBodyTooLarge) nor asked for again. Request.Once
// keeps a request that must not be accepted twice (an SMS send) at most
// once: repeated only when the platform provably did not take it (the
// connection failed before the request was written, or 429/503), it is
// ErrUnknownOutcome when written and unanswered, or answered another 5xx.
//
// Every failure that is the platform's answer (or its silence) is an
// *Error: platform, status, the code and reason the caller's Decode read
// from the body, and Permanent(). Error() holds the platform, the status,
// the sanitised code (safehttp.Code) and our own words only — never the
// body or the platform's message (Reason, for logs), which may echo what
// the request carried and would reach API callers through sync and outbox
// errors. CheckError turns a connector's one-attempt credential check
// into the rejection (the platform's refusal, in its words with the
// secrets removed; a 404 as what is missing, when the check names it) or
// platform error (busy, down, unreachable) the Hub API shows.
package httpx
