package stacktest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestQueueGone_ASecondDeleteFindsTheQueueGone: deleting a queue again
// (the SDK's retry of a delete whose answer was lost) is an error the
// cleanup takes as done, and only that one is.
func TestQueueGone_ASecondDeleteFindsTheQueueGone(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	out, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &[]string{uniqueName(t.Name()) + "-gone"}[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}); err != nil {
		t.Fatal(err)
	}
	_, err = s.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	if err == nil || !queueGone(err) {
		t.Fatalf("deleting a deleted queue: %v, want the queue reported gone", err)
	}
	if queueGone(context.DeadlineExceeded) {
		t.Fatal("a timeout taken for a deleted queue")
	}
}
