// Command bench measures the whole pipeline the way users load it, on the
// embedded stack (or LocalStack) named by AWS_ENDPOINT_URL*: it hosts the
// real handlers in a sandbox (pkg/dev/sandbox), drives them through the Hub API,
// the platform fakes and signed webhooks, and meters every AWS request and
// handler invocation. `make bench` runs it and prints one table; the same
// table is written as markdown and JSON under .local/bench/.
//
// Per platform: the install sync of a generated store with the fake at the
// platform's real default rate limit (wall time, contacts/s, ratio to the
// rate-limit bound) and with limits off (our ceiling next to the
// emulators', measured in the same run); a full re-sync of the unchanged
// store (items written and read units per contact). Then capacity per
// new / updated / unchanged contact, webhook load at fixed rates with
// duplicate and out-of-order deliveries (p50/p99, errors, exact final data),
// a burst of STOP replies, and a cost model from the measured units.
//
// Settings (flags, or the environment in brackets): -size [BENCH_SIZE]
// customers per store, -platforms, -workers (bulk-sync invocations at once),
// -rates [BENCH_RATES] webhook requests/s, -rate-duration, -stops, -out;
// -starve N [-fair=false] runs only the starvation scenario (starve.go).
// -webhooks-only runs the webhook loads alone.
// -linear runs only the installs and unchanged re-syncs and keeps their
// per-contact figures by size, to check that cost stays linear (linear.go);
// with it, -unlimited turns the fakes' rate limits off, -repeat N makes the
// rows medians of N runs and -warmup M runs an unmeasured M-customer
// install and re-sync first; -matched runs several sizes side by side
// (matched.go).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/dev/embedded"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
)

// settings are one run's knobs.
type settings struct {
	Size         int           `json:"size"`
	Platforms    []string      `json:"platforms"`
	Workers      int           `json:"workers"`
	Rates        []int         `json:"webhookRates"`
	RateDuration time.Duration `json:"webhookSecondsPerRate"`
	Stops        int           `json:"stops"`
	Out          string        `json:"-"`
	// Quiet turns progress lines off (tests).
	Quiet bool `json:"-"`
	// Verbose logs every failed webhook answer.
	Verbose bool `json:"-"`
	// Starve runs only the starvation scenario with a big install of that
	// many customers (starve.go); Fair=false turns the page window off.
	Starve int  `json:"-"`
	Fair   bool `json:"-"`
	// WebhooksOnly runs the webhook loads alone: no emulator ceilings,
	// platforms or STOP burst.
	WebhooksOnly bool `json:"webhooksOnly,omitempty"`
	// Linear runs only the installs and unchanged re-syncs and keeps
	// their per-contact figures by size (linear.go); Unlimited turns the
	// fakes' rate limits off for them.
	Linear    bool `json:"linear,omitempty"`
	Unlimited bool `json:"unlimited,omitempty"`
	// Repeat is how many runs of each phase the linear rows are medians
	// of; Warmup the customers of an unmeasured install and re-sync
	// before them (0: none).
	Repeat int `json:"repeat,omitempty"`
	Warmup int `json:"warmup,omitempty"`
	// Matched runs the linear sizes side by side (matched.go); Lane is
	// set in a lane process, to the directory it shares with the leader.
	Matched []int  `json:"matched,omitempty"`
	Lane    string `json:"-"`
}

