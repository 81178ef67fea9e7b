package shopify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

// TestSubscriptions_CreateListDeleteAndTheShopsDeliveries: the client's
// webhookSubscription calls against the fake, and the fake's deliveries:
// signed with the app secret, retried with the same webhook id, and the
// subscription removed once its retries run out.
func TestSubscriptions_CreateListDeleteAndTheShopsDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var failing atomic.Bool
	var (
		mu  sync.Mutex
		ids []string
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := shopify.VerifyWebhook([]string{shopifytest.OAuthClientSecret}, r.Header, body); err != nil {
			t.Errorf("delivery signature: %v", err)
		}
		if _, err := shopify.ParseWebhook(r.Header, body, source.Options{}); err != nil {
			t.Errorf("delivery of %s: %v", r.Header.Get("X-Shopify-Topic"), err)
		}
		mu.Lock()
		ids = append(ids, r.Header.Get("X-Shopify-Webhook-Id"))
		mu.Unlock()
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(rcv.Close)
	s := shopifytest.NewServer(shopifytest.Options{Customers: 2, Seed: 9, RestoreRate: 100000, MaxAvailable: 100000})
	t.Cleanup(s.Close)
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL()}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range c.WebhookTopics() {
		if _, err := c.Subscribe(ctx, topic, rcv.URL+"/hook"); err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
	}
	if _, err := c.Subscribe(ctx, "CUSTOMERS_UPDATE", rcv.URL+"/hook"); err == nil {
		t.Fatal("the same topic and address twice was accepted")
	}
	subs, err := c.Subscriptions(ctx)
	if err != nil || len(subs) != len(shopify.WebhookTopics) {
		t.Fatalf("list: %d %v", len(subs), err)
	}
	var topics []string
	for _, sub := range subs {
		topics = append(topics, sub.Topic)
	}
	if !slices.Equal(slices.Sorted(slices.Values(topics)), slices.Sorted(slices.Values(shopify.WebhookTopics))) {
		t.Fatalf("topics %v", topics)
	}

	failing.Store(true)
	if n := s.UpdateCustomer(1, time.Now(), func(first, _ *string) { *first = "Retried" }); n != 0 || s.Pending() != 1 {
		t.Fatalf("a failed delivery: %d ok, %d pending", n, s.Pending())
	}
	for range shopifytest.MaxRetries {
		s.Deliver()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 1+shopifytest.MaxRetries || ids[0] != ids[len(ids)-1] {
		t.Fatalf("%d attempts (ids %v), want %d with one webhook id", len(ids), ids, 1+shopifytest.MaxRetries)
	}
	subs, _ = c.Subscriptions(ctx)
	for _, sub := range subs {
		if sub.Topic == "CUSTOMERS_UPDATE" {
			t.Fatal("the subscription whose retries ran out is still there")
		}
	}

	for _, sub := range subs {
		if err := c.Unsubscribe(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Unsubscribe(ctx, subs[0].ID); err != nil {
		t.Fatalf("deleting one already gone: %v", err)
	}
	if subs, err := c.Subscriptions(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("after delete: %d %v", len(subs), err)
	}
}
