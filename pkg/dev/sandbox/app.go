package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/apifn"
	"github.com/contactsync/contactsync/pkg/compose/bulksyncfn"
	"github.com/contactsync/contactsync/pkg/compose/inboundfn"
	"github.com/contactsync/contactsync/pkg/compose/outboxfn"
	"github.com/contactsync/contactsync/pkg/compose/schedulerfn"
	"github.com/contactsync/contactsync/pkg/compose/webhookfn"
	"github.com/contactsync/contactsync/pkg/dev/provision"
	"github.com/contactsync/contactsync/pkg/health"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/routes"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
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
	// PageWorkers is the bulk-sync consumer's concurrent invocations
	// (default: the deployed event source's maximum concurrency).
	PageWorkers int
	// PageWindow is the bulk-sync consumer's page window per run (0: the
	// deployed one, resources.Function.PageWindow; negative: none, every
	// page enqueued by its plan — the benchmark's -fair=false).
	PageWindow int
	// AWSOptions are added to every AWS client's middleware stack (the
	// benchmark counts requests and items with them).
	AWSOptions []func(*middleware.Stack) error
	// StoreOptions are passed to store.New (e.g. store.WithUsage).
	StoreOptions []store.Option
	// StrictOutbound makes the sandbox's outbound clients and API checks
	// behave as deployed: https to the platforms' own public hosts only.
	// Off (the default), connections and providers may point at fakes on
	// loopback over http (safehttp.EnvAllowPrivateHosts explains why this
	// is a local-only setting).
	StrictOutbound bool
	// OnInvoke, when set, is called after every handler invocation with
	// the function's name ("bulksync", "webhook", ...) and how long it took
	// — what Lambda would bill.
	OnInvoke func(function string, took time.Duration)
	// OAuth are the platforms' OAuth apps (tests point them at the fakes).
	OAuth oauth.Apps
	// SchedulerNow is the scheduler's clock (nil: time.Now): tests move
	// it on a day to make the daily webhook check due (App.Tick).
	SchedulerNow func() time.Time
	// APITimeout, when set and shorter than the api function's deployed
	// timeout, is its invocations' deadline instead (tests of what a
	// request does when its deadline comes; never longer than deployed).
	APITimeout time.Duration
}

// App is a running sandbox: the real handlers behind one HTTP server,
// queue pollers in place of event source mappings, and the scheduler's
// ticks — each with its deployed function's settings (resources.Functions,
// resources.Schedules) and routes (pkg/routes).
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
	awsCfg, err := sharedconfig.Load(ctx)
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
	// The handlers, built by the same composition root as the Lambda
	// mains and `make invoke`.
	env := compose.Env{
		DynamoDB: db, SQS: sq, Names: names, Sealer: cfg.Sealer, AdminToken: cfg.AdminToken,
		PublicBaseURL: cfg.PublicBaseURL, Log: cfg.Log, StoreOptions: cfg.StoreOptions, OAuth: cfg.OAuth, SchedulerNow: cfg.SchedulerNow,
		// The fakes are on loopback; StrictOutbound gives the deployed policy.
		AllowPrivateHosts: !cfg.StrictOutbound, PageWindow: cfg.PageWindow,
	}
	// Each handler gets only what its deployed function is given (For).
	a := &App{cfg: cfg, Store: env.Store(), DynamoDB: db, SQS: sq, BaseURL: base, PublicBaseURL: cfg.PublicBaseURL, Names: names, mux: http.NewServeMux(), listener: l,
		sched: schedulerfn.New(env.For("scheduler"))}
	if err := a.route(map[string]APIHandler{
		routes.API: apifn.New(env.For(routes.API)).Handle, routes.Webhook: webhookfn.New(env.For(routes.Webhook)).Handle, routes.Inbound: inboundfn.New(env.For(routes.Inbound)).Handle,
		routes.Health: health.Handler{Version: "sandbox"}.Handle,
	}); err != nil {
		return nil, err
	}
	a.mux.HandleFunc("POST /_sandbox/schedule", a.fireSchedule)
	a.srv = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}

	// Queue pollers in place of the event source mappings, with the
	// deployed mappings' settings (resources.Functions).
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	for _, c := range []struct {
		fn      string
		url     string
		handler SQSHandler
	}{
		{"bulksync", names.PagesQueueURL, bulksyncfn.New(env.For("bulksync")).Handle},
		{"outbox", names.OutboxQueueURL, outboxfn.New(env.For("outbox")).Handle},
	} {
		arn, err := queueARN(ctx, sq, c.url)
		if err != nil {
			cancel()
			return nil, err
		}
		p := pollerFor(c.fn, cfg)
		p.SQS, p.QueueURL, p.QueueARN, p.Handler = sq, c.url, arn, timedSQS(cfg, c.fn, c.handler)
		a.goRun(func() { p.Run(runCtx) })
	}
	a.goRun(func() { a.daily(runCtx) })
	a.goRun(func() {
		if err := a.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Log.Error("sandbox server stopped", "err", err)
		}
	})
	return a, nil
}

