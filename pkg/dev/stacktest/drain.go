package stacktest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// WaitDrained waits until the queue holds no message, visible, in flight
// or delayed, and fails the test when that has not happened within the
// deadline. Tests that assert "nothing more was sent" wait on this (every
// message handed to the consumer was deleted) rather than on a sleep.
func (s *Stack) WaitDrained(t testing.TB, queueURL string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last map[string]string
	for {
		out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err == nil {
			last = out.Attributes
			if count(last, "ApproximateNumberOfMessages")+count(last, "ApproximateNumberOfMessagesNotVisible")+
				count(last, "ApproximateNumberOfMessagesDelayed") == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("queue %s not drained within %v (last attributes %v, error %v)", queueURL, within, last, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func count(attrs map[string]string, name string) int {
	n, _ := strconv.Atoi(attrs[name])
	return n
}
