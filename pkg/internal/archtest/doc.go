// Package archtest checks the layering of the import graph (imports_test.go):
// the Lambda handlers (bulksync, webhook, inbound, hubapi, outbox,
// scheduler) stand side by side — none depends on another, and within pkg/
// only the composition root (pkg/compose and its package per function,
// apifn ... outboxfn) and the local sandbox that hosts the handlers
// (pkg/dev/sandbox) depend on any, so the connectors, the queue messages
// and the store sit below every handler — each function's main links only
// its own handler and none of the SDK's shared-config loader (the Lambda
// footprint) — and the pure core
// (phone, merge, consent, and the source values it decides on) links no
// net/http and no AWS SDK. The graph is the production one (`go list -deps`,
// tests' imports aside), read through the go command the test runs under.
// It has no code.
package archtest
