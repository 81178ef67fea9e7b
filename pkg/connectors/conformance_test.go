package connectors_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/connectors/platforms"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// A contender is one platform under the conformance suite: its spec and
// how to start its fake (each platform package's *test server).
type contender struct {
	spec  platform.Spec
	start func(t *testing.T, customers int, faults bool) fake
}

// fake is one running platform fake as the suite drives it.
type fake struct {
	// cfg is a connection's config pointing at the fake; badCreds the
	// same with credentials the fake refuses (401).
	cfg, badCreds map[string]string
	// touch changes customer n (1-based) at `at`, setting its first name
	// to first.
	touch func(n int, at time.Time, first string)
	// deliver makes the fake deliver a signed webhook about customer n to
	// url, as the platform does.
	deliver func(t *testing.T, url string, n int)
	// writeBack prepares an opt-out the platform can take: the record's
	// external id and number, and whether the fake has received it. nil:
	// the platform cannot write opt-outs back, and says so up front.
	writeBack func(t *testing.T) (externalID, e164 string, reached func() bool)
	// transient are errors the client returns for 429 and 5xx answers.
	transient []error
}

// contenders are the supported platforms (connectors/platforms) under
// the suite, plus the fifth platform a test adds.
func contenders() []contender {
	return []contender{shopifyContender(), wooContender(), mailchimpContender(), klaviyoContender(), fifthContender()}
}

// conformanceSpecs is the list the suite's Registry is built with.
func conformanceSpecs() platform.Specs {
	return append(platforms.All(), fifthSpec())
}

// TestConformance runs every connector against its fake: a full listing
// under injected faults yields every customer exactly once, an
// incremental listing only the changed ones, a delivery the fake signed
// verifies and parses and a tampered one is refused, an opt-out written
// back reaches the fake (or the platform says it cannot), and a refused
// credential is a permanent error while 429 and 5xx are not.
func TestConformance(t *testing.T) {
	t.Parallel()
	specs := conformanceSpecs()
	names := map[source.Platform]bool{}
	for _, c := range contenders() {
		names[c.spec.Name] = true
	}
	for _, s := range specs {
		if !names[s.Name] {
			t.Errorf("platform %s has no contender in the conformance suite", s.Name)
		}
	}
	for _, c := range contenders() {
		t.Run(string(c.spec.Name), func(t *testing.T) {
			t.Parallel()
			if _, ok := specs.Lookup(string(c.spec.Name)); !ok {
				t.Fatalf("%s is not in the registry's list", c.spec.Name)
			}
			if c.spec.Label == "" || c.spec.New == nil || c.spec.Permanent == nil || c.spec.Webhooks == nil {
				t.Fatalf("incomplete spec: %+v", c.spec)
			}
			t.Run("full listing under faults", func(t *testing.T) { t.Parallel(); conformFull(t, c, specs) })
			t.Run("incremental", func(t *testing.T) { t.Parallel(); conformIncremental(t, c, specs) })
			t.Run("webhooks", func(t *testing.T) { t.Parallel(); conformWebhooks(t, c, specs) })
			t.Run("write-back", func(t *testing.T) { t.Parallel(); conformWriteBack(t, c, specs) })
			t.Run("permanence", func(t *testing.T) { t.Parallel(); conformPermanence(t, c, specs) })
		})
	}
}

const conformCustomers = 250

// faultCounter counts the answers a registry's client saw that it had to
// retry: 429, 5xx and dropped connections.
type faultCounter struct {
	base   http.RoundTripper
	faults atomic.Int64
}

func (f *faultCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(r)
	if err != nil || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		f.faults.Add(1)
	}
	if err == nil {
		resp.Body = &countedBody{ReadCloser: resp.Body, f: f}
	}
	return resp, err
}

// countedBody counts a body cut short as a fault.
type countedBody struct {
	io.ReadCloser
	f    *faultCounter
	once sync.Once
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.once.Do(func() { b.f.faults.Add(1) })
	}
	return n, err
}

func registry(specs platform.Specs, rt http.RoundTripper) *connectors.Registry {
	return &connectors.Registry{Opener: plain{}, HTTP: &http.Client{Transport: rt, Timeout: time.Minute}, AllowPrivateHosts: true,
		ShopifyBulkWait: time.Minute, Specs: specs}
}

// list runs a plan to its end, as the pipeline does: every fan-out
// cursor, and each chained page's next.
func list(ctx context.Context, t *testing.T, src source.Source, plan source.Plan) []source.Record {
	t.Helper()
	var out []source.Record
	for _, cur := range plan.Fanout {
		for pages := 0; cur != ""; pages++ {
			if pages > 10_000 {
				t.Fatal("paging does not end")
			}
			p, err := src.FetchPage(ctx, cur)
			if err != nil {
				t.Fatalf("page %q: %v", cur, err)
			}
			out = append(out, p.Records...)
			cur = ""
			if plan.Chained {
				cur = p.Next
			}
		}
	}
	return out
}

