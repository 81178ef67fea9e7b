package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

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
	// Requests by service and operation ("DynamoDB.BatchGetItem", ...).
	Requests map[string]int `json:"requests"`
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
}

func (b *bench) begin() phase {
	r, w := b.usage.Estimated()
	return phase{start: time.Now(), snap: b.meter.snapshot(), rcu: r, wcu: w}
}

func (b *bench) end(p phase, counts store.Counts) measured {
	wall := time.Since(p.start)
	r, w := b.usage.Estimated()
	d := b.meter.snapshot().since(p.snap)
	m := measured{WallSeconds: wall.Seconds(), Counts: counts, Seen: counts.Seen, RCU: r - p.rcu, WCU: w - p.wcu,
		Items: d.allItems(), ContactItems: d.contactItems(), DynamoDB: d.Requests["DynamoDB"], SQS: d.Requests["SQS"], Requests: d.Requests}
	for fn, n := range d.Invocations {
		m.Invocations += n
		m.BilledSeconds += d.Billed[fn].Seconds()
	}
	if wall > 0 {
		m.PerSecond = float64(counts.Seen) / wall.Seconds()
	}
	return m
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
	timeout := time.Duration(b.s.Size)*20*time.Millisecond + 2*time.Minute

	fs := p.start(b.s.Size, true)
	defer fs.close()
	res.Records = fs.records
	tenant, api, err := b.newTenant(ctx, p.label+" limited")
	if err != nil {
		return res, err
	}
	b.logf("%s: install sync of %d customers at the real default limit", p.label, fs.records)
	var conn struct{ ID, SyncID string }
	ph := b.begin()
	if err := api.Do(ctx, "POST", "/v1/connections", map[string]any{
		"platform": cmp.Or(p.platform, p.name), "label": p.label, "consentMode": "inferred", "defaultRegion": "AU", "config": fs.config,
	}, &conn); err != nil {
		return res, err
	}
	run, err := b.waitRun(ctx, tenant, conn.SyncID, timeout)
	if err != nil {
		return res, err
	}
	res.Install = b.end(ph, run.Counts)
	if res.Install.Seen != fs.records || !run.Counts.AddsUp() {
		return res, fmt.Errorf("install saw %d records (%+v), the store has %d", res.Install.Seen, run.Counts, fs.records)
	}
	if math.IsInf(res.Bound, 1) {
		res.Bound = 0 // the store fits in the limit's burst: no bound at this size
		res.NoLimit = p.unlimited
	} else {
		res.Ratio = res.Install.PerSecond / res.Bound
	}
	b.logf("%s: %.0f contacts/s (bound %.0f/s, ratio %.2f)", p.label, res.Install.PerSecond, res.Bound, res.Ratio)

	b.logf("%s: full re-sync of the unchanged store", p.label)
	if res.Resync, err = b.syncNow(ctx, tenant, api, conn.ID, timeout); err != nil {
		return res, err
	}
	if res.Resync.Counts.Unchanged+res.Resync.Counts.Invalid != res.Resync.Seen {
		return res, fmt.Errorf("re-sync of an unchanged store: %+v", res.Resync.Counts)
	}
	if fs.update != nil {
		b.logf("%s: every customer renamed, then a sync", p.label)
		fs.update(time.Now().Add(time.Minute))
		m, err := b.syncNow(ctx, tenant, api, conn.ID, timeout)
		if err != nil {
			return res, err
		}
		res.Update = &m
	}

	free := p.start(b.s.Size, false)
	defer free.close()
	tenant, api, err = b.newTenant(ctx, p.label+" unlimited")
	if err != nil {
		return res, err
	}
	b.logf("%s: install sync with the fake's limits off", p.label)
	ph = b.begin()
	if err := api.Do(ctx, "POST", "/v1/connections", map[string]any{
		"platform": cmp.Or(p.platform, p.name), "label": p.label, "consentMode": "inferred", "defaultRegion": "AU", "config": free.config,
	}, &conn); err != nil {
		return res, err
	}
	if run, err = b.waitRun(ctx, tenant, conn.SyncID, timeout); err != nil {
		return res, err
	}
	res.Unlimited = b.end(ph, run.Counts)
	b.logf("%s: %.0f contacts/s with limits off", p.label, res.Unlimited.PerSecond)
	return res, nil
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
