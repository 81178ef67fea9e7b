// Command scheduler is the daily-pull Lambda (EventBridge schedule).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

func main() {
	log := logging.ForLambda()
	ctx := context.Background()
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		log.Error("loading AWS config", "err", err)
		os.Exit(1)
	}
	names := awsenv.NamesFrom(os.Getenv)
	st := store.New(awsenv.NewDynamoDB(cfg), names.Table)
	sq := awsenv.NewSQS(cfg)
	pages := queue.NewSender(sq, names.PagesQueueURL)
	pagesDLQ := bulksync.New(bulksync.Deps{Store: st, DeadLetter: queue.NewSender(sq, names.PagesDLQURL), Log: log})
	h := scheduler.New(scheduler.Deps{
		Store:     st,
		Starter:   syncrun.Starter{Store: st, Pages: pages, LockFor: 6 * time.Hour},
		DeadPages: &bulksync.DeadLetters{SQS: sq, QueueURL: names.PagesDLQURL, Handler: pagesDLQ},
		Outbox:    &outbox.Sweeper{Store: st, Queue: queue.NewSender(sq, names.OutboxQueueURL), Log: log},
		Log:       log,
	})
	lambda.Start(h.Handle)
}
