package syncrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

func TestStarter_EnqueuesPlanAndRefusesSecondRun(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	starter := syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour}
	run, err := starter.Start(ctx, "t1", "c1", store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive = %v, %v", out, err)
	}
	var m messages.Page
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != messages.KindPlan || m.RunID != run.ID || m.Validate() != nil {
		t.Fatalf("message = %+v (%v)", m, m.Validate())
	}
	_, err = starter.Start(ctx, "t1", "c1", store.TriggerManual, false, time.Time{})
	var busy *store.RunInProgressError
	if !errors.As(err, &busy) || busy.RunID != run.ID {
		t.Fatalf("second start = %v", err)
	}
}

func TestStarter_UnsendablePlanFailsRunAndReleasesLock(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	broken := syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL+"-missing"), LockFor: time.Hour}
	run, err := broken.Start(ctx, "t1", "c1", store.TriggerManual, false, time.Time{})
	if err == nil {
		t.Fatal("start with a missing queue succeeded")
	}
	got, gerr := st.GetRun(ctx, "t1", run.ID)
	if gerr != nil || got.Status != store.RunFailed {
		t.Fatalf("run = %+v, %v; want failed", got, gerr)
	}
	ok := syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour}
	if _, err := ok.Start(ctx, "t1", "c1", store.TriggerManual, false, time.Time{}); err != nil {
		t.Fatalf("start after the failed one: %v", err)
	}
}
