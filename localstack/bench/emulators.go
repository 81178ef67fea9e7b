package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
)

// emulators are the local emulators' own ceilings, measured in the same
// run, so our figures can be read against what the machine allows.
type emulators struct {
	// DynamoDB Local: conditional three-item TransactWriteItems per second
	// (the core of a new contact), at the bench's concurrency.
	DynamoDBTx3PerSecond float64 `json:"dynamodbTx3PerSecond"`
	// The SQS emulator: messages per second sent, received and deleted in
	// batches of ten.
	SQSMessagesPerSecond float64 `json:"sqsMessagesPerSecond"`
}

func (b *bench) emulatorCeilings(ctx context.Context) (emulators, error) {
	var e emulators
	var err error
	workers := 2 * b.s.Workers
	if e.DynamoDBTx3PerSecond, err = stacktest.TxPerSecond(ctx, b.app.DynamoDB, b.app.Names.Table, "T#bench-ceiling", workers, 2000); err != nil {
		return e, err
	}
	q, err := b.app.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(b.app.Names.PagesQueue + "-ceiling")})
	if err != nil {
		return e, err
	}
	defer b.app.SQS.DeleteQueue(context.WithoutCancel(ctx), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) //nolint:errcheck // best effort
	e.SQSMessagesPerSecond, err = stacktest.MessagesPerSecond(ctx, b.app.SQS, *q.QueueUrl, workers, 2000)
	return e, err
}
