package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// requestCounter counts the DynamoDB requests a client sends, by
// operation: it sits in the real client's middleware stack, so it sees
// every call the store makes to the emulator.
type requestCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *requestCounter) option(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countRequests",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.ops[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// take returns the counts since the last take and their total.
func (c *requestCounter) take() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops, n := c.ops, 0
	for _, v := range ops {
		n += v
	}
	c.ops = map[string]int{}
	return ops, n
}

func breakdown(ops map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, ops[k]))
	}
	return strings.Join(parts, " ")
}

// TestWebhook_RequestsPerDelivery counts the DynamoDB requests each kind
// of delivery the bench sends costs on a warm handler — a new customer
// (phone and email), a newer version, an older version arriving after
// it, the same delivery again, the same payload under a new delivery id —
// with a counting middleware on the real client against the emulator:
// none may take more than 4 (issue 21 item 5).
func TestWebhook_RequestsPerDelivery(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	counter := &requestCounter{ops: map[string]int{}}
	cfg := s.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, counter.option)
	st := store.New(awsenv.NewDynamoDB(cfg), s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"storeUrl": "http://127.0.0.1:9", "consumerKey": "k", "consumerSecret": "s", "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks()})
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	customer := func(id int64, v int) woocommerce.Customer {
		c := woocommerce.Customer{ID: id, Email: fmt.Sprintf("c%d@example.com", id), FirstName: fmt.Sprint("v", v), LastName: "Count", Role: "customer",
			Billing: woocommerce.Address{FirstName: fmt.Sprint("v", v), LastName: "Count", Phone: fmt.Sprintf("0412 000 %03d", id), Country: "AU", Email: fmt.Sprintf("c%d@example.com", id)}}
		c.DateCreatedGMT = woocommerce.WCTime{Time: base}
		c.DateModifiedGMT = woocommerce.WCTime{Time: base.Add(time.Duration(v) * time.Minute)}
		return c
	}
	deliver := func(c woocommerce.Customer, topic, deliveryID string) string {
		t.Helper()
		body, _ := woocommercetest.EncodePHP(c)
		resp, err := h.Handle(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/webhooks/woocommerce/" + conn.ID, Body: string(body),
			Headers:        map[string]string{"x-wc-webhook-topic": topic, "x-wc-webhook-delivery-id": deliveryID, "x-wc-webhook-signature": woocommerce.Sign("whsec", body)},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("delivery %s: %d %v %s", deliveryID, resp.StatusCode, err, resp.Body)
		}
		return resp.Body
	}
	counter.take()
	// The container's first delivery reads the connection.
	deliver(customer(1, 1), "customer.created", "warm")
	_, first := counter.take()
	t.Logf("first delivery (cold connection): %d requests", first)

	cases := []struct {
		name, topic, id, want string
		c                     woocommerce.Customer
	}{
		{"new customer", "customer.created", "d1", `"created"`, customer(2, 1)},
		{"newer version", "customer.updated", "d2", `"updated"`, customer(2, 3)},
		{"older version after it", "customer.updated", "d3", `"unchanged"`, customer(2, 2)},
		{"same delivery again", "customer.updated", "d2", `"duplicate"`, customer(2, 3)},
		{"same payload, new delivery id", "customer.updated", "d4", `"unchanged"`, customer(2, 3)},
	}
	for _, c := range cases {
		body := deliver(c.c, c.topic, c.id)
		ops, n := counter.take()
		t.Logf("%-30s %d requests: %s (%s)", c.name, n, breakdown(ops), body)
		if !strings.Contains(body, c.want) {
			t.Errorf("%s: answered %s, want %s", c.name, body, c.want)
		}
		if n > 4 {
			t.Errorf("%s: %d DynamoDB requests (%s), want at most 4", c.name, n, breakdown(ops))
		}
	}
}
