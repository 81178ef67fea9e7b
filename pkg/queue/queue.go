// Package queue sends JSON messages to SQS in batches of ten, retrying the
// entries SQS reports as failed, and resolves queue URLs from names when the
// environment gives only names.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxMessageBytes is SQS's message size limit (256 KiB).
const MaxMessageBytes = 256 * 1024

// MaxBatch is the most messages one SendMessageBatch request carries.
const MaxBatch = 10

// API lists the SQS calls the sender makes.
type API interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// Sender sends JSON messages to one queue.
type Sender struct {
	api API
	url string
}

// NewSender returns a sender for the queue at url.
func NewSender(api API, url string) *Sender { return &Sender{api: api, url: url} }

// URL is the queue's URL.
func (s *Sender) URL() string { return s.url }

// ErrTooLarge: a message over MaxMessageBytes.
var ErrTooLarge = errors.New("queue: message over 256 KiB")

// ErrNoQueue is Send's error on a Sender with no queue URL: a function
// not given that queue (resources.Function.Sends; compose.Load then makes
// no SQS client for a function that sends to none).
var ErrNoQueue = errors.New("queue: no queue URL (the function is not given this queue)")

// Send encodes every message as JSON and sends them in batches of ten. It
// returns only when every message was accepted, or with an error naming how
// many were not.
func (s *Sender) Send(ctx context.Context, messages ...any) error {
	return s.send(ctx, 0, messages)
}

// MaxDelay is the longest delay SQS allows on a message (DelaySeconds 900).
const MaxDelay = 15 * time.Minute

// SendDelayed is Send with every message invisible for delay (rounded up
// to a whole second, at most MaxDelay).
func (s *Sender) SendDelayed(ctx context.Context, delay time.Duration, messages ...any) error {
	secs := int32(min(max((delay+time.Second-1)/time.Second, 0), MaxDelay/time.Second))
	return s.send(ctx, secs, messages)
}

// Grouped is a message with an SQS message group: the tenant it belongs
// to. On a standard queue the group makes it a fair queue: SQS serves the
// groups with fewer messages in flight first when one group floods it.
type Grouped interface{ MessageGroup() string }

// outgoing is one encoded message.
type outgoing struct{ body, group string }

func (s *Sender) send(ctx context.Context, delaySeconds int32, messages []any) error {
	if s.url == "" {
		return ErrNoQueue
	}
	out := make([]outgoing, len(messages))
	for i, m := range messages {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encoding message: %w", err)
		}
		if len(b) > MaxMessageBytes {
			return fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(b))
		}
		out[i].body = string(b)
		if g, ok := m.(Grouped); ok && len(g.MessageGroup()) <= 128 {
			out[i].group = g.MessageGroup()
		}
	}
	for start := 0; start < len(out); start += MaxBatch {
		if err := s.sendBatch(ctx, delaySeconds, out[start:min(start+MaxBatch, len(out))]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sender) sendBatch(ctx context.Context, delaySeconds int32, bodies []outgoing) error {
	pending := map[string]outgoing{}
	for i, b := range bodies {
		pending[strconv.Itoa(i)] = b
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 5 {
			return fmt.Errorf("queue: %d of %d messages not accepted after %d attempts", len(pending), len(bodies), attempt)
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
			}
		}
		entries := make([]types.SendMessageBatchRequestEntry, 0, len(pending))
		for id, b := range pending {
			e := types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(b.body), DelaySeconds: delaySeconds}
			if b.group != "" {
				e.MessageGroupId = aws.String(b.group)
			}
			entries = append(entries, e)
		}
		out, err := s.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.url), Entries: entries})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // transport errors were retried by the SDK already; try the batch again
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		for _, f := range out.Failed {
			if f.SenderFault {
				return fmt.Errorf("queue: message rejected: %s %s", aws.ToString(f.Code), aws.ToString(f.Message))
			}
		}
	}
	return nil
}
