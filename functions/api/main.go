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
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/seal"
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
	secrets := awsenv.SecretFetcher(awsenv.NewSecretsManager(cfg))
	sealer, err := seal.Load(ctx, os.Getenv, seal.SecretFetcher(secrets))
	if err != nil {
		log.Error("loading the sealing key", "err", err)
		os.Exit(1)
	}
	admin, err := awsenv.SecretSetting(ctx, os.Getenv, secrets, awsenv.EnvAdminToken, awsenv.EnvAdminTokenSecretARN)
	if err != nil {
		log.Error("loading the admin token", "err", err)
		os.Exit(1)
	}
	names := awsenv.NamesFrom(os.Getenv)
	st := store.New(awsenv.NewDynamoDB(cfg), names.Table)
	sq := awsenv.NewSQS(cfg)
	// Outbound calls may reach private hosts only for local fakes; the
	// deployed stack never sets the variable (infra/stack tests).
	allowPrivate := safehttp.AllowPrivateFromEnv(os.Getenv)
	h := hubapi.New(hubapi.Deps{
		Store:             st,
		Sealer:            sealer,
		Starter:           syncrun.Starter{Store: st, Pages: queue.NewSender(sq, names.PagesQueueURL), LockFor: 6 * time.Hour},
		Outbox:            queue.NewSender(sq, names.OutboxQueueURL),
		AdminToken:        admin,
		PublicBaseURL:     os.Getenv(awsenv.EnvPublicBaseURL),
		AllowPrivateHosts: allowPrivate,
		Log:               log,
	})
	lambda.Start(h.Handle)
}