func main() {
	var s settings
	var plats, rates string
	flag.IntVar(&s.Size, "size", envInt("BENCH_SIZE", 10000), "customers per platform store")
	flag.StringVar(&plats, "platforms", "woocommerce,shopify,shopify-bulk,mailchimp,klaviyo", "platforms to sync")
	flag.IntVar(&s.Workers, "workers", 4, "concurrent bulk-sync invocations (the sandbox's and Lambda's maximum concurrency)")
	flag.StringVar(&rates, "rates", envString("BENCH_RATES", "50,100,200"), "webhook load rates, requests/s")
	flag.DurationVar(&s.RateDuration, "rate-duration", 10*time.Second, "how long each webhook rate is held")
	flag.IntVar(&s.Stops, "stops", 1000, "STOP replies in the burst")
	flag.StringVar(&s.Out, "out", filepath.Join(localDir(), "bench"), "where results.md and results.json go")
	flag.BoolVar(&s.Verbose, "v", false, "log failed webhook answers")
	flag.IntVar(&s.Starve, "starve", 0, "run only the starvation scenario: one tenant installs this many customers while ten small tenants sync and get webhooks")
	flag.BoolVar(&s.Fair, "fair", true, "with -starve: the page window per run on (false: every page enqueued by its plan)")
	flag.BoolVar(&s.WebhooksOnly, "webhooks-only", false, "run only the webhook loads (-rates)")
	flag.BoolVar(&s.Linear, "linear", false, "only each platform's install and unchanged re-sync; per-contact figures by size into linear.md and linear.json")
	flag.BoolVar(&s.Unlimited, "unlimited", false, "with -linear: the fakes' rate limits off, and our own pace toward them (WooCommerce's maxRequestsPerSecond)")
	flag.IntVar(&s.Repeat, "repeat", 1, "with -linear: runs of each phase; the rows are their medians")
	flag.IntVar(&s.Warmup, "warmup", 0, "with -linear: customers of an unmeasured install and re-sync per platform before the measured runs (0: none)")
	matched := flag.String("matched", "", "with -linear: run these sizes side by side (e.g. 0,1000,10000,100000) instead of -size; rows into matched.md and matched.json")
	flag.StringVar(&s.Lane, "lane", "", "internal: run -size as a lane of -matched, sharing this directory with the leader")
	cpuProfile := flag.String("cpuprofile", "", "write the bench process's CPU profile (handlers, SDK, fakes) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if s.WebhooksOnly {
		plats, s.Stops = "", 0
	}
	s.Platforms = split(plats)
	for _, name := range s.Platforms {
		if !slices.ContainsFunc(platforms(), func(p platform) bool { return p.name == name }) {
			fmt.Fprintf(os.Stderr, "bench: -platforms: no platform %q\n", name)
			os.Exit(2)
		}
	}
	for _, r := range split(rates) {
		n, err := strconv.Atoi(r)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -rates: %q is not a positive rate\n", r)
			os.Exit(2)
		}
		s.Rates = append(s.Rates, n)
	}
	for _, v := range split(*matched) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "bench: -matched: %q is not a size\n", v)
			os.Exit(2)
		}
		s.Matched = append(s.Matched, n)
	}
	if len(s.Matched) > 0 && (!s.Linear || len(s.Matched) < 2) {
		fmt.Fprintln(os.Stderr, "bench: -matched needs -linear and two sizes or more")
		os.Exit(2)
	}
	if s.Linear && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// The fakes' stores live in this process: paced by GOGC, a big
		// store's heap would make the handlers collect their garbage
		// less often than a small one's (at 1,000 customers 21
		// collections per 1,000 contacts, at 10,000 11.5). Collections
		// paced by a fixed heap limit instead run about as often at
		// every size, and rarely.
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(linearHeapLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if s.Lane != "" {
		err := runLane(ctx, s)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: lane:", err)
			os.Exit(1)
		}
		return
	}
	if s.Starve > 0 {
		code := starveMain(ctx, s)
		stop()
		os.Exit(code)
	}
	res, err := run(ctx, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if s.Linear {
		// Each platform's rows were saved as it finished (saveLinear,
		// saveMatched).
		name := "linear"
		if len(s.Matched) > 0 {
			name = "matched"
		}
		rows, err := mergeLinear(filepath.Join(s.Out, name+".json"), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Printf("\n%s\nwritten: %s, %s\n", linearMarkdown(rows), filepath.Join(s.Out, name+".md"), filepath.Join(s.Out, name+".json"))
		return
	}
	fmt.Println()
	fmt.Print(res.markdown())
	md, js, err := res.write(s.Out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("\nwritten: %s, %s\n", md, js)
}

// bench is one running benchmark.
type bench struct {
	s     settings
	app   *sandbox.App
	meter *meter
	usage *store.Usage
	admin sandbox.Client
	// poll reads runs for waitRun through an unmetered client: the
	// bench's own polling is not the product's cost.
	poll *store.Store
	// queues reads the queues' depths for quiesce, also unmetered.
	queues *sqs.Client
}

// startBench starts a sandbox on fresh resources (names with their own
// suffix, a new sealer and admin token, the meter on every AWS call) with
// the given page window, and the unmetered clients the bench itself reads
// with (b.poll, b.queues); stop closes it and removes the resources.
func startBench(ctx context.Context, s settings, kind string, window int) (b *bench, stop func(), err error) {
	suffix := fmt.Sprintf("-%s-%d", kind, time.Now().UnixNano())
	names := awsenv.NamesFrom(os.Getenv)
	names.Table += suffix
	names.PagesQueue += suffix
	names.OutboxQueue += suffix
	names.PagesQueueURL, names.OutboxQueueURL, names.PagesDLQURL = "", "", ""
	sealer, err := seal.New(randomBytes(32))
	if err != nil {
		return nil, nil, err
	}
	b = &bench{s: s, meter: newMeter(), usage: &store.Usage{}}
	admin := "adm_" + hex.EncodeToString(randomBytes(16))
	b.app, err = sandbox.Start(ctx, sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: admin, Sealer: sealer, Names: names, PageWorkers: s.Workers, PageWindow: window,
		AWSOptions: []func(*middleware.Stack) error{b.meter.option}, StoreOptions: []store.Option{store.WithUsage(b.usage)},
		OnInvoke: b.meter.invoked,
	})
	if err != nil {
		return nil, nil, err
	}
	b.admin = sandbox.Client{Base: b.app.BaseURL, Token: admin}
	stop = func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.app.Close(shutdown)
		b.cleanup(shutdown)
	}
	awsCfg, err := sharedconfig.Load(ctx)
	if err != nil {
		stop()
		return nil, nil, err
	}
	b.poll = store.New(awsenv.NewDynamoDB(awsCfg), names.Table)
	b.queues = awsenv.NewSQS(awsCfg)
	return b, stop, nil
}

