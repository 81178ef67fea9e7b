// Package messages holds the queue messages the handlers exchange, below
// every handler: a handler that enqueues work builds its message here, and
// the handler that consumes it decodes it from here, so no handler imports
// another to talk to it. The queues themselves (names, visibility timeouts,
// dead-letter queues) are pkg/resources'; pkg/queue sends the messages as
// JSON.
//
// # Pages queue (Page)
//
// A sync run is driven by messages on the pages queue, each one Page,
// consumed by pkg/bulksync; pkg/syncrun enqueues the first:
//
//   - Kind "plan" (one per run): the bulksync consumer asks the connector for
//     its page plan. Fan-out platforms (page numbers, offsets, byte ranges)
//     get their pages enqueued at once, up to the run's page window (the
//     rest stored; each page enqueues the one a window after it, Seq,
//     Window, Pages) and the run's PagesTotal set to their number; chained
//     platforms (cursors) get their first page enqueued and PagesTotal = 1.
//     Every message names its tenant as its SQS message group
//     (MessageGroup): the pages and outbox queues are fair queues on AWS.
//   - Kind "page": fetch the page at Cursor, merge and apply its records,
//     then record it on the run exactly once (store.RecordPage, keyed by
//     PageID). A chained page with a next cursor enqueues the next page and
//     adds one to PagesTotal in the same conditional write that counts it.
//
// The run is finished when PagesDone reaches PagesTotal after the plan was
// set; whoever records the last page calls store.FinishRun, which finalises
// exactly once. A message is a few hundred bytes (cursors are short), far
// under SQS's 256 KiB. The pages queue's visibility timeout is six times the
// consumer's timeout (pkg/resources), which bounds the slowest page.
//
// # Outbox queue (Outbox)
//
// Work that must happen at most once after a decision — an SMS to send
// (KindSMS), an opt-out to write back to a source record (KindWriteBack), a
// notification to deliver to the hub (KindNotify) — is one Outbox message,
// consumed by pkg/outbox. Its Ref is the idempotency reference of an outbox
// marker (Entry) that the producer writes with the decision that made it
// due; the message is queued after. A lost enqueue is found by Sweeper,
// which the scheduler's tick runs: it turns markers back into messages
// (FromEntry). Prices tells what a tenant's SMS would cost before any is
// sent (a dry run's report).
package messages
