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
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// dryRunToEnd starts a dry run and waits for it to finish and release the
// connection's lock (a finished run's status is set just before).
func (r *rig) dryRunToEnd(t *testing.T) store.Run {
	t.Helper()
	ctx := context.Background()
	r.waitUnlocked(t)
	defer r.waitUnlocked(t)
	run, err := r.starter.StartRequest(ctx, syncrun.Request{TenantID: r.tenant, ConnectionID: r.conn.ID, Trigger: store.TriggerManual, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got, err := r.st.GetRun(ctx, r.tenant, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RunRunning {
			return got
		}
	}
	t.Fatalf("dry run %s did not finish", run.ID)
	return store.Run{}
}

// waitUnlocked waits until no run holds the rig's connection.
func (r *rig) waitUnlocked(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		id, err := r.st.RunningRunID(context.Background(), r.tenant, r.conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if id == "" {
			return
		}
	}
	t.Fatal("the connection stayed locked")
}

// TestBulkSync_DryRunsOfDoubleOptInForetellTheRealRuns: in double opt-in
// mode, a dry install (customers and guest orders over several pages)
// counts the requests it would send, their credits (the default template:
// one part each) and the contacts that would wait for a YES, exactly as
// the real install then does; it leaves the connection's last sync alone.
// A dry re-sync after it finds everything unchanged, and after one
// customer changes, that one updated — as the real re-sync then does.
func TestBulkSync_DryRunsOfDoubleOptInForetellTheRealRuns(t *testing.T) {
	t.Parallel()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 150, Guests: 20, Seed: 17})
	defer shop.Close()
	r := newRig(t, shop, "double_opt_in")
	ctx := context.Background()
	same := func(what string, dry, real store.Counts) {
		t.Helper()
		if !dry.AddsUp() || dry.Credits != dry.Messages {
			t.Fatalf("%s: dry run %+v does not add up, or its credits are not one a message", what, dry)
		}
		dry.Credits = 0
		if dry != real {
			t.Fatalf("%s: dry run %+v, real run %+v", what, dry, real)
		}
	}

	dry := r.dryRunToEnd(t)
	if dry.Status != store.RunCompleted || !dry.DryRun || dry.Counts.DoubleOptInRequests == 0 || dry.Counts.PendingConfirmation == 0 {
		t.Fatalf("dry install = %s %+v (%s)", dry.Status, dry.Counts, dry.Error)
	}
	conn, err := r.st.GetConnection(ctx, r.tenant, r.conn.ID)
	if err != nil || !conn.LastSyncAt.IsZero() {
		t.Fatalf("after the dry run the connection's last sync is %v (%v)", conn.LastSyncAt, err)
	}
	if page, _, err := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{Status: "pending"}, 10, ""); err != nil || len(page) != 0 {
		t.Fatalf("after the dry run: %d pending contacts (%v)", len(page), err)
	}
	install := r.runToEnd(t, store.TriggerInstall)
	same("install", dry.Counts, install.Counts)

	dry = r.dryRunToEnd(t)
	if dry.Counts.Unchanged != install.Counts.Created+install.Counts.Updated || dry.Counts.Messages != 0 {
		t.Fatalf("dry re-sync of an unchanged store = %+v", dry.Counts)
	}
	if _, ok := shop.Update(7, time.Now(), func(c *woocommerce.Customer) { c.FirstName = "Renamed" }); !ok {
		t.Fatal("no customer 7")
	}
	dry = r.dryRunToEnd(t)
	again := r.runToEnd(t, store.TriggerManual)
	same("re-sync", dry.Counts, again.Counts)
	if again.Counts.Updated != 1 {
		t.Fatalf("re-sync after one change = %+v", again.Counts)
	}
}

// TestPage_RedeliveredPageCountsTheMessagesItMadeDue: a page whose first
// attempt applied every record and died before counting them (or was
// overtaken by a duplicate delivery) is counted by the next attempt —
// with the double opt-in requests the first attempt made due and its
// contacts waiting for a YES, not only created — in a dry run and in the
// real run alike, which then count the same.
func TestPage_RedeliveredPageCountsTheMessagesItMadeDue(t *testing.T) {
	t.Parallel()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 40, Seed: 29})
	defer shop.Close()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	key, secret := shop.Credentials()
	cfg, _ := json.Marshal(map[string]string{"storeUrl": shop.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "w"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: "double_opt_in", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, cfg)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	registry := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{Store: st, Sources: registry, Pages: pages})
	handle := func(m sqstypes.Message) {
		t.Helper()
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handler: %v %+v", err, resp)
		}
	}
	runOnce := func(dry bool) (store.Run, int) {
		t.Helper()
		run, err := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}.StartRequest(ctx,
			syncrun.Request{TenantID: tenant.ID, ConnectionID: conn.ID, Trigger: store.TriggerManual, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		made := -1 // messages the first attempt made due
		for idle := 0; idle < 3; {
			out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				idle++
				continue
			}
			idle = 0
			for _, m := range out.Messages {
				var pm messages.Page
				_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &pm)
				if pm.Kind == messages.KindPage && made < 0 {
					// The first attempt: every record applied, nothing counted.
					src, err := registry.Source(ctx, conn)
					if err != nil {
						t.Fatal(err)
					}
					page, err := src.FetchPage(ctx, pm.Cursor)
					if err != nil {
						t.Fatal(err)
					}
					applied, err := st.ApplyRecords(ctx, store.Target{TenantID: tenant.ID, Conn: store.MergeConnection(conn), RunID: run.ID, DryRun: dry}, page.Records, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					made = 0
					for _, a := range applied {
						made += len(a.Messages)
					}
				}
				handle(m)
				if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.PagesQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := st.GetRun(ctx, tenant.ID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got, made
	}
	dry, dryMade := runOnce(true)
	real, realMade := runOnce(false)
	if dryMade == 0 || dryMade != realMade {
		t.Fatalf("the first attempts made %d (dry) and %d (real) messages due", dryMade, realMade)
	}
	for _, r := range []store.Run{dry, real} {
		c := r.Counts
		if r.Status != store.RunCompleted || c.Messages != dryMade || c.DoubleOptInRequests != dryMade || c.PendingConfirmation != dryMade {
			t.Fatalf("run (dry %v) = %s %+v: want the %d requests and pending contacts of the first attempt counted", r.DryRun, r.Status, c, dryMade)
		}
	}
	dc := dry.Counts
	dc.Credits = 0
	if dc != real.Counts {
		t.Fatalf("dry run %+v, real run %+v", dry.Counts, real.Counts)
	}
}
