package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestCreate_HeldWebhookRegistrationAnswersBeforeTheDeadline: a store
// whose webhook endpoint holds every request (a gate the test opens
// later) does not make POST /v1/connections outlive the api function's
// deadline: the create answers 201 with its install started and webhooks
// failing ("did not answer in time"), stored so GET shows it; once the
// store answers, the scheduler's retry registers them.
func TestCreate_HeldWebhookRegistrationAnswersBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	// The api function's deadline, shortened from its deployed timeout
	// below the registration's own bound (hooks.CallTimeout, 8 s) so the
	// store holds it past the deadline; the request's own deadline and the
	// registration's are derived from it as on Lambda.
	const apiTimeout = 6 * time.Second
	s := stacktest.New(t)
	sealer, err := seal.FromEnv(func(string) string { return seal.NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	app, err := sandbox.Start(context.Background(), sandbox.Config{
		Addr: "127.0.0.1:0", AdminToken: "test-admin", Sealer: sealer, PageWorkers: 2, SchedulerNow: clk.now, APITimeout: apiTimeout,
		Names: awsenv.Names{Table: s.Table, PagesQueue: path.Base(s.PagesQueueURL), OutboxQueue: path.Base(s.OutboxQueueURL)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = app.Close(ctx)
	})

	// The store: every /webhooks request waits for the gate (or for the
	// caller to give up).
	gate := make(chan struct{})
	var openGate sync.Once
	open := func() { openGate.Do(func() { close(gate) }) }
	var (
		mu    sync.Mutex
		inner http.Handler
		held  int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := inner
		mu.Unlock()
		if strings.Contains(r.URL.Path, "/webhooks") {
			select {
			case <-gate:
			default:
				mu.Lock()
				held++
				mu.Unlock()
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	}))
	woo := woocommercetest.NewStore(woocommercetest.Options{Customers: 5, Seed: 84, URL: srv.URL})
	mu.Lock()
	inner = woo.Handler()
	mu.Unlock()
	t.Cleanup(func() { open(); srv.Close() })

	c := client{t: t, base: app.BaseURL}
	key, tenantID := c.newTenant("deadline")
	ck, cs := woo.Credentials()
	start := time.Now()
	code, out := c.call("POST", "/v1/connections", key, map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": woo.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec-deadline"}})
	took := time.Since(start)
	if code != 201 || out["syncId"] == nil {
		t.Fatalf("create with a held registration: %d %v", code, out)
	}
	mu.Lock()
	n := held
	mu.Unlock()
	if n == 0 {
		t.Fatal("the store's webhook endpoint was never called: the test held nothing")
	}
	// Lambda would have stopped the function at apiTimeout.
	if took >= apiTimeout {
		t.Fatalf("the create answered after %v, past the api function's deadline %v", took, apiTimeout)
	}
	wh, _ := out["webhooks"].(map[string]any)
	if wh == nil || wh["status"] != store.WebhooksFailing || !strings.Contains(wh["reason"].(string), "in time") {
		t.Fatalf("webhooks in the answer: %v, want failing: the platform did not answer in time", out["webhooks"])
	}
	id := out["id"].(string)
	if code, got := c.call("GET", "/v1/connections/"+id, key, nil); code != 200 || got["webhooks"] == nil || got["webhooks"].(map[string]any)["status"] != store.WebhooksFailing {
		t.Fatalf("GET after the create: %d %v, want the failing state stored", code, got["webhooks"])
	}
	if run := waitRun(t, app, tenantID, out["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install: %s (%s)", run.Status, run.Error)
	}

	// The store answers again: the scheduler's retry registers them.
	open()
	clk.advance(2 * time.Hour)
	if _, err := app.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, got := c.call("GET", "/v1/connections/"+id, key, nil); code != 200 || got["webhooks"].(map[string]any)["status"] != store.WebhooksOK {
		t.Fatalf("GET after the retry: %d %v, want ok", code, got["webhooks"])
	}
	if len(woo.Webhooks()) == 0 {
		t.Fatal("the store holds no webhooks after the retry")
	}
}
