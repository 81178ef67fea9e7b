package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
)

func TestSender_SendsEveryMessageInBatches(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	snd := queue.NewSender(s.SQS, s.PagesQueueURL)
	var msgs []any
	for i := range 23 {
		msgs = append(msgs, map[string]int{"page": i})
	}
	if err := snd.Send(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for range 50 {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var body map[string]int
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
				t.Fatal(err)
			}
			seen[body["page"]] = true
		}
		if len(seen) == 23 {
			break
		}
	}
	if len(seen) != 23 {
		t.Fatalf("received %d distinct messages, want 23", len(seen))
	}
}

func TestSender_RefusesOversizedMessage(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	err := queue.NewSender(s.SQS, s.PagesQueueURL).Send(context.Background(), strings.Repeat("x", queue.MaxMessageBytes))
	if !errors.Is(err, queue.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// A delayed message stays invisible for its delay, then arrives.
func TestSender_SendDelayedHidesTheMessageForTheDelay(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	snd := queue.NewSender(s.SQS, s.PagesQueueURL)
	sent := time.Now()
	if err := snd.SendDelayed(ctx, 1500*time.Millisecond, map[string]string{"kind": "plan"}); err != nil {
		t.Fatal(err)
	}
	for time.Since(sent) < 20*time.Second {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 1 {
			if waited := time.Since(sent); waited < 1900*time.Millisecond {
				t.Fatalf("the message arrived after %v; the delay (rounded up to 2 s) was not applied", waited)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the delayed message never arrived")
}

// TestSender_NoQueueIsAnError: a function not given a queue gets no SQS
// client (compose.Load) and an empty URL; sending there is an error, not a
// nil dereference.
func TestSender_NoQueueIsAnError(t *testing.T) {
	t.Parallel()
	var none *sqs.Client
	if err := queue.NewSender(none, "").Send(context.Background(), map[string]int{"page": 1}); !errors.Is(err, queue.ErrNoQueue) {
		t.Fatalf("Send on no queue = %v, want ErrNoQueue", err)
	}
}
