package bulksync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestWindow_SmallTenantIsNotQueuedBehindABigInstall: a big tenant's
// install (1,200 customers: 12 fan-out pages and its order pages) is
// planned first, then a small tenant's 50-contact sync. One consumer takes
// the pages queue's messages one at a time in the order the queue serves
// them (the embedded emulator: arrival order). With a window of 3 pages the
// small tenant's plan and page wait behind at most two windows of the big
// install's pages, and the install still counts every contact exactly
// once; with no window (every page enqueued by the plan, as before) they
// wait behind the install's whole backlog.
func TestWindow_SmallTenantIsNotQueuedBehindABigInstall(t *testing.T) {
	t.Parallel()
	const window = 3
	for _, tc := range []struct {
		name   string
		window int
	}{{"window", window}, {"no_window", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			big := woocommercetest.NewServer(woocommercetest.Options{Customers: 1200, Seed: 11})
			defer big.Close()
			small := woocommercetest.NewServer(woocommercetest.Options{Customers: 50, Seed: 12})
			defer small.Close()
			s := stacktest.New(t)
			ctx := context.Background()
			st := store.New(s.DynamoDB, s.Table)
			sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
			connect := func(name string, shop *woocommercetest.Server) (string, string) {
				t.Helper()
				tenant, _, err := st.CreateTenant(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				key, secret := shop.Credentials()
				cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "whsec"})
				conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
					ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
				if err := st.CreateConnection(ctx, conn); err != nil {
					t.Fatal(err)
				}
				return tenant.ID, conn.ID
			}
			bigTenant, bigConn := connect("Big", big)
			smallTenant, smallConn := connect("Small", small)
			pages := queue.NewSender(s.SQS, s.PagesQueueURL)
			h := bulksync.New(bulksync.Deps{
				Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
				Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
				PageWindow: tc.window,
			})
			starter := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}

			// next handles the queue's next message and returns it.
			next := func() messages.Page {
				t.Helper()
				out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 2})
				if err != nil || len(out.Messages) != 1 {
					t.Fatalf("receiving: %v (%d messages)", err, len(out.Messages))
				}
				msg := out.Messages[0]
				var m messages.Page
				if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &m); err != nil {
					t.Fatal(err)
				}
				resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(msg.MessageId), Body: aws.ToString(msg.Body),
					Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}})
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("handling %s of %s: %v %v", m.Kind, m.TenantID, err, resp.BatchItemFailures)
				}
				if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.PagesQueueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
				return m
			}

			bigRun, err := starter.Start(ctx, bigTenant, bigConn, store.TriggerInstall, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if m := next(); m.Kind != messages.KindPlan || m.TenantID != bigTenant {
				t.Fatalf("first message: %s of %s, want the big install's plan", m.Kind, m.TenantID)
			}
			smallRun, err := starter.Start(ctx, smallTenant, smallConn, store.TriggerSchedule, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var bigPages, bigBeforeSmall int
			smallDone := false
			for range 200 {
				b, errB := st.GetRun(ctx, bigTenant, bigRun.ID)
				sm, errS := st.GetRun(ctx, smallTenant, smallRun.ID)
				if errB != nil || errS != nil {
					t.Fatal(errB, errS)
				}
				if sm.Status != store.RunRunning && !smallDone {
					smallDone, bigBeforeSmall = true, bigPages
				}
				if b.Status != store.RunRunning && sm.Status != store.RunRunning {
					break
				}
				if m := next(); m.TenantID == bigTenant && m.Kind == messages.KindPage {
					bigPages++
				}
			}
			b, _ := st.GetRun(ctx, bigTenant, bigRun.ID)
			sm, _ := st.GetRun(ctx, smallTenant, smallRun.ID)
			if b.Status != store.RunCompleted || b.Counts.Seen != 1200 || b.PagesDone != b.PagesTotal || bigPages != b.PagesTotal {
				t.Fatalf("big install: %s, %d seen, %d of %d pages, %d page messages; want completed, 1200, every page once",
					b.Status, b.Counts.Seen, b.PagesDone, b.PagesTotal, bigPages)
			}
			if sm.Status != store.RunCompleted || sm.Counts.Seen != 50 {
				t.Fatalf("small sync: %s, %d seen; want completed, 50", sm.Status, sm.Counts.Seen)
			}
			t.Logf("the small sync finished after %d of the install's %d pages (window %d)", bigBeforeSmall, b.PagesTotal, tc.window)
			if tc.window > 0 && bigBeforeSmall > 2*window {
				t.Errorf("the small sync waited for %d of the install's pages; want at most two windows (%d)", bigBeforeSmall, 2*window)
			}
			if tc.window < 0 && bigBeforeSmall != b.PagesTotal {
				// The contrast: without a window it waits for the whole
				// backlog (what the window fixes).
				t.Errorf("without a window the small sync finished after %d of %d install pages; want after all of them", bigBeforeSmall, b.PagesTotal)
			}
		})
	}
}

// TestWindow_DeadPageStillEnqueuesTheNextOne: with a window of 2 pages
// (blocks of 2), the install's second page — the one that releases places
// 3 and 4 — dead-letters before it fetched anything: the handler gives up
// on its only receive, or SQS moves it to the DLQ itself and the
// scheduler's drain (bulksync.DeadLetters, built as schedulerfn builds it)
// records it. The block after it is still enqueued (by the dead page), so
// every other page runs and the run ends failed with all six pages done,
// instead of waiting for pages nobody enqueued until its lock expires.
func TestWindow_DeadPageStillEnqueuesTheNextOne(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"handler", "sqs"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			deadPageReleasesNext(t, by)
		})
	}
}

func deadPageReleasesNext(t *testing.T, by string) {
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 600, Seed: 13})
	defer shop.Close()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	faulty := &faultyStore{Store: st}
	h := bulksync.New(bulksync.Deps{
		Store: faulty, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
		PageWindow: 2, MaxReceives: 1,
	})
	run, err := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}.Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	handled := 0
	for ; handled < 50; handled++ {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break // nothing left to run
		}
		var m messages.Page
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &m); err != nil {
			t.Fatal(err)
		}
		if m.Kind == messages.KindPage && m.Seq == 2 && by == "sqs" {
			// Every receive timed out: SQS moves it to the DLQ, the
			// scheduler's tick drains it.
			if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.PagesDLQURL), MessageBody: out.Messages[0].Body}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.PagesQueueURL), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
			drain := bulksync.DeadLetters{SQS: s.SQS, QueueURL: s.PagesDLQURL, Handler: bulksync.New(bulksync.Deps{Store: st,
				DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL), Pages: pages})}
			if n, err := drain.Drain(ctx); err != nil || n != 1 {
				t.Fatalf("drained %d dead pages (%v), want 1", n, err)
			}
			continue
		}
		if m.Kind == messages.KindPage && m.Seq == 2 {
			faulty.failRecorded.Store(1) // its only receive fails before it fetches
		}
		if _, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: aws.ToString(out.Messages[0].Body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.PagesQueueURL), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := st.GetRun(ctx, tenant.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.RunFailed || r.PagesTotal != 6 || r.PagesDone != 6 || r.DeadPages != 1 || r.Counts.Seen != 500 {
		t.Fatalf("run = %s, %d of %d pages done, %d dead, %d seen after %d messages; want failed, 6 of 6, 1 dead, 500 seen",
			r.Status, r.PagesDone, r.PagesTotal, r.DeadPages, r.Counts.Seen, handled)
	}
}
