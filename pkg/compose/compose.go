// Package compose is the one composition root: it loads a function's
// configuration and clients (Env, Load) and holds the parts its handlers
// share (the store, the queues' senders, the run starter, the platform
// registry, the notifier, the webhook keeper). Each function's handler is
// built in a package of its own under it — apifn, webhookfn, inboundfn,
// schedulerfn, bulksyncfn, outboxfn — from an Env: the Lambda mains
// (functions/*/main.go), the sandbox (pkg/dev/sandbox, and through it `make
// run`, `make sandbox` and the benchmark) and `make invoke` all build their
// handlers there, so they cannot drift apart: the same run lock, the same
// queues, the same optional parts (write-backs, the outbox of the Hub API,
// the dead-letter queue of bulk sync). A main imports only its own
// function's package, so a bootstrap links and initializes one handler's
// packages and no other's (the Lambda footprint: README, "Lambda
// footprint"; BenchmarkFootprint).
//
// What each function reads comes from resources.Functions — the
// definitions the CDK app derives every function's environment and grants
// from — so Load reads exactly the settings the deployed function is given,
// and makes only the AWS clients the function uses.
package compose

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/hooks"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// RunLock is how long a started run holds its connection's lock (a Shopify
// bulk export may take that long); every entry point uses it.
const RunLock = 6 * time.Hour

// Env is what handlers are built from: the AWS clients, the resource names
// (with the queue URLs), the secrets and settings, and the logger.
type Env struct {
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	// Names must carry the queue URLs a function sends to.
	Names         awsenv.Names
	Sealer        *seal.Sealer
	AdminToken    string
	PublicBaseURL string
	Log           *slog.Logger
	// StoreOptions are passed to store.New (the benchmark meters with them).
	StoreOptions []store.Option
	// AllowPrivateHosts lets outbound platform and SMS calls reach
	// loopback and private addresses over http: for the local fakes only
	// (the sandbox, make invoke, tests). The deployed stack never sets
	// CONTACTSYNC_ALLOW_PRIVATE_HOSTS (the infra tests check it).
	AllowPrivateHosts bool
	// Now is the webhook and inbound handlers' clock (nil: time.Now);
	// make invoke sets it to a sample event's own time, so the signed
	// timestamps of stored events fall inside the replay window.
	Now func() time.Time
	// OAuth are the platforms' OAuth apps: the Hub API's installs and the
	// connectors' token refreshes (oauth.FromEnv).
	OAuth oauth.Apps
	// SchedulerNow is the scheduler tick's clock (nil: time.Now); tests
	// move it on to make the daily webhook check due.
	SchedulerNow func() time.Time
	// PageWindow is the bulk-sync consumer's page window per run
	// (bulksync.Deps.PageWindow: 0 the function's resources.PageWindow,
	// negative none; CONTACTSYNC_PAGE_WINDOW, "off" for none).
	PageWindow int
}

// For returns e as function fn is given it when deployed: only the
// settings resources.Functions lists for fn (the CDK app sets exactly
// those), the others cleared. The sandbox and `make invoke` build every
// handler from For, so a handler that relied on a setting its function is
// not given fails locally as it would on AWS.
func (e Env) For(fn string) Env {
	f, ok := resources.FunctionByName(fn)
	if !ok {
		panic("compose: unknown function " + fn)
	}
	if !f.Table {
		e.Names.Table = ""
	}
	sends := map[string]bool{}
	for _, q := range f.Sends {
		sends[q] = true
	}
	if !sends[resources.QueuePages] {
		e.Names.PagesQueueURL = ""
	}
	if !sends[resources.QueueOutbox] {
		e.Names.OutboxQueueURL = ""
	}
	if !sends[resources.QueuePagesDLQ] {
		e.Names.PagesDLQURL = ""
	}
	if !f.SealKey {
		e.Sealer = nil
	}
	if !f.AdminToken {
		e.AdminToken = ""
	}
	if !f.PublicURL {
		e.PublicBaseURL = ""
	}
	if f.PageWindow == 0 {
		e.PageWindow = 0
	}
	// Only the OAuth apps fn is given (their client id and secret).
	for _, platform := range []string{resources.OAuthShopify, resources.OAuthMailchimp, resources.OAuthKlaviyo} {
		if !slices.Contains(f.OAuthApps, platform) {
			app := e.OAuth.App(platform)
			app.ClientID, app.ClientSecret = "", ""
		}
	}
	return e
}

// Store returns the table's store.
func (e Env) Store() *store.Store { return store.New(e.DynamoDB, e.Names.Table, e.StoreOptions...) }

// Sender sends to the queue at url.
func (e Env) Sender(url string) *queue.Sender { return queue.NewSender(e.SQS, url) }

// Logger is e.Log, or a logger that discards when it is nil.
func (e Env) Logger() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// Starter starts runs: one message on the pages queue, under RunLock.
func (e Env) Starter(st *store.Store) syncrun.Starter {
	return syncrun.Starter{Store: st, Pages: e.Sender(e.Names.PagesQueueURL), LockFor: RunLock}
}

