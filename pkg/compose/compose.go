// Package compose is the one composition root: it builds each function's
// handler from its configuration and clients. The Lambda mains
// (functions/*/main.go), the sandbox (pkg/dev/sandbox, and through it `make
// run`, `make sandbox` and the benchmark) and `make invoke` all build their
// handlers here, so they cannot drift apart: the same run lock, the same
// queues, the same optional parts (write-backs, the outbox of the Hub API,
// the dead-letter queue of bulk sync).
//
// What each function reads comes from resources.Functions — the
// definitions the CDK app derives every function's environment and grants
// from — so Load reads exactly the settings the deployed function is given.
package compose

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/hooks"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// RunLock is how long a started run holds its connection's lock (a Shopify
// bulk export may take that long); every entry point uses it.
const RunLock = 6 * time.Hour

// Timeouts of the platform clients: a page fetch in bulk sync, a
// write-back in the outbox.
const (
	FetchTimeout     = 60 * time.Second
	WriteBackTimeout = 30 * time.Second
)

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

func (e Env) sender(url string) *queue.Sender { return queue.NewSender(e.SQS, url) }

func (e Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// starter starts runs: one message on the pages queue, under RunLock.
func (e Env) starter(st *store.Store) syncrun.Starter {
	return syncrun.Starter{Store: st, Pages: e.sender(e.Names.PagesQueueURL), LockFor: RunLock}
}

// registry opens connections' platform clients. Outbound HTTP settings of
// the connectors (timeouts, and any dial or redirect policy) belong here.
func (e Env) registry(timeout time.Duration) *connectors.Registry {
	st := e.Store()
	return &connectors.Registry{Opener: e.Sealer, HTTP: &http.Client{Timeout: timeout}, AllowPrivateHosts: e.AllowPrivateHosts,
		OAuth: &connectors.OAuth{Apps: e.OAuth, Store: st, Sealer: e.Sealer, NeedsReauthorization: func(ctx context.Context, conn store.Connection) {
			e.notifier(st).EmitLogged(ctx, conn.TenantID, notify.NeedsReauthorization(conn, connectors.ErrNeedsReauthorization.Error(), time.Now()))
		}}}
}

// notifier makes notifications to the hub, queued on the outbox queue.
func (e Env) notifier(st *store.Store) *notify.Notifier {
	return &notify.Notifier{Store: st, Queue: e.sender(e.Names.OutboxQueueURL), Log: e.log()}
}

// API is the Hub API (functions/api).
func (e Env) API() *hubapi.Handler {
	st := e.Store()
	return hubapi.New(hubapi.Deps{
		Store: st, Sealer: e.Sealer, Starter: e.starter(st), Outbox: e.sender(e.Names.OutboxQueueURL),
		AdminToken: e.AdminToken, PublicBaseURL: e.PublicBaseURL, AllowPrivateHosts: e.AllowPrivateHosts, Log: e.log(),
		Notify:    e.notifier(st),
		Platforms: e.registry(hubapi.OptionsTimeout),
		Fields:    e.registry(FieldsTimeout).Fields,
		OAuth:     e.OAuth,
		SMSSetup: func(ctx context.Context, s sms.Settings) (sms.InboundSetup, error) {
			return smsproviders.Default.Setup(ctx, s, &http.Client{Timeout: SMSSetupRequestTimeout}, e.AllowPrivateHosts)
		},
		Webhooks: e.keeper(st),
	})
}

// SMSSetupRequestTimeout bounds one SMS provider request of PUT
// /v1/sms-provider (the whole is bounded by hubapi.SMSSetupTimeout).
const SMSSetupRequestTimeout = 10 * time.Second

// keeper registers and checks connections' platform webhook
// subscriptions (the api on activation, the scheduler's daily check).
func (e Env) keeper(st *store.Store) *hooks.Keeper {
	return &hooks.Keeper{Store: st, Platforms: e.registry(hooks.CallTimeout), Notify: e.notifier(st), PublicBaseURL: e.PublicBaseURL, Log: e.log()}
}

// FieldsTimeout bounds one platform request of a field listing made while
// a connection is saved (the API answers within API Gateway's 29 s).
const FieldsTimeout = 10 * time.Second

// Webhook is the platform-webhook handler (functions/webhook).
func (e Env) Webhook() *webhook.Handler {
	return webhook.New(webhook.Deps{
		Store: e.Store(), Opener: e.Sealer, Connectors: connectors.WebhooksFor(e.registry(10 * time.Second)), Outbox: e.sender(e.Names.OutboxQueueURL),
		PublicBaseURL: e.PublicBaseURL, Now: e.Now, Log: e.log(),
	})
}

// Inbound is the inbound-SMS handler (functions/inbound).
func (e Env) Inbound() *inbound.Handler {
	st := e.Store()
	return inbound.New(inbound.Deps{
		Store: st, Opener: e.Sealer, Outbox: e.sender(e.Names.OutboxQueueURL), PublicBaseURL: e.PublicBaseURL, Now: e.Now, Log: e.log(),
		Notify: e.notifier(st),
	})
}

// Scheduler is the scheduler tick's handler (functions/scheduler).
func (e Env) Scheduler() *scheduler.Handler {
	st := e.Store()
	// The tick also re-enqueues outbox markers whose enqueue was lost
	// (Outbox) and ends the runs of pages SQS dead-lettered (DeadPages).
	pagesDLQ := bulksync.New(bulksync.Deps{Store: st, DeadLetter: e.sender(e.Names.PagesDLQURL), Log: e.log(), Notify: e.notifier(st)})
	return scheduler.New(scheduler.Deps{Store: st, Starter: e.starter(st), Log: e.log(), Now: e.SchedulerNow, Webhooks: e.keeper(st),
		DeadPages: &bulksync.DeadLetters{SQS: e.SQS, QueueURL: e.Names.PagesDLQURL, Handler: pagesDLQ},
		Outbox:    &messages.Sweeper{Store: st, Queue: e.sender(e.Names.OutboxQueueURL), Log: e.log()},
		Pending:   &scheduler.PendingSweeper{Store: st, Queue: e.sender(e.Names.OutboxQueueURL), Log: e.log()},
	})
}

// BulkSync is the pages-queue consumer (functions/bulksync).
func (e Env) BulkSync() *bulksync.Handler {
	st := e.Store()
	return bulksync.New(bulksync.Deps{
		Store: st, Sources: e.registry(FetchTimeout), Prices: messages.Prices{Store: st, Opener: e.Sealer},
		Pages: e.sender(e.Names.PagesQueueURL), Outbox: e.sender(e.Names.OutboxQueueURL), DeadLetter: e.sender(e.Names.PagesDLQURL),
		Log: e.log(), Notify: e.notifier(st),
	})
}

// Outbox is the outbox-queue consumer (functions/outbox): SMS,
// write-backs and notifications to the hub.
func (e Env) Outbox() *outbox.Handler {
	return outbox.New(outbox.Deps{Store: e.Store(), Opener: e.Sealer, WriteBacks: e.registry(WriteBackTimeout),
		AllowPrivateHosts: e.AllowPrivateHosts, Log: e.log()})
}

// Load reads function fn's configuration the way it runs on Lambda: the
// AWS configuration (awsenv), and exactly the settings resources.Functions
// says fn reads — the table and queue URLs, the seal key and admin token
// (from Secrets Manager when their *_SECRET_ARN is set), the public URL.
func Load(ctx context.Context, fn string, getenv func(string) string) (Env, error) {
	f, ok := resources.FunctionByName(fn)
	if !ok {
		return Env{}, fmt.Errorf("compose: unknown function %q", fn)
	}
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		return Env{}, fmt.Errorf("loading AWS config: %w", err)
	}
	e := Env{DynamoDB: awsenv.NewDynamoDB(cfg), SQS: awsenv.NewSQS(cfg), Names: awsenv.NamesFrom(getenv), Log: logging.ForLambda(),
		AllowPrivateHosts: safehttp.AllowPrivateFromEnv(getenv)}
	secrets := awsenv.SecretFetcher(awsenv.NewSecretsManager(cfg))
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