// pollerFor is a poller with the deployed event source settings of
// function fn: batch size, maximum concurrency, partial batch responses,
// and the function's timeout as each invocation's deadline.
func pollerFor(fn string, cfg Config) *Poller {
	f, _ := resources.FunctionByName(fn)
	es := f.EventSource
	p := &Poller{BatchSize: es.BatchSize, Concurrency: es.MaxConcurrency, WholeBatch: !es.ReportBatchItemFailures,
		Timeout: f.Timeout, RetryDelay: 2 * time.Second, Log: cfg.Log}
	if fn == "bulksync" && cfg.PageWorkers > 0 {
		p.Concurrency = cfg.PageWorkers
	}
	return p
}

// route serves exactly the deployed routes (pkg/routes), each by its
// function's handler; any other method or path gets API Gateway's own 404,
// so a route that is not deployed is not served here either.
func (a *App) route(handlers map[string]APIHandler) error {
	for _, r := range routes.All() {
		h, ok := handlers[r.Function]
		if !ok {
			return fmt.Errorf("sandbox: no handler for function %s (route %s)", r.Function, r.Key())
		}
		a.mux.Handle(r.Method+" "+r.Path, HTTP(r.Path, timedAPI(a.cfg, r.Function, withDeadline(r.Function, a.cfg.APITimeout, h))))
	}
	a.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not Found"}`)
	}))
	return nil
}

// withDeadline gives each invocation of function fn its deployed timeout
// as the context deadline, as Lambda does (the api function's shortened
// to apiTimeout when that is shorter).
func withDeadline(fn string, apiTimeout time.Duration, h APIHandler) APIHandler {
	f, ok := resources.FunctionByName(fn)
	if !ok || f.Timeout <= 0 {
		return h
	}
	timeout := f.Timeout
	if fn == "api" && apiTimeout > 0 && apiTimeout < timeout {
		timeout = apiTimeout
	}
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return h(ctx, e)
	}
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

// fireSchedule runs the scheduler's tick now (sandbox only).
func (a *App) fireSchedule(w http.ResponseWriter, r *http.Request) {
	sum, err := a.tick(r.Context(), time.Now())
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "internal", "message": "schedule failed"}})
		return
	}
	_ = json.NewEncoder(w).Encode(sum)
}

// Tick runs one scheduler tick now, as the EventBridge rule would (its
// clock is Config.SchedulerNow).
func (a *App) Tick(ctx context.Context) (scheduler.Summary, error) { return a.tick(ctx, time.Now()) }

// tick invokes the scheduler as its EventBridge rule does, with the
// function's timeout as the deadline.
func (a *App) tick(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	f, _ := resources.FunctionByName("scheduler")
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if a.cfg.OnInvoke != nil {
			a.cfg.OnInvoke("scheduler", time.Since(start))
		}
	}()
	return a.sched.Handle(ctx, scheduledEvent(now))
}

// daily fires the scheduler at the deployed rule's rate
// (resources.Schedules).
func (a *App) daily(ctx context.Context) {
	rate := resources.SchedulerTick
	for _, s := range resources.Schedules() {
		if s.Function == "scheduler" {
			rate = s.Rate
		}
	}
	t := time.NewTicker(rate)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := a.tick(ctx, now); err != nil {
				a.cfg.Log.Error("scheduler tick failed", "err", err)
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
