package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/store"
)

// measured is what one phase (a sync run, a load) cost.
type measured struct {
	WallSeconds float64      `json:"wallSeconds"`
	Counts      store.Counts `json:"counts"`
	Seen        int          `json:"seen"`
	PerSecond   float64      `json:"contactsPerSecond"`
	// By AWS's pricing rules, from the items and reads (pkg/store units.go).
	RCU float64 `json:"rcu"`
	WCU float64 `json:"wcu"`
	// Items written: all, and those holding contact data.
	Items        int `json:"itemsWritten"`
	ContactItems int `json:"contactItemsWritten"`
	DynamoDB     int `json:"dynamodbRequests"`
	SQS          int `json:"sqsRequests"`
	// Handler invocations and their summed duration (Lambda's billed time).
	Invocations   int     `json:"invocations"`
	BilledSeconds float64 `json:"billedSeconds"`
	// CPUSeconds is the bench process's CPU time (user + system) in the
	// phase: the handlers, the AWS SDK and the platform fake, not the
	// emulators. Less sensitive to a loaded machine than BilledSeconds.
	CPUSeconds float64 `json:"cpuSeconds"`
	// Allocs and AllocBytes are the bench process's heap allocations in
	// the phase (the same parts as CPUSeconds): the work its CPU time is
	// mostly made of, counted exactly rather than timed on shared cores.
	Allocs     uint64 `json:"allocs"`
	AllocBytes uint64 `json:"allocBytes"`
	// GCs is how many garbage collections the bench process finished in
	// the phase.
	GCs int `json:"gcs"`
	// Requests by service and operation ("DynamoDB.BatchGetItem", ...).
	Requests map[string]int `json:"requests"`
	// Functions is the invocations and billed milliseconds by function.
	Functions map[string]functionMeasure `json:"functions"`
	// Runs is how many runs' medians the figures are (linear mode's
	// -repeat; 0: one run).
	Runs int `json:"runs,omitempty"`
}

// functionMeasure is one function's share of a phase.
type functionMeasure struct {
	Invocations int     `json:"invocations"`
	BilledMs    float64 `json:"billedMs"`
}

// perContact divides by the records the phase saw.
func (m measured) perContact(v float64) float64 {
	if m.Seen == 0 {
		return 0
	}
	return v / float64(m.Seen)
}

// phase marks the start of a measured phase.
type phase struct {
	start    time.Time
	snap     snapshot
	rcu, wcu float64
	cpu      time.Duration
	mem      runtime.MemStats
}

func (b *bench) begin() phase {
	r, w := b.usage.Estimated()
	p := phase{start: time.Now(), snap: b.meter.snapshot(), rcu: r, wcu: w, cpu: processCPU()}
	runtime.ReadMemStats(&p.mem)
	return p
}

func (b *bench) end(p phase, counts store.Counts) measured {
	wall := time.Since(p.start)
	b.quiesce(context.Background(), 30*time.Second)
	r, w := b.usage.Estimated()
	d := b.meter.snapshot().since(p.snap)
	m := measured{WallSeconds: wall.Seconds(), Counts: counts, Seen: counts.Seen, RCU: r - p.rcu, WCU: w - p.wcu,
		Items: d.allItems(), ContactItems: d.contactItems(), DynamoDB: d.Requests["DynamoDB"], SQS: d.Requests["SQS"], Requests: d.Requests,
		CPUSeconds: (processCPU() - p.cpu).Seconds()}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	m.Allocs, m.AllocBytes = mem.Mallocs-p.mem.Mallocs, mem.TotalAlloc-p.mem.TotalAlloc
	m.GCs = int(mem.NumGC - p.mem.NumGC)
	m.Functions = map[string]functionMeasure{}
	for fn, n := range d.Invocations {
		m.Invocations += n
		m.BilledSeconds += d.Billed[fn].Seconds()
		if n > 0 {
			m.Functions[fn] = functionMeasure{Invocations: n, BilledMs: float64(d.Billed[fn].Microseconds()) / 1000}
		}
	}
	if wall > 0 {
		m.PerSecond = float64(counts.Seen) / wall.Seconds()
	}
	return m
}

// quiesce waits, up to timeout, until the sandbox's queues hold no
// message, visible, in flight or delayed: every handler invocation of the
// phase has then returned (the poller deletes a message after its
// invocation), so its time is counted in this phase and not the next.
// A run is done when its last page is recorded, which is before the
// invocation that recorded it returns.
func (b *bench) quiesce(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	attrs := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	for time.Now().Before(deadline) {
		busy := false
		for _, u := range []string{b.app.Names.PagesQueueURL, b.app.Names.OutboxQueueURL} {
			out, err := b.queues.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: attrs})
			if err != nil {
				b.logf("quiesce: %v", err)
				return
			}
			for _, a := range attrs {
				if n := out.Attributes[string(a)]; n != "" && n != "0" {
					busy = true
				}
			}
		}
		if !busy {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.logf("quiesce: the queues still hold messages after %s", timeout)
}

// platformResult is one platform's rows.
type platformResult struct {
	Platform string  `json:"platform"`
	Limit    string  `json:"limit"`
	Records  int     `json:"records"`
	Bound    float64 `json:"boundContactsPerSecond"`
	// NoLimit: the platform sets no rate limit on this path at all.
	NoLimit bool `json:"noLimit,omitempty"`
	// Install at the real default limit, and its ratio to the bound.
	Install measured `json:"install"`
	Ratio   float64  `json:"ratioToBound"`
	// Full re-sync of the unchanged store.
	Resync measured `json:"resync"`
	// Update pass (every customer renamed), where the fake supports it.
	Update *measured `json:"update,omitempty"`
	// Install with the fake's limits off.
	Unlimited measured `json:"unlimited"`
}

