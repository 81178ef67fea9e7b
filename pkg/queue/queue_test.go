package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/stacktest"
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

func TestResolve_ByName(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	name := s.PagesQueueURL[strings.LastIndex(s.PagesQueueURL, "/")+1:]
	got, err := queue.Resolve(context.Background(), s.SQS, "", name)
	if err != nil || got != s.PagesQueueURL {
		t.Fatalf("Resolve = %q, %v; want %q", got, err, s.PagesQueueURL)
	}
}
