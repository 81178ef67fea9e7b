package woocommerce_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestSubscriptions_CreateListDisableAfterFiveFailuresReactivateDelete:
// the client's webhook calls against the fake, and the fake's deliveries:
// signed with the webhook's secret, retried, and the webhook disabled
// after 5 consecutive failures, as WooCommerce does.
func TestSubscriptions_CreateListDisableAfterFiveFailuresReactivateDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var failing atomic.Bool
	var received atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := woocommerce.VerifyWebhook("whsec", r.Header, mustRead(t, r)); err != nil {
			t.Errorf("delivery signature: %v", err)
		}
		received.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rcv.Close)
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 2, Seed: 5})
	t.Cleanup(s.Close)
	key, secret := s.Credentials()
	c, err := woocommerce.New(woocommerce.Config{StoreURL: s.URL(), ConsumerKey: key, ConsumerSecret: secret, WebhookSecret: "whsec", MaxRPS: 1000}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, "customer.updated", rcv.URL+"/hook")
	if err != nil || sub.ID == "" || !sub.Active || sub.Topic != "customer.updated" || sub.URL != rcv.URL+"/hook" {
		t.Fatalf("subscribe: %+v %v", sub, err)
	}
	if _, err := c.Subscribe(ctx, "customer.exploded", rcv.URL+"/hook"); err == nil {
		t.Fatal("an unknown topic was accepted")
	}
	subs, err := c.Subscriptions(ctx)
	if err != nil || len(subs) != 1 || subs[0] != sub {
		t.Fatalf("list: %+v %v", subs, err)
	}

	failing.Store(true)
	if n := s.UpdateCustomer(1, time.Now(), func(c *woocommerce.Customer) { c.FirstName = "Failing" }); n != 0 || s.Pending() != 1 {
		t.Fatalf("a failed delivery: %d ok, %d pending", n, s.Pending())
	}
	for range 3 {
		s.Deliver()
	}
	if hooks := s.Webhooks(); hooks[0].Status != "active" || s.Pending() != 1 {
		t.Fatalf("after 4 failures: %s, %d pending", hooks[0].Status, s.Pending())
	}
	s.Deliver() // the fifth failure in a row
	if hooks := s.Webhooks(); hooks[0].Status != "disabled" || s.Pending() != 0 || received.Load() != 5 {
		t.Fatalf("after 5 failures: %s, %d pending, %d received", hooks[0].Status, s.Pending(), received.Load())
	}
	subs, _ = c.Subscriptions(ctx)
	if len(subs) != 1 || subs[0].Active {
		t.Fatalf("a disabled webhook is listed %+v", subs)
	}
	if n := s.UpdateCustomer(1, time.Now(), func(c *woocommerce.Customer) { c.FirstName = "Unheard" }); n != 0 || received.Load() != 5 {
		t.Fatalf("a disabled webhook delivered (%d)", received.Load())
	}

	failing.Store(false)
	if err := c.Reactivate(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if n := s.UpdateCustomer(1, time.Now(), func(c *woocommerce.Customer) { c.FirstName = "Heard" }); n != 1 {
		t.Fatalf("after reactivation %d delivered", n)
	}

	req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/wp-json/wc/v3/webhooks/"+sub.ID+"?consumer_key="+key+"&consumer_secret="+secret, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("DELETE without force: %d, want 501", resp.StatusCode)
	}
	if err := c.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatalf("deleting a webhook already gone: %v", err)
	}
	if subs, err := c.Subscriptions(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("after delete: %+v %v", subs, err)
	}
}

func mustRead(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("reading a delivery: %v", err)
	}
	return b
}
