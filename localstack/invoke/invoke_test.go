package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestEvents_AreUpToDate regenerates the signed sample events and compares
// them with the committed ones (run `make events` after changing them).
func TestEvents_AreUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := writeEvents("../..", dir); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join("../../events", rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("events/%s is stale or missing: run go run ./localstack/invoke -write-events", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEvents_RunThroughTheRealHandlers invokes every sample event against
// the local stack, in order, and checks each answer.
func TestEvents_RunThroughTheRealHandlers(t *testing.T) {
	s := stacktest.New(t)
	t.Setenv("CONTACTSYNC_TABLE", s.Table)
	t.Setenv("CONTACTSYNC_PAGES_QUEUE", s.Table+"-p")
	t.Setenv("CONTACTSYNC_OUTBOX_QUEUE", s.Table+"-o")
	ctx := context.Background()
	status := func(v any) int {
		if r, ok := v.(events.APIGatewayV2HTTPResponse); ok {
			return r.StatusCode
		}
		return -1
	}
	cases := []struct {
		fn, event string
		want      int
	}{
		{"health", "health/get.json", 200},
		{"webhook", "webhook/woocommerce-customer-created.json", 200},
		{"webhook", "webhook/woocommerce-customer-created.json", 200}, // duplicate delivery
		{"webhook", "webhook/woocommerce-guest-order-created.json", 200},
		{"webhook", "webhook/woocommerce-bad-signature.json", 401},
		{"webhook", "webhook/woocommerce-ping.json", 200},
		{"webhook", "webhook/shopify-customers-create.json", 200},
		{"webhook", "webhook/shopify-guest-orders-create.json", 200},
		// Signed and of their topic's shape, but the segment's name (the
		// group) is read from the shop, and the sample shop does not
		// exist: refused, nothing applied (Shopify retries).
		{"webhook", "webhook/shopify-customer-joined-segment.json", 400},
		{"webhook", "webhook/shopify-customer-left-segment.json", 400},
		{"webhook", "webhook/mailchimp-unsubscribe.json", 200},
		{"webhook", "webhook/klaviyo-profile-updated.json", 200},
		{"inbound", "inbound/messagemedia-yes.json", 200},
		{"inbound", "inbound/sinch-help.json", 200},
		{"inbound", "inbound/twilio-yes.json", 200},
		{"inbound", "inbound/twilio-help.json", 200},
		{"inbound", "inbound/twilio-stop.json", 200},
		{"api", "api/create-tenant.json", 201},
		{"api", "api/list-contacts.json", 200},
		{"api", "api/list-connections.json", 200},
		{"api", "api/invalid-connection.json", 400},
		{"api", "api/start-sync.json", 202},
		{"api", "api/start-sync.json", 409},
	}
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join("../../events", c.event))
		if err != nil {
			t.Fatal(err)
		}
		out, err := invoke(ctx, c.fn, raw)
		if err != nil {
			t.Fatalf("%s %s: %v", c.fn, c.event, err)
		}
		if got := status(out); got != c.want {
			t.Errorf("%s %s: status %d, want %d (%+v)", c.fn, c.event, got, c.want, out)
		}
	}
	st := store.New(s.DynamoDB, s.Table)
	p, _, err := st.GetPhone(ctx, SampleTenant, "+61412345678")
	if err != nil || p.Ledger.State() != consent.Unsubscribed {
		t.Fatalf("after the STOP event the number is %s (%v)", p.Ledger.State(), err)
	}
	for _, c := range []struct{ fn, event string }{{"scheduler", "scheduler/daily.json"}, {"bulksync", "bulksync/page-batch.json"}, {"outbox", "outbox/sms-batch.json"}} {
		raw, _ := os.ReadFile(filepath.Join("../../events", c.event))
		out, err := invoke(ctx, c.fn, raw)
		if err != nil {
			t.Fatalf("%s: %v", c.event, err)
		}
		if r, ok := out.(events.SQSEventResponse); ok && len(r.BatchItemFailures) != 0 {
			t.Errorf("%s: failures %+v (a finished run's page and a poison message are acknowledged; an SMS to an opted-out number is skipped)", c.event, r.BatchItemFailures)
		}
	}
}
