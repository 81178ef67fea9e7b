// Command api is the Hub API Lambda (API Gateway HTTP API).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

func main() {
	log := logging.ForLambda()
	cfg, err := awsenv.Load(context.Background())
	if err != nil {
		log.Error("loading AWS config", "err", err)
		os.Exit(1)
	}
	sealer, err := seal.FromEnv(os.Getenv)
	if err != nil {
		log.Error("loading the sealing key", "err", err)
		os.Exit(1)
	}
	names := awsenv.NamesFrom(os.Getenv)
	st := store.New(awsenv.NewDynamoDB(cfg), names.Table)
	sq := awsenv.NewSQS(cfg)
	h := hubapi.New(hubapi.Deps{
		Store:         st,
		Sealer:        sealer,
		Starter:       syncrun.Starter{Store: st, Pages: queue.NewSender(sq, names.PagesQueueURL), LockFor: 6 * time.Hour},
		Outbox:        queue.NewSender(sq, names.OutboxQueueURL),
		AdminToken:    os.Getenv("HUB_ADMIN_TOKEN"),
		PublicBaseURL: os.Getenv("PUBLIC_BASE_URL"),
		Log:           log,
	})
	lambda.Start(h.Handle)
}
