package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// BenchmarkWebhookLatency calls the webhook handler in process with signed
// WooCommerce customer.updated deliveries (each a real change: verify,
// dedupe, merge, conditional writes) against the embedded stack, and
// reports p50/p99 next to the emulator's own GetItem and PutItem latency
// measured in the same run.
func BenchmarkWebhookLatency(b *testing.B) {
	s := stacktest.New(b)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	shop := woocommercetest.NewStore(woocommercetest.Options{Customers: 200, Seed: 3})
	cfg, _ := json.Marshal(map[string]string{"storeUrl": "http://127.0.0.1:9", "consumerKey": "k", "consumerSecret": "s", "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		b.Fatal(err)
	}
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks()})
	event := func(i int) events.APIGatewayV2HTTPRequest {
		c, _ := shop.Customer(int64(i%200 + 1))
		c.FirstName = fmt.Sprint("Name", i)
		c.DateModifiedGMT = woocommerce.WCTime{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)}
		body, _ := woocommercetest.EncodePHP(c)
		return events.APIGatewayV2HTTPRequest{RawPath: "/webhooks/woocommerce/" + conn.ID, Body: string(body),
			Headers:        map[string]string{"x-wc-webhook-topic": "customer.updated", "x-wc-webhook-delivery-id": fmt.Sprint("d", i), "x-wc-webhook-signature": woocommerce.Sign("whsec", body)},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}}
	}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		ev := event(i)
		start := time.Now()
		resp, err := h.Handle(ctx, ev)
		lat = append(lat, time.Since(start))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("delivery %d: %d %v %s", i, resp.StatusCode, err, resp.Body)
		}
		i++
	}
	var get, put []time.Duration
	for j := range 500 {
		key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: fmt.Sprint("lat", j)}, "SK": &types.AttributeValueMemberS{Value: "X"}}
		t0 := time.Now()
		if _, err := s.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: key}); err != nil {
			b.Fatal(err)
		}
		put = append(put, time.Since(t0))
		t0 = time.Now()
		if _, err := s.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key}); err != nil {
			b.Fatal(err)
		}
		get = append(get, time.Since(t0))
	}
	ms := func(d []time.Duration, q float64) float64 {
		slices.Sort(d)
		return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(lat, 0.5), "p50-ms")
	b.ReportMetric(ms(lat, 0.99), "p99-ms")
	b.ReportMetric(ms(get, 0.5), "emulator-GetItem-p50-ms")
	b.ReportMetric(ms(put, 0.5), "emulator-PutItem-p50-ms")
}
