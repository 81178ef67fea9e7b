// Package consent is the SMS consent core: a per-phone-number Ledger whose
// state is a pure function of its contents, the events that change it, the
// messages that become due, and the inbound keyword classifier.
//
// Consent belongs to the phone number (per tenant), never to a contact: every
// contact with the number shows the same state, and a ledger exists without
// any contact (a suppression entry for a number that opted out before, or
// after, any source knew it).
//
// # How the state is derived (design.md §4)
//
// The ledger keeps the newest hub-side opt-out (STOP-family reply or hub
// unsubscribe) and who made it, the newest opt-out the person made, the
// newest hub-side opt-in (START/UNSTOP reply or hub resubscribe), the newest
// YES to a double opt-in request, and one signal per source connection.
//
// A source's consent timestamp is untrusted (a platform's clock, or a
// tenant-set apiBaseUrl, can claim any time): every signal is ordered by
// min(claimed time, time the hub received it), SourceSignal.OrderedAt, and
// the claimed time is kept as evidence. The same statement arriving again
// (same state and claimed time: a re-sync, a replay) keeps its first
// receipt. The ledger keeps one signal per connection, so it also keeps the
// claims of opt-ins that were ahead of their receipt (AheadClaims): an
// opt-in claimed no later than one received before an opt-out may be that
// statement again after a newer one took its slot, and lifts nothing (the
// fence). From these, State computes:
//
//  1. The newest explicit opt-out: the hub opt-out at T, or a source
//     "unsubscribed" at its OrderedAt (the receipt when the source gave no
//     timestamp).
//  2. If there is one, the number is unsubscribed unless a lifting statement
//     is strictly newer: a hub opt-in, a YES, or a source "subscribed" with
//     a consent timestamp whose OrderedAt is after it and past the fence. A source signal
//     without a consent timestamp never lifts an opt-out, and neither does inferred consent
//     ("never asked" in an inferred, confirmation or double opt-in
//     connection), a re-sync, a replay or a new connection. The state is then
//     the highest of the lifting statements (a source opt-in through a double
//     opt-in connection lifts only to pending).
//  3. Without an opt-out, the state is the highest contribution of all
//     statements and signals, ranking subscribed > pending > not_subscribed.
//     So "never asked" never lowers what another source or the hub
//     established; only explicit opt-outs lower. Per connection the ledger
//     keeps the newest explicit signal by its own consent timestamp, and a
//     "never asked" never replaces an explicit signal of the same connection.
//
// A hub user may always unsubscribe, but may not lift an opt-out the person
// made (a STOP-family reply, a source unsubscribe, or one carried over by a
// merge or a redaction): ConsentRequired reports it, and the Hub API answers
// 409 consent_required. Ledgers stored before the origin was recorded read a
// hub user's unsubscribe by its evidence ("hub unsubscribe"); every other
// stored opt-out counts as the person's.
//
// Because State reads only the contents, and every slot keeps "the newest by
// timestamp, ties broken by a total order on the values", the state does not
// depend on the order in which events with distinct timestamps arrive.
//
// # Messages
//
// Apply lists the messages that become due: one "confirmation" per number
// and connection when the number is subscribed through a connection in
// confirmation mode, one "double_opt_in_request" per number and connection
// when it becomes pending through a double opt-in connection, and one
// "opt_out_confirmation" per opt-out that moves the number to unsubscribed
// (FCC 47 CFR 64.1200(a)(12): at most one confirmation text per revocation).
// Nothing is ever due to an unsubscribed number except that confirmation.
// The ledger remembers what was queued, so a message is never due twice,
// and forgets what can never be asked for again (opt-out confirmations
// older than the newest opt-out), so STOP/START toggles do not grow it.
//
// # Write-back
//
// Ledger.WriteBackDue decides whether an opt-out is written back to a
// source record (a connection with writeBackOptOuts): the record still
// shows the number subscribed and the number is unsubscribed by the rules
// above, with the record's own signal applied first. So a newer explicit
// opt-in — a START or YES reply, a hub resubscribe, a source opt-in whose
// OrderedAt is after the opt-out — is never overwritten, while a source
// that says subscribed without a date, with an older one, or with a future
// one received before the opt-out, is corrected.
//
// # Keywords
//
// Classify maps inbound SMS text to OptOut, OptIn, Help or Other; see its
// documentation for the normalisation and for how longer sentences are read
// (the FCC 24-24 order: revocation "by any reasonable means"; platforms.md §8).
//
// # Sources
//
//   - FCC 24-24 (revocation by any reasonable means; stop, quit, end,
//     revoke, opt out, cancel and unsubscribe are reasonable per se):
//     https://docs.fcc.gov/public/attachments/FCC-24-24A1.pdf
//   - 47 CFR 64.1200(a)(12) (one confirmation text, within 5 minutes, no
//     marketing): https://www.ecfr.gov/current/title-47/part-64/section-64.1200
//   - Twilio's default keywords (single word, case-insensitive):
//     https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
//
// The package is pure: no I/O, no clock, no randomness. Times come in as
// arguments.
package consent
