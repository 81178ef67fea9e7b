// Command outbox is the outbound-SMS consumer (SQS event source with
// ReportBatchItemFailures).
package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/safehttp"
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
	// Outbound calls may reach private hosts only for local fakes; the
	// deployed stack never sets the variable (infra/stack tests).
	allowPrivate := safehttp.AllowPrivateFromEnv(os.Getenv)
	h := outbox.New(outbox.Deps{
		Store:             store.New(awsenv.NewDynamoDB(cfg), names.Table),
		Opener:            sealer,
		WriteBacks:        &connectors.Registry{Opener: sealer, HTTP: &http.Client{Timeout: 30 * time.Second}, AllowPrivateHosts: allowPrivate},
		AllowPrivateHosts: allowPrivate,
		Log:               log,
	})
	lambda.Start(h.Handle)
}
