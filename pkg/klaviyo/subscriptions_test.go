package klaviyo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

const hookURL = "https://hub.example/webhooks/klaviyo/c1"

func hookClient(t *testing.T, s *klaviyotest.Server, secret string) *klaviyo.Client {
	t.Helper()
	c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: s.APIKey(), APIBaseURL: s.URL(), WebhookSecret: secret}, source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSubscriptions_CreateListReactivateDelete: the client's webhooks on
// the fake's Webhooks API: created with our secret and one topic each,
// listed with their topics, re-enabled, deleted (twice: no error).
func TestSubscriptions_CreateListReactivateDelete(t *testing.T) {
	t.Parallel()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 2, Seed: 5, HookPerSecond: -1, HookPerMinute: -1})
	t.Cleanup(kl.Close)
	c := hookClient(t, kl, "whsec-kl")
	c.SetHookPace(1000, 100000)
	ctx := context.Background()

	offered, err := c.OfferedTopics(ctx)
	if err != nil || !slices.Contains(offered, klaviyo.WebhookTopics[0]) || !slices.Contains(offered, klaviyo.WebhookTopics[1]) {
		t.Fatalf("offered %v %v", offered, err)
	}
	sub, err := c.Subscribe(ctx, klaviyo.WebhookTopics[0], hookURL)
	if err != nil || sub.ID == "" || !sub.Active || sub.Topic != klaviyo.WebhookTopics[0] {
		t.Fatalf("subscribe: %+v %v", sub, err)
	}
	hooks := kl.Webhooks()
	if len(hooks) != 1 || hooks[0].Secret != "whsec-kl" || hooks[0].EndpointURL != hookURL || !slices.Equal(hooks[0].Topics, klaviyo.WebhookTopics[:1]) {
		t.Fatalf("the fake holds %+v", hooks)
	}
	var he *httpx.Error
	if _, err := c.Subscribe(ctx, klaviyo.WebhookTopics[1], "http://hub.example/x"); !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("an http endpoint: %v, want Klaviyo's 400", err)
	}
	if _, err := c.Subscribe(ctx, "event:klaviyo.no_such_topic", hookURL); !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("an unknown topic: %v, want Klaviyo's 400", err)
	}
	if _, err := hookClient(t, kl, "").Subscribe(ctx, klaviyo.WebhookTopics[1], hookURL); !errors.Is(err, klaviyo.ErrInvalidConfig) {
		t.Fatalf("no secret: %v", err)
	}

	kl.SetWebhookEnabled(sub.ID, false)
	subs, err := c.Subscriptions(ctx)
	if err != nil || len(subs) != 1 || subs[0] != (source.Subscription{ID: sub.ID, Topic: klaviyo.WebhookTopics[0], URL: hookURL, Active: false}) {
		t.Fatalf("listed %+v %v", subs, err)
	}
	if err := c.Reactivate(ctx, sub.ID); err != nil || !kl.Webhooks()[0].Enabled {
		t.Fatalf("reactivate: %v %+v", err, kl.Webhooks())
	}
	if err := c.Unsubscribe(ctx, sub.ID); err != nil || len(kl.Webhooks()) != 0 {
		t.Fatalf("unsubscribe: %v", err)
	}
	if err := c.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatalf("unsubscribing one already gone: %v", err)
	}
}

// TestSubscriptions_AccountWithoutWebhooksIsUnavailable: Klaviyo's 403 to
// an account without the Webhooks API is source.WebhooksUnavailableError
// (naming Advanced KDP), not a refused key; a refused key (401) still is.
func TestSubscriptions_AccountWithoutWebhooksIsUnavailable(t *testing.T) {
	t.Parallel()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 2, Seed: 6, NoWebhookAccess: true, HookPerSecond: -1, HookPerMinute: -1})
	t.Cleanup(kl.Close)
	c := hookClient(t, kl, "whsec-kl")
	c.SetHookPace(1000, 100000)
	ctx := context.Background()
	var ue *source.WebhooksUnavailableError
	if _, err := c.Subscriptions(ctx); !errors.As(err, &ue) || !strings.Contains(ue.Reason, "Advanced KDP") || !strings.Contains(ue.Reason, "permission_denied") {
		t.Fatalf("list: %v, want unavailable", err)
	}
	if _, err := c.Subscribe(ctx, klaviyo.WebhookTopics[0], hookURL); !errors.As(err, &ue) {
		t.Fatalf("create: %v, want unavailable", err)
	}
	// The rest of the API still works for it.
	if err := c.CheckCredentials(ctx); err != nil {
		t.Fatalf("credentials: %v", err)
	}
	bad, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: "pk_wrong", APIBaseURL: kl.URL()}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Subscriptions(ctx); !errors.Is(err, klaviyo.ErrUnauthorized) {
		t.Fatalf("a refused key: %v", err)
	}
	kl.SetWebhookAccess(true)
	if subs, err := c.Subscriptions(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("after access is given: %v %v", subs, err)
	}
}

