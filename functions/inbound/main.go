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
	ctx := context.Background()
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		log.Error("loading AWS config", "err", err)
		os.Exit(1)
	}
	secrets := awsenv.SecretFetcher(awsenv.NewSecretsManager(cfg))
	sealer, err := seal.Load(ctx, os.Getenv, seal.SecretFetcher(secrets))
	if err != nil {
		log.Error("loading the sealing key", "err", err)
		os.Exit(1)
	}
	names := awsenv.NamesFrom(os.Getenv)
	h := inbound.New(inbound.Deps{
		Store:         store.New(awsenv.NewDynamoDB(cfg), names.Table),
		Opener:        sealer,
		Outbox:        queue.NewSender(awsenv.NewSQS(cfg), names.OutboxQueueURL),
		PublicBaseURL: os.Getenv(awsenv.EnvPublicBaseURL),
		Log:           log,
	})
	lambda.Start(h.Handle)
}