// Registry opens connections' platform clients. Outbound HTTP settings of
// the connectors (timeouts, and any dial or redirect policy) belong here.
func (e Env) Registry(timeout time.Duration) *connectors.Registry {
	st := e.Store()
	return &connectors.Registry{Opener: e.Sealer, HTTP: &http.Client{Timeout: timeout}, AllowPrivateHosts: e.AllowPrivateHosts,
		OAuth: &connectors.OAuth{Apps: e.OAuth, Store: st, Sealer: e.Sealer, NeedsReauthorization: func(ctx context.Context, conn store.Connection) {
			e.Notifier(st).EmitLogged(ctx, conn.TenantID, notify.NeedsReauthorization(conn, connectors.ErrNeedsReauthorization.Error(), time.Now()))
		}}}
}

// Notifier makes notifications to the hub, queued on the outbox queue.
func (e Env) Notifier(st *store.Store) *notify.Notifier {
	return &notify.Notifier{Store: st, Queue: e.Sender(e.Names.OutboxQueueURL), Log: e.Logger()}
}

// Keeper registers and checks connections' platform webhook
// subscriptions (the api on activation, the scheduler's daily check).
func (e Env) Keeper(st *store.Store) *hooks.Keeper {
	return &hooks.Keeper{Store: st, Platforms: e.Registry(hooks.CallTimeout), Notify: e.Notifier(st), PublicBaseURL: e.PublicBaseURL, Log: e.Logger()}
}

// Load reads function fn's configuration the way it runs on Lambda: the
// AWS configuration of the Lambda environment (awsenv.LambdaConfig: region,
// the role's credentials, endpoint overrides), and exactly the settings
// resources.Functions says fn reads — the table and queue URLs, the seal key
// and admin token (from Secrets Manager when their *_SECRET_ARN is set), the
// public URL. It makes only the AWS clients fn uses: DynamoDB if fn has the
// table, SQS if it sends to or consumes a queue, Secrets Manager only when a
// setting fn reads names a secret.
func Load(ctx context.Context, fn string, getenv func(string) string) (Env, error) {
	f, ok := resources.FunctionByName(fn)
	if !ok {
		return Env{}, fmt.Errorf("compose: unknown function %q", fn)
	}
	cfg, err := awsenv.LambdaConfig(getenv)
	if err != nil {
		return Env{}, fmt.Errorf("loading AWS config: %w", err)
	}
	e := Env{Names: awsenv.NamesFrom(getenv), Log: logging.ForLambda(), AllowPrivateHosts: safehttp.AllowPrivateFromEnv(getenv)}
	if f.Table {
		e.DynamoDB = awsenv.NewDynamoDB(cfg, awsenv.DynamoDBEndpoint(getenv))
	}
	if len(f.Sends) > 0 || len(f.Consumes) > 0 {
		e.SQS = awsenv.NewSQS(cfg, awsenv.SQSEndpoint(getenv))
	}
	var sm *secretsmanager.Client
	secrets := func(ctx context.Context, id string) (string, error) {
		if sm == nil {
			sm = awsenv.NewSecretsManager(cfg, awsenv.SecretsManagerEndpoint(getenv))
		}
		return awsenv.SecretFetcher(sm)(ctx, id)
	}
	if f.SealKey {
		if e.Sealer, err = seal.Load(ctx, getenv, seal.SecretFetcher(secrets)); err != nil {
			return Env{}, fmt.Errorf("loading the sealing key: %w", err)
		}
	}
	if f.AdminToken {
		if e.AdminToken, err = awsenv.SecretSetting(ctx, getenv, secrets, awsenv.EnvAdminToken, awsenv.EnvAdminTokenSecretARN); err != nil {
			return Env{}, fmt.Errorf("loading the admin token: %w", err)
		}
	}
	if f.PublicURL {
		e.PublicBaseURL = getenv(awsenv.EnvPublicBaseURL)
	}
	if f.PageWindow > 0 {
		if e.PageWindow, err = pageWindow(getenv(awsenv.EnvPageWindow)); err != nil {
			return Env{}, err
		}
	}
	// The OAuth apps fn reads (resources.Function.OAuthApps): the api
	// function runs the installs, the others may refresh Klaviyo tokens.
	// Client ids are plain settings; client secrets come from Secrets
	// Manager (*_CLIENT_SECRET_ARN, as deployed) or the environment.
	e.OAuth = oauth.FromEnv(getenv)
	for _, platform := range f.OAuthApps {
		app := e.OAuth.App(platform)
		if app == nil || getenv(awsenv.EnvOAuthClientSecretARN(platform)) == "" {
			continue
		}
		if app.ClientSecret, err = awsenv.SecretSetting(ctx, getenv, secrets, awsenv.EnvOAuthClientSecret(platform), awsenv.EnvOAuthClientSecretARN(platform)); err != nil {
			return Env{}, fmt.Errorf("loading the %s OAuth client secret: %w", platform, err)
		}
	}
	return e.For(fn), nil
}

// pageWindow reads CONTACTSYNC_PAGE_WINDOW: unset is the function's
// default (0), "off" no window (-1), else a positive number of pages.
func pageWindow(v string) (int, error) {
	switch v {
	case "":
		return 0, nil
	case "off":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 10000 {
		return 0, fmt.Errorf("%s=%q: want a number of pages from 1 to 10000, or off", awsenv.EnvPageWindow, v)
	}
	return n, nil
}

// MustLoad is Load from the process environment for a Lambda main: it
// logs the error and exits when the configuration cannot be loaded.
func MustLoad(fn string) Env {
	e, err := Load(context.Background(), fn, os.Getenv)
	if err != nil {
		logging.ForLambda().Error("loading configuration", "function", fn, "err", err)
		os.Exit(1)
	}
	return e
}
