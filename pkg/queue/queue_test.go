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

// spyAPI passes every call to the emulator and keeps the batches sent.
type spyAPI struct {
	queue.API
	sent []*sqs.SendMessageBatchInput
}

func (s *spyAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	s.sent = append(s.sent, in)
	return s.API.SendMessageBatch(ctx, in, o...)
}

type tenantMessage struct {
	Tenant string `json:"tenant"`
}

func (m tenantMessage) MessageGroup() string { return m.Tenant }

// TestSender_GroupsMessagesByTenant: a message that names its group (its
// tenant) is sent with that MessageGroupId — on AWS that makes the
// standard queue a fair queue — and the standard queue accepts it; a
// message without one is sent without.
func TestSender_GroupsMessagesByTenant(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	spy := &spyAPI{API: s.SQS}
	if err := queue.NewSender(spy, s.PagesQueueURL).Send(ctx, tenantMessage{Tenant: "t_a"}, map[string]int{"x": 1}, tenantMessage{Tenant: "t_b"}); err != nil {
		t.Fatal(err)
	}
	groups := map[string]string{}
	for _, in := range spy.sent {
		for _, e := range in.Entries {
			groups[aws.ToString(e.MessageBody)] = aws.ToString(e.MessageGroupId)
		}
	}
	want := map[string]string{`{"tenant":"t_a"}`: "t_a", `{"x":1}`: "", `{"tenant":"t_b"}`: "t_b"}
	for body, g := range want {
		if got, ok := groups[body]; !ok || got != g {
			t.Errorf("%s sent with group %q (sent: %v), want %q", body, got, ok, g)
		}
	}
	got := 0
	for range 20 {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got += len(out.Messages); got == 3 {
			break
		}
	}
	if got != 3 {
		t.Fatalf("received %d messages, want 3", got)
	}
}