// platform runs one platform's install, re-sync, update and unlimited
// install.
func (b *bench) platform(ctx context.Context, p platform) (platformResult, error) {
	res := platformResult{Platform: p.label, Limit: p.limit, Records: b.s.Size, Bound: p.bound(b.s.Size)}
	timeout := syncTimeout(b.s.Size)

	fs := p.start(b.s.Size, true)
	defer fs.close()
	res.Records = fs.records
	b.logf("%s: install sync of %d customers at the real default limit", p.label, fs.records)
	in, err := b.install(ctx, p, fs, "limited", timeout)
	if err != nil {
		return res, err
	}
	tenant, api, conn := in.tenant, in.api, in.conn
	res.Install = in.m
	if math.IsInf(res.Bound, 1) {
		res.Bound = 0 // the store fits in the limit's burst: no bound at this size
		res.NoLimit = p.unlimited
	} else {
		res.Ratio = res.Install.PerSecond / res.Bound
	}
	b.logf("%s: %.0f contacts/s (bound %.0f/s, ratio %.2f)", p.label, res.Install.PerSecond, res.Bound, res.Ratio)

	b.logf("%s: full re-sync of the unchanged store", p.label)
	if res.Resync, err = b.syncNow(ctx, tenant, api, conn, timeout); err != nil {
		return res, err
	}
	if res.Resync.Counts.Unchanged+res.Resync.Counts.Invalid != res.Resync.Seen {
		return res, fmt.Errorf("re-sync of an unchanged store: %+v", res.Resync.Counts)
	}
	if fs.update != nil {
		b.logf("%s: every customer renamed, then a sync", p.label)
		fs.update(time.Now().Add(time.Minute))
		m, err := b.syncNow(ctx, tenant, api, conn, timeout)
		if err != nil {
			return res, err
		}
		res.Update = &m
	}

	free := p.start(b.s.Size, false)
	defer free.close()
	b.logf("%s: install sync with the fake's limits off", p.label)
	if in, err = b.install(ctx, p, free, "unlimited", timeout); err != nil {
		return res, err
	}
	res.Unlimited = in.m
	b.logf("%s: %.0f contacts/s with limits off", p.label, res.Unlimited.PerSecond)
	return res, nil
}

// syncTimeout bounds one sync of a store of n customers.
func syncTimeout(n int) time.Duration { return time.Duration(n)*40*time.Millisecond + 2*time.Minute }

// installed is one measured install: the tenant, its API client and the
// connection.
type installed struct {
	tenant string
	api    sandbox.Client
	conn   string
	m      measured
}

// install creates a tenant and connects it to the fake store fs (its
// install sync starts), waits for the sync and measures it; every record
// of the store must have an outcome.
func (b *bench) install(ctx context.Context, p platform, fs fakeStore, tenantSuffix string, timeout time.Duration) (installed, error) {
	tenant, api, err := b.newTenant(ctx, p.label+" "+tenantSuffix)
	if err != nil {
		return installed{}, err
	}
	var conn struct{ ID, SyncID string }
	ph := b.begin()
	if err := api.Do(ctx, "POST", "/v1/connections", map[string]any{
		"platform": cmp.Or(p.platform, p.name), "label": p.label, "consentMode": "inferred", "defaultRegion": "AU", "config": fs.config,
	}, &conn); err != nil {
		return installed{}, err
	}
	run, err := b.waitRun(ctx, tenant, conn.SyncID, timeout)
	if err != nil {
		return installed{}, err
	}
	m := b.end(ph, run.Counts)
	if m.Seen != fs.records || !run.Counts.AddsUp() {
		return installed{}, fmt.Errorf("install saw %d records (%+v), the store has %d", m.Seen, run.Counts, fs.records)
	}
	return installed{tenant: tenant, api: api, conn: conn.ID, m: m}, nil
}

// syncNow starts a manual (full) sync of a connection and measures it.
func (b *bench) syncNow(ctx context.Context, tenant string, api apiClient, connID string, timeout time.Duration) (measured, error) {
	ph := b.begin()
	var out struct{ SyncID string }
	if err := api.Do(ctx, "POST", "/v1/connections/"+connID+"/syncs", nil, &out); err != nil {
		return measured{}, err
	}
	run, err := b.waitRun(ctx, tenant, out.SyncID, timeout)
	if err != nil {
		return measured{}, err
	}
	return b.end(ph, run.Counts), nil
}

// apiClient is what the bench asks of the Hub API.
type apiClient interface {
	Do(ctx context.Context, method, path string, in, out any) error
}

// cleanup deletes the run's table and queues (the emulator keeps them in
// memory).
func (b *bench) cleanup(ctx context.Context) {
	_, _ = b.app.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(b.app.Names.Table)})
	for _, q := range []string{b.app.Names.PagesQueue, b.app.Names.OutboxQueue} {
		for _, name := range []string{q, q + resources.DLQSuffix} {
			if u, err := b.app.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
				_, _ = b.app.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: u.QueueUrl})
			}
		}
	}
}
