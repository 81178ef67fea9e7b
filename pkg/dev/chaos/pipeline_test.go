package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/chaos"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// pipeline is the bulk-sync path (store, page queue, handler, poller) on
// the given clients.
type pipeline struct {
	st      *store.Store
	starter syncrun.Starter
	cancel  context.CancelFunc
}

func startPipeline(t *testing.T, s *stacktest.Stack, db *dynamodb.Client, sq *sqs.Client, hc *http.Client, sealer *seal.Sealer) *pipeline {
	t.Helper()
	st := store.New(db, s.Table)
	pages := queue.NewSender(sq, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: hc, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(sq, s.OutboxQueueURL), DeadLetter: queue.NewSender(sq, s.PagesDLQURL)})
	ctx, cancel := context.WithCancel(context.Background())
	go (&sandbox.Poller{SQS: sq, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 4, BatchSize: 4, RetryDelay: time.Second}).Run(ctx)
	t.Cleanup(cancel)
	return &pipeline{st: st, starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}, cancel: cancel}
}

// wooConnection stores a WooCommerce connection of tenant to storeURL.
func wooConnection(t *testing.T, st *store.Store, sealer *seal.Sealer, tenant, storeURL, key, secret string) store.Connection {
	t.Helper()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": storeURL, "consumerKey": key, "consumerSecret": secret, "webhookSecret": "w"})
	c := store.Connection{TenantID: tenant, ID: store.NewConnectionID(tenant), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant, cfg)}
	if err := st.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitRun waits for a run to end and returns it.
func waitRun(t *testing.T, st *store.Store, tenant, id string, within time.Duration) store.Run {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		// st may read through the fault proxies: a failed read is tried
		// again, and only reported if the run never shows as finished.
		r, err := st.GetRun(context.Background(), tenant, id)
		if err == nil && r.Status != store.RunRunning {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running after %s: %d/%d pages, %+v (last read error: %v)", id, within, r.PagesDone, r.PagesTotal, r.Counts, err)
		}
	}
}

