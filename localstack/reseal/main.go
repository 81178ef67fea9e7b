// Command reseal seals every stored secret again with the current seal key
// (step 3 of the key rotation in pkg/seal's documentation): each
// connection's config and each tenant's SMS provider settings. It reads the
// keyring as the functions do (CONTACTSYNC_SEAL_KEY with
// CONTACTSYNC_SEAL_KEY_PREVIOUS, or CONTACTSYNC_SEAL_KEY_SECRET_ARN holding
// a keyring) and the table from CONTACTSYNC_TABLE, against whatever
// endpoint the environment names (embedded stack, LocalStack or AWS). It
// can be run again: values already sealed by the current key are left
// alone.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reseal:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cfg, err := sharedconfig.Load(ctx)
	if err != nil {
		return err
	}
	sealer, err := seal.Load(ctx, os.Getenv, seal.SecretFetcher(awsenv.SecretFetcher(awsenv.NewSecretsManager(cfg))))
	if err != nil {
		return err
	}
	table := awsenv.NamesFrom(os.Getenv).Table
	counts, err := store.ResealAll(ctx, awsenv.NewDynamoDB(cfg), table, func(tenant string, sealed []byte) ([]byte, bool, error) {
		if !sealer.NeedsReseal(sealed) {
			return sealed, false, nil
		}
		out, err := sealer.Reseal(tenant, sealed)
		return out, err == nil, err
	})
	fmt.Printf("table %s, current key %s: %d sealed values, %d re-sealed, %d changed meanwhile (left as written)\n",
		table, sealer.CurrentKeyID(), counts.Seen, counts.Resealed, counts.Changed)
	return err
}