func conformFull(t *testing.T, c contender, specs platform.Specs) {
	f := c.start(t, conformCustomers, true)
	counter := &faultCounter{base: http.DefaultTransport}
	r := registry(specs, counter)
	ctx := context.Background()
	src, err := r.Source(ctx, connection(t, "full", string(c.spec.Name), f.cfg))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.PlanBulk(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	seen := map[string]int{}
	recs := list(ctx, t, src, plan)
	for _, rec := range recs {
		seen[rec.ExternalID]++
		if rec.Platform != c.spec.Name || rec.ExternalID == "" {
			t.Fatalf("record of %s with id %q", rec.Platform, rec.ExternalID)
		}
	}
	if len(recs) != conformCustomers || len(seen) != conformCustomers {
		t.Fatalf("%d records of %d distinct customers, want each of %d once", len(recs), len(seen), conformCustomers)
	}
	if counter.faults.Load() == 0 {
		t.Fatal("no fault was injected: the listing proves nothing")
	}
	t.Logf("%s: %d customers once each through %d injected faults", c.spec.Name, len(seen), counter.faults.Load())
}

func conformIncremental(t *testing.T, c contender, specs platform.Specs) {
	f := c.start(t, conformCustomers, false)
	since := fakestore.Epoch.Add(24 * time.Hour)
	for _, n := range []int{2, conformCustomers / 2, conformCustomers - 1} {
		f.touch(n, since.Add(time.Hour), "Conformance")
	}
	r := registry(specs, http.DefaultTransport)
	ctx := context.Background()
	src, err := r.Source(ctx, connection(t, "inc", string(c.spec.Name), f.cfg))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.PlanIncremental(ctx, since)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	recs := list(ctx, t, src, plan)
	ids := map[string]bool{}
	for _, rec := range recs {
		ids[rec.ExternalID] = true
		if rec.FirstName != "Conformance" {
			t.Errorf("unchanged record %s (%q) in the incremental listing", rec.ExternalID, rec.FirstName)
		}
	}
	if len(recs) != 3 || len(ids) != 3 {
		t.Fatalf("%d records (%d distinct), want the 3 changed ones", len(recs), len(ids))
	}
}

func conformWebhooks(t *testing.T, c contender, specs platform.Specs) {
	f := c.start(t, 5, false)
	got := make(chan source.Delivery, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		got <- source.Delivery{Header: r.Header.Clone(), Body: body, URL: "https://hooks.example.com" + r.URL.RequestURI(), Query: q}
	}))
	t.Cleanup(srv.Close)
	f.deliver(t, srv.URL+"/webhooks/"+string(c.spec.Name)+"/conn", 3)
	d := <-got
	d.At = time.Now()
	wh := connectors.WebhooksFor(registry(specs, http.DefaultTransport))[c.spec.Name]
	if wh == nil {
		t.Fatal("no webhook adapter")
	}
	if err := wh.Verify(f.cfg, d); err != nil {
		t.Fatalf("a delivery the fake signed: %v", err)
	}
	parsed, err := wh.Parse(f.cfg, d, source.Options{ConnectionID: "conn"})
	if err != nil || len(parsed.Records) == 0 || parsed.DeliveryID == "" {
		t.Fatalf("parse: %+v, %v", parsed, err)
	}
	for _, rec := range parsed.Records {
		if rec.Platform != c.spec.Name || rec.ExternalID == "" {
			t.Fatalf("parsed record of %s with id %q", rec.Platform, rec.ExternalID)
		}
	}
	// Tampered: the body changed and what the URL carries altered (a
	// platform that signs nothing, Mailchimp, authenticates by the URL's
	// token).
	bad := d
	bad.Body = append([]byte(nil), d.Body...)
	bad.Body[len(bad.Body)/2] ^= 0x01
	bad.Query = map[string]string{}
	for k, v := range d.Query {
		bad.Query[k] = v + "x"
	}
	if err := wh.Verify(f.cfg, bad); !errors.Is(err, source.ErrSignature) {
		t.Fatalf("a tampered delivery: %v, want ErrSignature", err)
	}
}

func conformWriteBack(t *testing.T, c contender, specs platform.Specs) {
	f := c.start(t, 5, false)
	r := registry(specs, http.DefaultTransport)
	ctx := context.Background()
	conn := connection(t, "wb", string(c.spec.Name), f.cfg)
	src, err := r.Source(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	can := src.(source.WriteBackChecker).CanWriteBack()
	if f.writeBack == nil {
		if !errors.Is(can, source.ErrWriteBackUnsupported) {
			t.Fatalf("CanWriteBack = %v, want ErrWriteBackUnsupported from a platform that cannot", can)
		}
		if err := r.WriteBack(ctx, conn, "1", "+61412345678"); !errors.Is(err, source.ErrPermanent) {
			t.Fatalf("write-back to a platform that cannot: %v, want a permanent error", err)
		}
		return
	}
	if can != nil {
		t.Fatalf("CanWriteBack = %v", can)
	}
	id, e164, reached := f.writeBack(t)
	if err := r.WriteBack(ctx, conn, id, e164); err != nil {
		t.Fatal(err)
	}
	if !reached() {
		t.Fatal("the opt-out did not reach the fake")
	}
}

func conformPermanence(t *testing.T, c contender, specs platform.Specs) {
	f := c.start(t, 5, false)
	r := registry(specs, http.DefaultTransport)
	err := fetch(context.Background(), r, connection(t, "bad", string(c.spec.Name), f.badCreds))
	if !errors.Is(err, source.ErrPermanent) {
		t.Fatalf("refused credentials: %v, want a permanent error", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error shows the credential: %v", err)
	}
	if len(f.transient) == 0 {
		t.Fatal("no transient errors named")
	}
	for _, e := range f.transient {
		if c.spec.Permanent(e) {
			t.Errorf("%v classified permanent", e)
		}
	}
}
