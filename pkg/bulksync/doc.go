// Package bulksync is the bulk-sync Lambda's handler: an SQS event source
// (ReportBatchItemFailures) whose messages are the page protocol of
// pkg/messages (messages.Page). A plan message asks the connector for its
// page plan and enqueues the pages; a page message fetches one page,
// merges and writes its records, counts them on the run exactly once,
// enqueues the next page of a chained plan, and finishes the run after its
// last page.
//
// Write-back: with the connection's writeBackOptOuts on, a page writes
// the opt-out back to each of its records that still shows an
// unsubscribed number subscribed (store.Applied.WriteBack) before it is
// counted, at most once per record and run (an outbox marker and lease
// per record and run), and counts written_back or write_back_failed with
// a report row; a failure is left to the next sync, a connector that
// cannot write back is counted write_back_unsupported once per run
// (writeback.go).
//
// Failures: a transient error (platform 5xx/429 after the client's own
// retries, throttling) leaves the message to SQS, which redelivers it after
// the visibility timeout; on its last allowed receive, or at once for a
// permanent error (credentials revoked, a cursor the platform refuses), the
// page is recorded as dead with its reason, moved to the dead-letter queue
// and acknowledged. The run then finishes as failed, with the reason, once
// every other page is done: it fails only when a page can make no progress.
// A page whose every attempt was cut short (the invocation timed out or
// crashed) never reaches that last receive in the handler: SQS moves it to
// the DLQ itself, and DeadLetters, run by the scheduler's tick, records it
// dead so its run ends too. Each message has its own deadline
// (Deps.MessageTimeout), well inside the function's timeout.
//
// A dry run (store.Run.DryRun, POST /v1/connections/{id}/syncs with
// {"dryRun": true}) is planned, fetched, counted and finished like any
// run, but its pages are applied with store.Target.DryRun: the decisions
// go to the run's scratch space, no message is queued — their number by
// purpose and their credits (Deps.Prices) are counted instead — and the
// connection's last sync is not moved.
//
// Fairness (window.go): one tenant cannot starve the others. Every
// tenant's pages share the pages queue and this consumer (at most 5
// invocations of Concurrency pages: 20 pages in parallel). A plan of more
// pages than the run's window (Deps.PageWindow, resources' PageWindow, 20)
// enqueues the first 20 and stores the rest (store.SaveFanout); every
// tenth page enqueues the ten places that end 20 places after it (one
// query, one SQS batch) as it finishes, before it is counted. A run so
// holds about 20 messages (up to 30) however big its install, and
// another tenant's page waits behind those, not behind the backlog: before
// the window a 50-contact sync planned after a 4,000-page install waited
// ≈ 4,000 × page time / 20 (≈ 10 minutes on AWS, twice: plan, then page).
// On AWS the queue is also a fair queue (every message carries its tenant
// as MessageGroupId, pkg/queue); the embedded emulator ignores that, so
// the sandbox measures the window alone. Measured on the embedded stack
// (localstack/bench -starve 20000, README "One tenant cannot starve the
// others"): ten small syncs during a 200-page install took 26 s (p50)
// with the window, 194 s without (the install's whole run). Webhooks are
// not queued; they share only the table's partitions and the account's
// Lambda concurrency with an install.
package bulksync