// run starts a sandbox on fresh resources, runs every part and returns
// the results.
func run(ctx context.Context, s settings) (*results, error) {
	b, stop, err := startBench(ctx, s, "bench", 0)
	if err != nil {
		return nil, err
	}
	defer stop()
	res := &results{Settings: s, Machine: machine(), Started: time.Now().UTC()}
	if s.Linear && len(s.Matched) > 0 {
		res.Linear, err = b.matched(ctx, s.Matched)
		res.Finished = time.Now().UTC()
		return res, err
	}
	if s.Linear {
		res.Linear, err = b.linear(ctx)
		res.Finished = time.Now().UTC()
		return res, err
	}

	if !s.WebhooksOnly {
		b.logf("emulator ceilings")
		if res.Emulators, err = b.emulatorCeilings(ctx); err != nil {
			return nil, fmt.Errorf("measuring the emulators: %w", err)
		}
	}
	for _, p := range platforms() {
		if !contains(s.Platforms, p.name) {
			continue
		}
		pr, err := b.platform(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.label, err)
		}
		res.Platforms = append(res.Platforms, pr)
	}
	res.Units = unitsFrom(res.Platforms)
	for _, rate := range s.Rates {
		b.logf("webhook load at %d/s for %s", rate, s.RateDuration)
		w, err := b.webhookLoad(ctx, rate, s.RateDuration)
		if err != nil {
			return nil, fmt.Errorf("webhook load at %d/s: %w", rate, err)
		}
		res.Webhooks = append(res.Webhooks, w)
	}
	if s.Stops > 0 {
		b.logf("burst of %d STOP replies", s.Stops)
		if res.Stops, err = b.stopBurst(ctx, s.Stops); err != nil {
			return nil, fmt.Errorf("STOP burst: %w", err)
		}
	}
	res.Cost = costModel(res.Platforms)
	res.Finished = time.Now().UTC()
	return res, nil
}

// linearHeapLimit is the heap that sets off a garbage collection in the
// linear and matched modes (with GOGC off). A 100,000-customer install
// collected 8 times for its 14.6 GB allocated: about 1.8 GB freed a time,
// so it kept about 200 MB live.
const linearHeapLimit = 2 << 30

// runLane runs a lane of a matched run (matched.go) on a sandbox of its own.
func runLane(ctx context.Context, s settings) error {
	b, stop, err := startBench(ctx, s, "lane", 0)
	if err != nil {
		return err
	}
	defer stop()
	return b.lane(ctx, laneDir(s.Lane))
}

// newTenant creates a tenant through the admin API and returns a client
// holding its API key.
func (b *bench) newTenant(ctx context.Context, name string) (string, sandbox.Client, error) {
	var t struct{ TenantID, APIKey string }
	if err := b.admin.Do(ctx, "POST", "/admin/tenants", map[string]string{"name": name}, &t); err != nil {
		return "", sandbox.Client{}, err
	}
	return t.TenantID, sandbox.Client{Base: b.app.BaseURL, Token: t.APIKey}, nil
}

// waitRun polls a run until it is no longer running.
func (b *bench) waitRun(ctx context.Context, tenant, runID string, timeout time.Duration) (store.Run, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := b.poll.GetRun(ctx, tenant, runID)
		if err != nil {
			return r, err
		}
		if r.Status != store.RunRunning {
			if r.Status != store.RunCompleted {
				return r, fmt.Errorf("run %s ended %s: %s", runID, r.Status, r.Error)
			}
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("run %s still running after %s (%d/%d pages)", runID, timeout, r.PagesDone, r.PagesTotal)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *bench) logf(format string, args ...any) {
	if !b.s.Quiet {
		fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func localDir() string {
	wd, _ := os.Getwd()
	if root, err := embedded.FindRoot(wd); err == nil {
		return filepath.Join(root, ".local")
	}
	return filepath.Join(os.TempDir(), "contactsync")
}