// TestSubscriptions_ThrottledCallIsRetriedAfterRetryAfter: a 429 from the
// Webhooks API is waited out (Retry-After) and retried.
func TestSubscriptions_ThrottledCallIsRetriedAfterRetryAfter(t *testing.T) {
	t.Parallel()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 1, Seed: 7})
	t.Cleanup(kl.Close)
	c := hookClient(t, kl, "whsec-kl")
	kl.ThrottleNextHooks(1)
	start := time.Now()
	if _, err := c.OfferedTopics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := kl.HookThrottled(); n != 1 {
		t.Fatalf("%d throttled, want 1", n)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, before the Retry-After second", d)
	}
}

// TestFake_DeliversSignedConsentChangesRetriesAndDisables: a consent
// change made through the fake is delivered to the webhook holding its
// topic, signed so VerifyWebhook accepts it and ParseWebhook maps it; a
// failed delivery waits for Deliver, and MaxFailures failures in a row
// disable the webhook.
func TestFake_DeliversSignedConsentChangesRetriesAndDisables(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		fail    bool
		records []source.Record
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := klaviyo.VerifyWebhook("whsec-kl", r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		wh, err := klaviyo.ParseWebhook(r.Header, body, source.Options{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		records = append(records, wh.Records...)
	}))
	t.Cleanup(rcv.Close)
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 3, Seed: 8, HookPerSecond: -1, HookPerMinute: -1, AllowHTTPEndpoints: true})
	t.Cleanup(kl.Close)
	c := hookClient(t, kl, "whsec-kl")
	c.SetHookPace(1000, 100000)
	for _, topic := range klaviyo.WebhookTopics {
		if _, err := c.Subscribe(context.Background(), topic, rcv.URL); err != nil {
			t.Fatal(err)
		}
	}
	if n := kl.SetSMSConsent(2, "UNSUBSCRIBED", time.Now()); n != 1 {
		t.Fatalf("%d deliveries answered 2xx, want 1", n)
	}
	mu.Lock()
	if len(records) != 1 || records[0].Consent.State != source.SignalUnsubscribed {
		t.Fatalf("delivered %+v", records)
	}
	fail = true
	mu.Unlock()

	if n := kl.SetSMSConsent(2, "SUBSCRIBED", time.Now()); n != 0 || kl.Pending() != 1 {
		t.Fatalf("a failed delivery: %d answered, %d pending", n, kl.Pending())
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if n := kl.Deliver(); n != 1 || kl.Pending() != 0 {
		t.Fatalf("the retry: %d answered, %d pending", n, kl.Pending())
	}
	mu.Lock()
	if len(records) != 2 || records[1].Consent.State != source.SignalSubscribed {
		t.Fatalf("delivered %+v", records)
	}
	fail = true
	mu.Unlock()

	kl.SetSMSConsent(3, "UNSUBSCRIBED", time.Now()) // failure 1
	for range klaviyotest.MaxFailures - 1 {
		kl.Deliver()
	}
	var unsub klaviyotest.Webhook
	for _, w := range kl.Webhooks() {
		if slices.Contains(w.Topics, "event:klaviyo.unsubscribed_from_sms_marketing") {
			unsub = w
		}
	}
	if unsub.Enabled || kl.Pending() != 0 {
		t.Fatalf("after %d failures: %+v, %d pending", klaviyotest.MaxFailures, unsub, kl.Pending())
	}
}