// contactSet is a tenant's contacts as comparable lines.
func contactSet(t *testing.T, st *store.Store, tenant string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		page, next, err := st.ListContacts(context.Background(), tenant, store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			srcs := make([]string, 0, len(c.Sources))
			for _, s := range c.Sources {
				srcs = append(srcs, s.ExternalID)
			}
			sort.Strings(srcs)
			out = append(out, fmt.Sprintf("%s|%s|%s %s|%s|%v", c.Phone, c.EmailKey, c.FirstName.Value, c.LastName.Value, c.Status, srcs))
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	sort.Strings(out)
	return out
}

// optOut records a STOP for e164 in the hub.
func optOut(t *testing.T, st *store.Store, tenant, e164 string, at time.Time) {
	t.Helper()
	if _, err := st.UpdateLedger(context.Background(), tenant, e164, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		l, ch := r.Ledger.Apply(consent.OptOutEvent(at, consent.Evidence{Text: "STOP", Provider: "twilio"}))
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// hostOf is the host:port of an http URL.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestFaults_InstallSyncThroughFaultsEqualsAFaultFreeOne runs the same two
// WooCommerce install syncs twice: once on clean wires (the oracle), once
// with Toxiproxy between the handlers and DynamoDB Local, the SQS emulator
// and both platform fakes (latency, connection resets, time-outs, a
// bandwidth limit, sliced packets), one store in a 429 storm and the other
// in a 500 storm, plus two poison messages: a malformed page message and a
// connection whose credentials the platform refuses. The faulty tenant ends
// with exactly the oracle's contacts (none lost, none duplicated), its runs
// add up with the stores' record counts, the numbers opted out in the hub
// before the sync stay unsubscribed, and the dead-letter queue holds the
// two poison messages — each with its reason — and nothing else.
func TestFaults_InstallSyncThroughFaultsEqualsAFaultFreeOne(t *testing.T) {
	const seed, sizeA, sizeB = 23, 500, 500
	tooMany := woocommercetest.NewServer(woocommercetest.Options{Customers: sizeA, Seed: seed, FailEvery: 4, FailStatus: http.StatusTooManyRequests})
	defer tooMany.Close()
	broken := woocommercetest.NewServer(woocommercetest.Options{Customers: sizeB, Seed: seed, FirstPerson: 350, FailEvery: 5, FailStatus: http.StatusInternalServerError})
	defer broken.Close()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(5*time.Second), stacktest.WithMaxReceiveCount(10))
	ctx := context.Background()
	sealer, _ := seal.New([]byte(strings.Repeat("c", 32)))

	// Who gets a STOP in the hub before the syncs: people of both stores.
	var stops []string
	for i := 340; len(stops) < 10 && i < 500; i++ {
		p := fakestore.NewPerson(seed, i)
		if e164, reason := phone.Normalize(p.Phone, p.Country, "AU"); reason == "" && !slices.Contains(stops, e164) {
			stops = append(stops, e164)
		}
	}
	t0 := time.Now().Add(-time.Hour)

	sync := func(p *pipeline, wooA, wooB string) (tenant string, runs []store.Run) {
		tn, _, err := p.st.CreateTenant(ctx, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		for _, e164 := range stops {
			optOut(t, p.st, tn.ID, e164, t0)
		}
		ka, sa := tooMany.Credentials()
		kb, sb := broken.Credentials()
		var started []string
		for _, c := range []store.Connection{wooConnection(t, p.st, sealer, tn.ID, wooA, ka, sa), wooConnection(t, p.st, sealer, tn.ID, wooB, kb, sb)} {
			r, err := p.starter.Start(ctx, tn.ID, c.ID, store.TriggerInstall, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			started = append(started, r.ID)
		}
		for _, id := range started {
			runs = append(runs, waitRun(t, p.st, tn.ID, id, 3*time.Minute))
		}
		return tn.ID, runs
	}

	// The oracle: clean wires (the storms still answer, the client rides them).
	clean := startPipeline(t, s, s.DynamoDB, s.SQS, &http.Client{Timeout: 10 * time.Second}, sealer)
	cleanTenant, cleanRuns := sync(clean, tooMany.URL(), broken.URL())
	clean.cancel()
	for i, r := range cleanRuns {
		if r.Status != store.RunCompleted {
			t.Fatalf("clean run %d: %s %s", i, r.Status, r.Error)
		}
	}

	// The faults.
	dbProxy := chaos.New(t, "dynamodb", hostOf(t, aws.ToString(s.DynamoDB.Options().BaseEndpoint)))
	dbProxy.Add(t, "latency", "latency", "downstream", 1, map[string]int{"latency": 5, "jitter": 5})
	dbProxy.Add(t, "reset", "reset_peer", "upstream", 0.02, map[string]int{"timeout": 5})
	dbProxy.Add(t, "timeout", "timeout", "upstream", 0.01, map[string]int{"timeout": 300})
	dbProxy.Add(t, "slicer", "slicer", "downstream", 0.2, map[string]int{"average_size": 64, "size_variation": 32, "delay": 50})
	sqsProxy := chaos.New(t, "sqs", hostOf(t, aws.ToString(s.SQS.Options().BaseEndpoint)))
	sqsProxy.Add(t, "latency", "latency", "downstream", 1, map[string]int{"latency": 10, "jitter": 10})
	sqsProxy.Add(t, "reset", "reset_peer", "upstream", 0.03, map[string]int{"timeout": 5})
	sqsProxy.Add(t, "timeout", "timeout", "upstream", 0.01, map[string]int{"timeout": 300})
	aProxy := chaos.New(t, "woo-a", hostOf(t, tooMany.URL()))
	aProxy.Add(t, "latency", "latency", "downstream", 1, map[string]int{"latency": 20, "jitter": 20})
	aProxy.Add(t, "bandwidth", "bandwidth", "downstream", 0.3, map[string]int{"rate": 200})
	aProxy.Add(t, "reset", "reset_peer", "upstream", 0.03, map[string]int{"timeout": 5})
	bProxy := chaos.New(t, "woo-b", hostOf(t, broken.URL()))
	bProxy.Add(t, "latency", "latency", "downstream", 1, map[string]int{"latency": 20, "jitter": 20})
	bProxy.Add(t, "timeout", "timeout", "upstream", 0.02, map[string]int{"timeout": 500})
	faultyDB := dynamodb.NewFromConfig(s.Config, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(dbProxy.URL())
		o.DisableValidateResponseChecksum = true
		o.RetryMaxAttempts = 8
	})
	faultySQS := sqs.NewFromConfig(s.Config, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(sqsProxy.URL())
		o.RetryMaxAttempts = 8
	})
	faulty := startPipeline(t, s, faultyDB, faultySQS, &http.Client{Timeout: 5 * time.Second}, sealer)

	// Poison: a message that is not a page, and a connection the platform
	// refuses (wrong credentials: 401 on every call).
	if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MessageBody: aws.String(`{"v":1,"kind":"page"`)}); err != nil {
		t.Fatal(err)
	}
	faultyTenant, faultyRuns := sync(faulty, aProxy.URL(), bProxy.URL())
	refused := wooConnection(t, faulty.st, sealer, faultyTenant, tooMany.URL(), "ck_wrong", "cs_wrong")
	rr, err := faulty.starter.Start(ctx, faultyTenant, refused.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	refusedRun := waitRun(t, faulty.st, faultyTenant, rr.ID, time.Minute)

	// Per run: completed and adding up with the store. Across the two runs
	// (concurrent, sharing 150 people, so which one creates a shared contact
	// and which updates it varies): the clean runs' totals.
	var got, want store.Counts
	for i, r := range faultyRuns {
		if r.Status != store.RunCompleted || !r.Counts.AddsUp() || r.Counts.Seen != []int{sizeA, sizeB}[i] {
			t.Errorf("faulty run %d = %s %+v (%s); want completed with every record counted", i, r.Status, r.Counts, r.Error)
		}
		got.Seen, got.Created, got.Updated, got.Unchanged, got.Invalid = got.Seen+r.Counts.Seen, got.Created+r.Counts.Created,
			got.Updated+r.Counts.Updated, got.Unchanged+r.Counts.Unchanged, got.Invalid+r.Counts.Invalid
		c := cleanRuns[i].Counts
		want.Seen, want.Created, want.Updated, want.Unchanged, want.Invalid = want.Seen+c.Seen, want.Created+c.Created,
			want.Updated+c.Updated, want.Unchanged+c.Unchanged, want.Invalid+c.Invalid
	}
	t.Logf("faulty runs counted %+v, clean ones %+v", got, want)
	if got != want {
		t.Errorf("faulty runs counted %+v in all, the clean ones %+v; records counted differently: %v", got, want,
			outcomeDiff(t, faulty.st, faultyTenant, faultyRuns, cleanTenant, cleanRuns))
	}
	if refusedRun.Status != store.RunFailed || !strings.Contains(strings.ToLower(refusedRun.Error), "401") && !strings.Contains(strings.ToLower(refusedRun.Error), "unauthorized") {
		t.Errorf("refused connection's run = %s %q; want failed with the platform's refusal as its reason", refusedRun.Status, refusedRun.Error)
	}
	// Both tenants are read on a client of their own, straight to DynamoDB
	// Local: the check is not part of the fault injection.
	verify := store.New(dynamodb.NewFromConfig(s.Config, func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient()
		o.RetryMaxAttempts = 10
	}), s.Table)
	gotContacts, wantContacts := contactSet(t, verify, faultyTenant), contactSet(t, verify, cleanTenant)
	if len(wantContacts) < sizeA {
		t.Fatalf("the oracle holds %d contacts: test data changed", len(wantContacts))
	}
	if !slices.Equal(gotContacts, wantContacts) {
		t.Errorf("faulty tenant has %d contacts, the fault-free one %d; first differences: %v", len(gotContacts), len(wantContacts), firstDiff(gotContacts, wantContacts, 3))
	}
	for _, e164 := range stops {
		rec, ok, err := verify.GetPhone(ctx, faultyTenant, e164)
		if err != nil || !ok || rec.Ledger.State() != consent.Unsubscribed {
			t.Errorf("%s opted out before the sync is %v (found %v, %v) after it", e164, rec.Ledger.State(), ok, err)
		}
	}

	// The DLQ: exactly the two poison messages, each with its reason. The
	// faulty pipeline keeps running meanwhile: a receive the proxy lost
	// leaves the malformed message invisible for the queue's visibility
	// timeout, and the runs can finish before it comes back. Receive
	// until both have come and then two empty polls in a row (a third
	// would show up as an extra).
	defer faulty.cancel()
	var reasons []string
	deadline := time.Now().Add(time.Minute)
	for empty := 0; empty < 2 && time.Now().Before(deadline); {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesDLQURL), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			if len(reasons) >= 2 {
				empty++
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for _, m := range out.Messages {
			var dl struct{ Reason string }
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &dl); err != nil || dl.Reason == "" {
				t.Errorf("dead letter without a reason: %s", aws.ToString(m.Body))
			}
			reasons = append(reasons, dl.Reason)
		}
	}
	sort.Strings(reasons)
	if len(reasons) != 2 || !strings.Contains(reasons[0], "invalid page message") || !strings.Contains(reasons[1], "unauthorized") {
		t.Errorf("dead letters = %q; want the refused connection's plan and the invalid page message", reasons)
	}
}

