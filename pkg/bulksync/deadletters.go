package bulksync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/store"
)

// DeadLetterAPI lists the SQS calls DeadLetters makes.
type DeadLetterAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// DeadLetters ends the runs whose page messages SQS itself moved to the
// pages DLQ. The handler dead-letters a page it gave up on and records it
// (the run then ends failed); but a page whose every attempt was cut short
// (the invocation timed out or crashed) reaches maxReceiveCount without the
// handler ever seeing its last receive, and SQS moves it silently — the run
// would wait for it until its lock expired (6 h). The scheduler drains the
// DLQ on each tick: such a page is recorded dead with the reason, which
// ends the run as failed and releases the connection's lock, and the page
// is put back in the DLQ in the handler's own form ({reason, message}).
// Messages already in that form were recorded by the handler; they are left
// in the DLQ, hidden for SQS's longest visibility timeout so a drain does
// not read them again soon.
type DeadLetters struct {
	SQS      DeadLetterAPI
	QueueURL string // the pages DLQ
	Handler  *Handler
	// MaxMessages bounds one drain (default 500).
	MaxMessages int
}

// hideFor is SQS's longest visibility timeout (12 h).
const hideFor = 12 * 60 * 60

// Drain handles what is in the DLQ now; it returns how many pages it
// recorded dead.
func (d *DeadLetters) Drain(ctx context.Context) (int, error) {
	limit := d.MaxMessages
	if limit == 0 {
		limit = 500
	}
	recorded, seen := 0, 0
	for seen < limit {
		out, err := d.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(d.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			return recorded, fmt.Errorf("reading the pages DLQ: %w", err)
		}
		if len(out.Messages) == 0 {
			return recorded, nil
		}
		for _, msg := range out.Messages {
			seen++
			done, err := d.one(ctx, msg)
			if err != nil {
				return recorded, err
			}
			if done {
				recorded++
			}
		}
	}
	return recorded, nil
}

// one handles a DLQ message; done reports a page recorded dead.
func (d *DeadLetters) one(ctx context.Context, msg types.Message) (bool, error) {
	body := aws.ToString(msg.Body)
	var wrapped deadLetter
	if json.Unmarshal([]byte(body), &wrapped) == nil && wrapped.Reason != "" {
		// The handler's own dead letter: recorded when it was sent.
		_, err := d.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(d.QueueURL), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: hideFor,
		})
		if err != nil {
			return false, fmt.Errorf("hiding a recorded dead letter: %w", err)
		}
		return false, nil
	}
	var m messages.Page
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Validate() != nil {
		// Not a page of ours: keep it for whoever reads the DLQ, in the
		// handler's form so it is not read as a page again.
		return false, d.rewrap(ctx, msg, "invalid page message (moved by SQS)")
	}
	reason := "the page was received the queue's maxReceiveCount times without finishing (the handler timed out or crashed each time); SQS dead-lettered it"
	run, err := d.Handler.d.Store.GetRun(ctx, m.TenantID, m.RunID)
	recordedNow := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The run expired: nothing to end.
	case err != nil:
		return false, err
	case run.Status == store.RunRunning:
		d.Handler.d.Log.ErrorContext(ctx, "page dead-lettered by SQS: recorded dead", "tenant", m.TenantID, "connection", m.ConnectionID,
			"run", m.RunID, "kind", m.Kind, "page", m.PageID, "receives", msg.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		if err := d.Handler.failPage(ctx, m, reason, false); err != nil {
			return false, err
		}
		recordedNow = true
	}
	return recordedNow, d.rewrap(ctx, msg, reason)
}

// rewrap replaces a DLQ message by its {reason, message} form.
func (d *DeadLetters) rewrap(ctx context.Context, msg types.Message, reason string) error {
	if err := d.Handler.deadLetter(ctx, aws.ToString(msg.Body), reason); err != nil {
		return err
	}
	_, err := d.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(d.QueueURL), ReceiptHandle: msg.ReceiptHandle})
	if err != nil {
		return fmt.Errorf("deleting a rewrapped dead letter: %w", err)
	}
	return nil
}
