// Command provision creates contactsync's table and queues (pkg/resources)
// against whatever endpoint the environment names: the embedded stack
// (AWS_ENDPOINT_URL_DYNAMODB / _SQS), LocalStack (AWS_ENDPOINT_URL) or AWS.
// It is idempotent and prints the queue URLs as shell exports.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/dev/provision"
	"github.com/contactsync/contactsync/pkg/resources"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "provision:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := sharedconfig.Load(ctx)
	if err != nil {
		return err
	}
	names := awsenv.NamesFrom(os.Getenv)
	if err := provision.Table(ctx, awsenv.NewDynamoDB(cfg), resources.MainTable(names.Table)); err != nil {
		return err
	}
	urls, err := provision.Queues(ctx, awsenv.NewSQS(cfg), resources.Queues(names.PagesQueue, names.OutboxQueue))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "table %s ready (TTL on %s)\n", names.Table, resources.AttrExpiresAt)
	fmt.Printf("export %s=%s\n", awsenv.EnvPagesQueueURL, urls[names.PagesQueue])
	fmt.Printf("export %s=%s\n", awsenv.EnvOutboxQueueURL, urls[names.OutboxQueue])
	return nil
}