func firstDiff(a, b []string, n int) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "+"+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "-"+x)
		}
	}
	return out[:min(n, len(out))]
}

// outcomeDiff lists the records whose report rows differ between the
// faulty runs and the clean ones (run index, external id, outcome and
// reason in each), at most 20.
func outcomeDiff(t *testing.T, st *store.Store, faultyTenant string, faulty []store.Run, cleanTenant string, clean []store.Run) []string {
	t.Helper()
	rows := func(tenant string, runs []store.Run) map[string]string {
		out := map[string]string{}
		for i, r := range runs {
			for cursor := ""; ; {
				page, next, err := st.ListReport(context.Background(), tenant, r.ID, "", 500, cursor)
				if err != nil {
					t.Logf("report of run %d: %v", i, err)
					return out
				}
				for _, row := range page {
					out[fmt.Sprintf("%d/%s", i, row.ExternalID)] += row.Outcome + ":" + row.Reason + " "
				}
				if cursor = next; cursor == "" {
					break
				}
			}
		}
		return out
	}
	f, c := rows(faultyTenant, faulty), rows(cleanTenant, clean)
	var out []string
	for k, v := range f {
		if c[k] != v {
			out = append(out, fmt.Sprintf("%s faulty=%q clean=%q", k, v, c[k]))
		}
	}
	for k, v := range c {
		if _, ok := f[k]; !ok {
			out = append(out, fmt.Sprintf("%s faulty=none clean=%q", k, v))
		}
	}
	sort.Strings(out)
	return out[:min(20, len(out))]
}
