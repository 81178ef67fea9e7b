package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/health"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/inbound"
	outboxpkg "github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/provision"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// Config configures the sandbox.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:8080" (port 0 picks one).
	Addr string
	// PublicBaseURL is what platforms and providers call (signatures that
	// cover a URL use it); default http://<addr>.
	PublicBaseURL string
	AdminToken    string
	Sealer        *seal.Sealer
	Names         awsenv.Names
	Log           *slog.Logger
	// PageWorkers is the bulk-sync consumer's concurrent invocations.
	PageWorkers int
	// AWSOptions are added to every AWS client's middleware stack (the
	// benchmark counts requests and items with them).
	AWSOptions []func(*middleware.Stack) error
	// StoreOptions are passed to store.New (e.g. store.WithUsage).
	StoreOptions []store.Option
	// OnInvoke, when set, is called after every handler invocation with
	// the function's name ("bulksync", "webhook", ...) and how long it took
	// — what Lambda would bill.
	OnInvoke func(function string, took time.Duration)
}

// App is a running sandbox: the real handlers behind one HTTP server,
// queue pollers in place of event source mappings, and a daily schedule.
type App struct {
	cfg      Config
	Store    *store.Store
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	BaseURL  string
	// PublicBaseURL is what platforms and providers call (signed URLs).
	PublicBaseURL string
	Names         awsenv.Names

	mux      *http.ServeMux
	srv      *http.Server
	sched    *scheduler.Handler
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	listener net.Listener
}

// Start provisions the resources (idempotently), builds the handlers and
// starts serving. The stack's endpoints come from the environment, as for
// every binary (AWS_ENDPOINT_URL*).
func Start(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PageWorkers == 0 {
		cfg.PageWorkers = 4
	}
	awsCfg, err := awsenv.Load(ctx)
	if err != nil {
		return nil, err
	}
	awsCfg.APIOptions = append(awsCfg.APIOptions, cfg.AWSOptions...)
	db, sq := awsenv.NewDynamoDB(awsCfg), awsenv.NewSQS(awsCfg)
	if err := provision.Table(ctx, db, resources.MainTable(cfg.Names.Table)); err != nil {
		return nil, fmt.Errorf("provisioning the table (is the stack up? make stack-up): %w", err)
	}
	urls, err := provision.Queues(ctx, sq, resources.Queues(cfg.Names.PagesQueue, cfg.Names.OutboxQueue))
	if err != nil {
		return nil, fmt.Errorf("provisioning queues: %w", err)
	}
	names := cfg.Names
	names.PagesQueueURL, names.OutboxQueueURL = urls[names.PagesQueue], urls[names.OutboxQueue]
	names.PagesDLQURL = urls[names.PagesQueue+resources.DLQSuffix]

	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (is the port in use? set SANDBOX_PORT): %w", cfg.Addr, err)
	}
	base := "http://" + l.Addr().String()
	if cfg.PublicBaseURL == "" {
		cfg.PublicBaseURL = base
	}
	st := store.New(db, names.Table, cfg.StoreOptions...)
	pages := queue.NewSender(sq, names.PagesQueueURL)
	outbox := queue.NewSender(sq, names.OutboxQueueURL)
	starter := syncrun.Starter{Store: st, Pages: pages, LockFor: 6 * time.Hour}
	api := hubapi.New(hubapi.Deps{Store: st, Sealer: cfg.Sealer, Starter: starter, Outbox: outbox, AdminToken: cfg.AdminToken, PublicBaseURL: cfg.PublicBaseURL, Log: cfg.Log})
	wh := webhook.New(webhook.Deps{Store: st, Opener: cfg.Sealer, Connectors: connectors.Webhooks(), Outbox: outbox, PublicBaseURL: cfg.PublicBaseURL, Log: cfg.Log})
	registry := &connectors.Registry{Opener: cfg.Sealer, HTTP: &http.Client{Timeout: 60 * time.Second}}
	bs := bulksync.New(bulksync.Deps{
		Store: st, Sources: registry,
		Pages: pages, Outbox: outbox, DeadLetter: queue.NewSender(sq, names.PagesDLQURL), Log: cfg.Log,
	})
	a := &App{cfg: cfg, Store: st, DynamoDB: db, SQS: sq, BaseURL: base, PublicBaseURL: cfg.PublicBaseURL, Names: names, mux: http.NewServeMux(), listener: l,
		sched: scheduler.New(scheduler.Deps{Store: st, Starter: starter, Log: cfg.Log,
			DeadPages: &bulksync.DeadLetters{SQS: sq, QueueURL: names.PagesDLQURL, Handler: bs},
			Outbox:    &outboxpkg.Sweeper{Store: st, Queue: outbox, Log: cfg.Log}})}
	a.mux.Handle("/admin/", HTTP("/admin/{proxy+}", timedAPI(cfg, "api", api.Handle)))
	a.mux.Handle("/v1/", HTTP("/v1/{proxy+}", timedAPI(cfg, "api", api.Handle)))
	a.mux.Handle("/webhooks/", HTTP("/webhooks/{platform}/{connectionId}", timedAPI(cfg, "webhook", wh.Handle)))
	in := inbound.New(inbound.Deps{Store: st, Opener: cfg.Sealer, Outbox: outbox, PublicBaseURL: cfg.PublicBaseURL, Log: cfg.Log})
	a.mux.Handle("/sms/inbound/", HTTP("/sms/inbound/{provider}/{tenantId}", timedAPI(cfg, "inbound", in.Handle)))
	a.mux.Handle("GET /health", HTTP("/health", health.Handler{Version: "sandbox"}.Handle))
	a.mux.HandleFunc("POST /_sandbox/schedule", a.fireSchedule)
	a.srv = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	pagesARN, err := queueARN(ctx, sq, names.PagesQueueURL)
	if err != nil {
		cancel()
		return nil, err
	}
	a.goRun(func() {
		(&Poller{SQS: sq, QueueURL: names.PagesQueueURL, QueueARN: pagesARN, Handler: timedSQS(cfg, "bulksync", bs.Handle), BatchSize: 5,
			Concurrency: cfg.PageWorkers, RetryDelay: 2 * time.Second, Log: cfg.Log}).Run(runCtx)
	})
	outboxARN, err := queueARN(ctx, sq, names.OutboxQueueURL)
	if err != nil {
		cancel()
		return nil, err
	}
	ob := outboxpkg.New(outboxpkg.Deps{Store: st, Opener: cfg.Sealer, WriteBacks: registry, Log: cfg.Log})
	a.goRun(func() {
		(&Poller{SQS: sq, QueueURL: names.OutboxQueueURL, QueueARN: outboxARN, Handler: timedSQS(cfg, "outbox", ob.Handle), BatchSize: 10,
			Concurrency: 4, RetryDelay: 2 * time.Second, Log: cfg.Log}).Run(runCtx)
	})
	a.goRun(func() { a.daily(runCtx) })
	a.goRun(func() {
		if err := a.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Log.Error("sandbox server stopped", "err", err)
		}
	})
	return a, nil
}

