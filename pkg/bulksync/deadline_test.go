package bulksync_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// faultyShop is a WooCommerce fake whose customer listing can be made to
// hang (until the client gives up or the test ends) or to fail with 500.
type faultyShop struct {
	*woocommercetest.Server
	srv     *httptest.Server
	hang    atomic.Bool
	fail    atomic.Bool
	release chan struct{}
}

func newFaultyShop(t *testing.T) *faultyShop {
	f := &faultyShop{Server: woocommercetest.NewStore(woocommercetest.Options{Customers: 5, Seed: 3}), release: make(chan struct{})}
	inner := f.Handler()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/customers") {
			switch {
			case f.hang.Load():
				select {
				case <-r.Context().Done():
				case <-f.release:
				}
				return
			case f.fail.Load():
				http.Error(w, `{"code":"internal_error","message":"down"}`, http.StatusInternalServerError)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(f.release); f.srv.Close() })
	return f
}

type deadlineRig struct {
	s       *stacktest.Stack
	st      *store.Store
	starter syncrun.Starter
	tenant  string
	conn    store.Connection
	sealer  *seal.Sealer
}

func newDeadlineRig(t *testing.T, shop *faultyShop, mode string, opts ...stacktest.Option) *deadlineRig {
	t.Helper()
	s := stacktest.New(t, opts...)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.srv.URL, "consumerKey": key, "consumerSecret": secret, "webhookSecret": "w"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: mode, DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	return &deadlineRig{s: s, st: st, starter: syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: 6 * time.Hour},
		tenant: tenant.ID, conn: conn, sealer: sealer}
}

// receivePage receives one message from the pages queue (nil if none came).
func (r *deadlineRig) receivePage(t *testing.T, wait int32) *events.SQSMessage {
	t.Helper()
	out, err := r.s.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.s.PagesQueueURL), MaxNumberOfMessages: 1,
		WaitTimeSeconds: wait, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) == 0 {
		return nil
	}
	m := out.Messages[0]
	return &events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Attributes: map[string]string{"ApproximateReceiveCount": m.Attributes["ApproximateReceiveCount"]}}
}

// TestPage_HangingPlatformEndsAtTheMessageDeadline: the platform takes the
// page request and never answers, and the client has no timeout of its
// own. The message's deadline ends the attempt, reported as a batch item
// failure for SQS to retry, instead of holding the invocation until Lambda
// kills it.
func TestPage_HangingPlatformEndsAtTheMessageDeadline(t *testing.T) {
	t.Parallel()
	shop := newFaultyShop(t)
	r := newDeadlineRig(t, shop, "inferred")
	ctx := context.Background()
	h := bulksync.New(bulksync.Deps{Store: r.st, Sources: &connectors.Registry{Opener: r.sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: queue.NewSender(r.s.SQS, r.s.PagesQueueURL), MessageTimeout: 500 * time.Millisecond})
	if _, err := r.starter.Start(ctx, r.tenant, r.conn.ID, store.TriggerInstall, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	plan := r.receivePage(t, 5)
	if plan == nil {
		t.Fatal("no plan message")
	}
	planner := bulksync.New(bulksync.Deps{Store: r.st, Sources: &connectors.Registry{Opener: r.sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: queue.NewSender(r.s.SQS, r.s.PagesQueueURL)})
	if resp, _ := planner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{*plan}}); len(resp.BatchItemFailures) != 0 {
		t.Fatal("planning failed")
	}
	page := r.receivePage(t, 5)
	if page == nil {
		t.Fatal("no page message")
	}
	shop.hang.Store(true)
	done := make(chan events.SQSEventResponse, 1)
	go func() {
		resp, _ := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{*page}})
		done <- resp
	}()
	select {
	case resp := <-done:
		if len(resp.BatchItemFailures) != 1 {
			t.Fatalf("batch failures = %+v, want the page", resp.BatchItemFailures)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the page was still waiting on the platform 30 s later: no message deadline")
	}
}

// TestRun_PagesSQSDeadLetteredEndFailed: every attempt at a page is cut
// short before the handler can record it (as when the invocation times out
// each time), so SQS moves it to the pages DLQ after maxReceiveCount. The
// scheduler's tick finds it there: the run ends failed with the reason and
// the connection's lock is released (a new run starts), instead of the run
// waiting out its 6-hour lock.
func TestRun_PagesSQSDeadLetteredEndFailed(t *testing.T) {
	t.Parallel()
	shop := newFaultyShop(t)
	r := newDeadlineRig(t, shop, "inferred", stacktest.WithMaxReceiveCount(2), stacktest.WithVisibilityTimeout(time.Second))
	ctx := context.Background()
	h := bulksync.New(bulksync.Deps{Store: r.st, Sources: &connectors.Registry{Opener: r.sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: queue.NewSender(r.s.SQS, r.s.PagesQueueURL), DeadLetter: queue.NewSender(r.s.SQS, r.s.PagesDLQURL),
		MaxReceives: 1000}) // the handler never sees a last receive: SQS decides
	sched := scheduler.New(scheduler.Deps{Store: r.st, Starter: r.starter,
		DeadPages: &bulksync.DeadLetters{SQS: r.s.SQS, QueueURL: r.s.PagesDLQURL, Handler: h}})
	run, err := r.starter.Start(ctx, r.tenant, r.conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	plan := r.receivePage(t, 5)
	if plan == nil {
		t.Fatal("no plan message")
	}
	if resp, _ := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{*plan}}); len(resp.BatchItemFailures) != 0 {
		t.Fatal("planning failed")
	}
	shop.fail.Store(true)
	deadline := time.Now().Add(60 * time.Second)
	var got store.Run
	for time.Now().Before(deadline) {
		if m := r.receivePage(t, 1); m != nil {
			if resp, _ := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{*m}}); len(resp.BatchItemFailures) != 1 {
				t.Fatal("the failing page did not fail")
			}
		}
		sum, err := sched.Handle(ctx, events.EventBridgeEvent{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err = r.st.GetRun(ctx, r.tenant, run.ID); err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RunRunning {
			if sum.DeadPages != 1 {
				t.Errorf("tick summary = %+v, want one dead page", sum)
			}
			break
		}
	}
	if got.Status != store.RunFailed || !strings.Contains(got.Error, "dead-lettered") {
		t.Fatalf("run = %s (%q), want failed with the reason", got.Status, got.Error)
	}
	next, err := r.starter.Start(ctx, r.tenant, r.conn.ID, store.TriggerManual, false, time.Time{})
	var busy *store.RunInProgressError
	if errors.As(err, &busy) || err != nil || next.ID == run.ID {
		t.Fatalf("a new run after the failed one = %+v %v, want started (the lock released)", next, err)
	}
}
