package bulksync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestPage_CrashMidPageAndDuplicateDelivery drives the handler by hand: the
// first page's handler "dies" after writing half of its records (written
// straight through the store with the run's id, nothing counted), then SQS
// redelivers that page — twice. The run still ends with exact counts and no
// duplicate contact.
func TestPage_CrashMidPageAndDuplicateDelivery(t *testing.T) {
	t.Parallel()
	const customers = 300
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Seed: 11})
	defer shop.Close()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "w"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	registry := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{Store: st, Sources: registry, Pages: pages})
	run, err := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}.Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	receive := func() []sqstypes.Message {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	handle := func(m sqstypes.Message) {
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handler: %v %+v", err, resp)
		}
	}
	crashed := false
	for idle := 0; idle < 3; {
		msgs := receive()
		if len(msgs) == 0 {
			idle++
			continue
		}
		idle = 0
		for _, m := range msgs {
			var pm messages.Page
			_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &pm)
			if pm.Kind == messages.KindPage && !crashed {
				crashed = true
				src, err := registry.Source(ctx, conn)
				if err != nil {
					t.Fatal(err)
				}
				page, err := src.FetchPage(ctx, pm.Cursor)
				if err != nil {
					t.Fatal(err)
				}
				half := page.Records[:len(page.Records)/2]
				if _, err := st.ApplyRecords(ctx, store.Target{TenantID: tenant.ID, Conn: store.MergeConnection(conn), RunID: run.ID}, half, time.Now()); err != nil {
					t.Fatal(err)
				}
				handle(m) // the redelivery after the crash
			}
			handle(m) // (and a duplicate delivery of the first page)
			if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.PagesQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := st.GetRun(ctx, tenant.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	contacts := 0
	cursor := ""
	for {
		page, next, err := st.ListContacts(ctx, tenant.ID, store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		contacts += len(page)
		if cursor = next; cursor == "" {
			break
		}
	}
	c := got.Counts
	if got.Status != store.RunCompleted || c.Seen != customers || !c.AddsUp() || c.Created != contacts || c.Unchanged != 0 {
		t.Fatalf("run = %s %+v with %d contacts stored: want completed, %d seen, every contact counted as created once", got.Status, c, contacts, customers)
	}
}
