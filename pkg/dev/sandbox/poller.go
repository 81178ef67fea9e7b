package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandler is an SQS-triggered Lambda handler with partial batch responses.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// SQSAPI lists the calls a poller makes.
type SQSAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Poller invokes a handler with batches from a queue like a Lambda event
// source mapping: batches of up to BatchSize gathered for up to Window, at
// most Concurrency invocations at once, successes deleted, failures (the
// reported batch item failures, or the whole batch when the handler
// errors) left to reappear after RetryDelay — redelivery counts towards the
// queue's maxReceiveCount, after which SQS moves the message to its DLQ.
type Poller struct {
	SQS         SQSAPI
	QueueURL    string
	QueueARN    string
	Handler     SQSHandler
	BatchSize   int           // default 10
	Window      time.Duration // default 0 (no batching wait)
	Concurrency int           // default 2
	// RetryDelay is how long a failed message stays invisible. AWS leaves
	// it for the whole visibility timeout; the sandbox shortens it so a
	// local run retries in seconds (default 2 s).
	RetryDelay time.Duration
	// Timeout is the invocation's context deadline: the function's timeout
	// (0: none).
	Timeout time.Duration
	// WholeBatch is an event source without ReportBatchItemFailures: Lambda
	// then ignores reported item failures and deletes the whole batch
	// unless the handler fails.
	WholeBatch bool
	Log        *slog.Logger
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) {
	if p.BatchSize <= 0 {
		p.BatchSize = 10
	}
	if p.Concurrency <= 0 {
		p.Concurrency = 2
	}
	if p.RetryDelay <= 0 {
		p.RetryDelay = 2 * time.Second
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for range p.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idle := time.Duration(0)
			for ctx.Err() == nil {
				n, err := p.pollOnce(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					p.Log.Warn("poll failed", "queue", p.QueueURL, "err", err)
					sleepCtx(ctx, time.Second)
				case n == 0:
					// Short polls with a backoff while the queue is empty: the
					// SQS emulator answers a long poll only when its wait ends,
					// not when a message arrives (real SQS answers at once), so
					// long polling would add up to its wait to every chained
					// page.
					idle = min(max(2*idle, minIdle), maxIdle)
					sleepCtx(ctx, idle)
				default:
					idle = 0
				}
			}
		}()
	}
	wg.Wait()
}

// The idle backoff between empty polls.
const (
	minIdle = 10 * time.Millisecond
	maxIdle = 200 * time.Millisecond
)

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// pollOnce gathers one batch and invokes the handler with it; it returns
// how many messages the batch had.
func (p *Poller) pollOnce(ctx context.Context) (int, error) {
	var msgs []types.Message
	deadline := time.Now().Add(p.Window)
	for len(msgs) < p.BatchSize {
		out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: int32(min(10, p.BatchSize-len(msgs))), WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if len(msgs) > 0 {
				break
			}
			return 0, err
		}
		msgs = append(msgs, out.Messages...)
		if len(out.Messages) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		if _, ok := attrs["ApproximateReceiveCount"]; !ok {
			attrs["ApproximateReceiveCount"] = "1"
		}
		ev.Records[i] = events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: attrs, EventSource: "aws:sqs", EventSourceARN: p.QueueARN,
			AWSRegion: "us-east-1",
		}
	}
	invokeID := strconv.FormatInt(time.Now().UnixNano(), 36)
	ictx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: invokeID})
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ictx, p.Timeout)
		defer cancel()
	}
	resp, err := p.Handler(ictx, ev)
	if p.WholeBatch {
		resp.BatchItemFailures = nil
	}
	failed := map[string]bool{}
	if err != nil {
		p.Log.Warn("handler failed: whole batch retried", "queue", p.QueueURL, "err", err)
		for _, r := range ev.Records {
			failed[r.MessageId] = true
		}
	}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var del []types.DeleteMessageBatchRequestEntry
	var retry []types.ChangeMessageVisibilityBatchRequestEntry
	for i, m := range msgs {
		id := aws.String(strconv.Itoa(i))
		if failed[aws.ToString(m.MessageId)] {
			retry = append(retry, types.ChangeMessageVisibilityBatchRequestEntry{Id: id, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(p.RetryDelay / time.Second)})
		} else {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: id, ReceiptHandle: m.ReceiptHandle})
		}
	}
	var errs []error
	for start := 0; start < len(del); start += 10 {
		if _, err := p.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: del[start:min(start+10, len(del))]}); err != nil {
			errs = append(errs, err)
		}
	}
	for start := 0; start < len(retry); start += 10 {
		if _, err := p.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: retry[start:min(start+10, len(retry))]}); err != nil {
			errs = append(errs, err)
		}
	}
	return len(msgs), errors.Join(errs...)
}
