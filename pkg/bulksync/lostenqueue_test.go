package bulksync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestPage_DueMessagesOfAPageWhoseEnqueueFailedAreSwept: a double opt-in
// page writes its contacts (and their outbox markers) and then cannot
// enqueue the requests; its retry sees every record unchanged and has
// nothing to enqueue. The outbox sweeper enqueues each request once.
func TestPage_DueMessagesOfAPageWhoseEnqueueFailedAreSwept(t *testing.T) {
	t.Parallel()
	shop := newFaultyShop(t)
	r := newDeadlineRig(t, shop, "double_opt_in")
	ctx := context.Background()
	deps := bulksync.Deps{Store: r.st, Sources: &connectors.Registry{Opener: r.sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: queue.NewSender(r.s.SQS, r.s.PagesQueueURL), DeadLetter: queue.NewSender(r.s.SQS, r.s.PagesDLQURL)}
	broken := deps
	broken.Outbox = queue.NewSender(r.s.SQS, r.s.OutboxQueueURL+"-gone")
	working := deps
	working.Outbox = queue.NewSender(r.s.SQS, r.s.OutboxQueueURL)
	run, err := r.starter.Start(ctx, r.tenant, r.conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	handle := func(h *bulksync.Handler, m *events.SQSMessage) int {
		t.Helper()
		resp, _ := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{*m}})
		return len(resp.BatchItemFailures)
	}
	plan := r.receivePage(t, 5)
	if plan == nil || handle(bulksync.New(working), plan) != 0 {
		t.Fatal("planning failed")
	}
	page := r.receivePage(t, 5)
	if page == nil {
		t.Fatal("no page message")
	}
	if handle(bulksync.New(broken), page) != 1 {
		t.Fatal("the page did not fail on its enqueue")
	}
	if handle(bulksync.New(working), page) != 0 { // the retry: every record unchanged
		t.Fatal("the retry failed")
	}
	if got, _ := r.st.GetRun(ctx, r.tenant, run.ID); got.Status != store.RunCompleted {
		t.Fatalf("run = %s, want completed", got.Status)
	}
	if n := queued(t, r); n != 0 {
		t.Fatalf("the retry enqueued %d messages, want none (it saw unchanged records)", n)
	}
	sw := &messages.Sweeper{Store: r.st, Queue: working.Outbox.(*queue.Sender)}
	n, err := sw.Sweep(ctx, time.Now().Add(store.OutboxGrace+time.Minute))
	if err != nil || n == 0 {
		t.Fatalf("sweep = %d %v, want the page's double opt-in requests", n, err)
	}
	if q := queued(t, r); q != n {
		t.Fatalf("outbox queue holds %d messages after sweeping %d", q, n)
	}
	if again, err := sw.Sweep(ctx, time.Now().Add(store.OutboxGrace+2*time.Minute)); err != nil || again != 0 {
		t.Fatalf("a second sweep = %d %v, want 0", again, err)
	}
}

// queued drains the outbox queue and counts double opt-in requests.
func queued(t *testing.T, r *deadlineRig) int {
	t.Helper()
	n := 0
	for {
		out, err := r.s.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.s.OutboxQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return n
		}
		for _, m := range out.Messages {
			var msg messages.Outbox
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil || msg.SMS.Purpose != "double_opt_in_request" {
				t.Fatalf("unexpected outbox message %s", aws.ToString(m.Body))
			}
			n++
			if _, err := r.s.SQS.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(r.s.OutboxQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
