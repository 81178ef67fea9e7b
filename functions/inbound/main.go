// Command inbound is the inbound-SMS Lambda (API Gateway HTTP API).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
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
	h := inbound.New(inbound.Deps{
		Store:         store.New(awsenv.NewDynamoDB(cfg), names.Table),
		Opener:        sealer,
		Outbox:        queue.NewSender(awsenv.NewSQS(cfg), names.OutboxQueueURL),
		PublicBaseURL: os.Getenv("PUBLIC_BASE_URL"),
		Log:           log,
	})
	lambda.Start(h.Handle)
}