// timedAPI reports each invocation of h to cfg.OnInvoke, if set.
func timedAPI(cfg Config, name string, h APIHandler) APIHandler {
	if cfg.OnInvoke == nil {
		return h
	}
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		start := time.Now()
		defer func() { cfg.OnInvoke(name, time.Since(start)) }()
		return h(ctx, e)
	}
}

// timedSQS reports each invocation of h to cfg.OnInvoke, if set.
func timedSQS(cfg Config, name string, h SQSHandler) SQSHandler {
	if cfg.OnInvoke == nil {
		return h
	}
	return func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		start := time.Now()
		defer func() { cfg.OnInvoke(name, time.Since(start)) }()
		return h(ctx, e)
	}
}

func (a *App) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// Mount serves h under prefix (platform and provider fakes).
func (a *App) Mount(prefix string, h http.Handler) {
	a.mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
}

// Handle adds a route (e.g. the inbound SMS handler) to the sandbox.
func (a *App) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// Close stops serving and polling and waits for in-flight work.
func (a *App) Close(ctx context.Context) error {
	err := a.srv.Shutdown(ctx)
	a.cancel()
	a.wg.Wait()
	return err
}

// fireSchedule runs the daily schedule now (sandbox only).
func (a *App) fireSchedule(w http.ResponseWriter, r *http.Request) {
	sum, err := a.sched.Handle(r.Context(), scheduledEvent(time.Now()))
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "internal", "message": "schedule failed"}})
		return
	}
	_ = json.NewEncoder(w).Encode(sum)
}

// daily fires the schedule every 24 h, like the EventBridge rule.
func (a *App) daily(ctx context.Context) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := a.sched.Handle(ctx, scheduledEvent(now)); err != nil {
				a.cfg.Log.Error("daily schedule failed", "err", err)
			}
		}
	}
}

func scheduledEvent(now time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{Version: "0", ID: fmt.Sprint(now.UnixNano()), DetailType: "Scheduled Event", Source: "aws.events",
		Time: now.UTC(), Region: "us-east-1", Resources: []string{"arn:aws:events:us-east-1:123456789012:rule/contactsync-daily-sync"}, Detail: json.RawMessage("{}")}
}

func queueARN(ctx context.Context, sq *sqs.Client, url string) (string, error) {
	out, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("reading queue ARN: %w", err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}
