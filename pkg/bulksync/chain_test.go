package bulksync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// TestPage_DeadPageThatCouldNotEnqueueItsNextClosesIt: a chained page counts
// the page after it, but enqueuing that page fails on every attempt (the
// handler's pages queue is gone), so the page dead-letters. The page it
// counted and never enqueued is closed with it, and the run ends instead of
// waiting for its lock to expire.
func TestPage_DeadPageThatCouldNotEnqueueItsNextClosesIt(t *testing.T) {
	t.Parallel()
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 600, Seed: 5, RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	cfg, _ := json.Marshal(map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "w",
		"apiBaseUrl": shop.URL(), "bulkOperations": "false"}) // paged: a chain of cursor pages
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "shopify", Label: "Shopify",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	run, err := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}.Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	registry := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}
	working := bulksync.New(bulksync.Deps{Store: st, Sources: registry, Pages: pages})
	broken := bulksync.New(bulksync.Deps{Store: st, Sources: registry, Pages: queue.NewSender(s.SQS, s.PagesQueueURL+"-gone"),
		DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL), MaxReceives: 2})
	handle := func(h *bulksync.Handler, body string, receive int) int {
		t.Helper()
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: body,
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receive)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.BatchItemFailures)
	}
	next := func() string {
		t.Helper()
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 2})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receiving: %v (%d messages)", err, len(out.Messages))
		}
		return aws.ToString(out.Messages[0].Body)
	}
	if handle(working, next(), 1) != 0 { // the plan: enqueues the first page
		t.Fatal("planning failed")
	}
	firstPage := next()
	if handle(broken, firstPage, 1) != 1 { // counts the second page, cannot enqueue it
		t.Fatal("the first page did not fail on its first receive")
	}
	if r, _ := st.GetRun(ctx, tenant.ID, run.ID); r.Status != store.RunRunning || r.PagesTotal != 2 {
		t.Fatalf("after the failed attempt: %s, %d pages; want running with the second page counted", r.Status, r.PagesTotal)
	}
	if handle(broken, firstPage, 2) != 0 { // its last receive: dead-lettered
		t.Fatal("the first page was not dead-lettered on its last receive")
	}
	r, err := st.GetRun(ctx, tenant.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == store.RunRunning || r.DeadPages != 2 || r.PagesDone != 2 {
		t.Fatalf("run = %s, %d of %d pages done, %d dead; want it over with both pages dead", r.Status, r.PagesDone, r.PagesTotal, r.DeadPages)
	}
}
