package bulksync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// faultyStore is the store with two faults the test switches on: the
// run-end claim fails (the attempt that counted the last page stopped
// before finishing the run), and the next page-marker reads fail (a
// throttled read that makes a page's last receive give up).
type faultyStore struct {
	*store.Store
	failEnd      atomic.Bool
	failRecorded atomic.Int32
}

func (f *faultyStore) ClaimRunEnd(ctx context.Context, tenant, runID, holder string, d time.Duration) error {
	if f.failEnd.Load() {
		return errors.New("test: the attempt stopped before the run's end")
	}
	return f.Store.ClaimRunEnd(ctx, tenant, runID, holder, d)
}

func (f *faultyStore) PageRecorded(ctx context.Context, tenant, runID, pageID string) (bool, error) {
	if f.failRecorded.Add(-1) >= 0 {
		return false, errors.New("test: throttled")
	}
	return f.Store.PageRecorded(ctx, tenant, runID, pageID)
}

// TestPage_DeadLetteredCopyOfTheLastPageFinishesTheRunWithItsLeavers: a
// full Klaviyo sync's last page is counted by an attempt that stops before
// the run's end (its complete groups' leavers are removed there); a copy
// of that page, redelivered and failing on its last receive, is
// dead-lettered and is the one that sees every page done. It finishes the
// run the way a counted page does: the leaver loses its group
// (groups_left 1) before the run completes. Finishing the run bare
// completed it with the leaver still in the group.
func TestPage_DeadLetteredCopyOfTheLastPageFinishesTheRunWithItsLeavers(t *testing.T) {
	t.Parallel()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 150, Seed: 33, PerSecond: -1, PerMinute: -1, Lists: 1})
	defer kl.Close()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"privateApiKey": kl.APIKey(), "apiBaseUrl": kl.URL()})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "klaviyo", Label: "Klaviyo",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	faulty := &faultyStore{Store: st}
	deps := bulksync.Deps{Store: faulty, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL)}
	h := bulksync.New(deps)
	deps.MaxReceives = 1 // every receive is the last
	lastReceive := bulksync.New(deps)
	starter := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}

	handle := func(h *bulksync.Handler, body string) bool {
		t.Helper()
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: body,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.BatchItemFailures) == 0
	}
	// step handles the queue's next message with h; it returns the body
	// and whether it succeeded.
	step := func() (string, bool) {
		t.Helper()
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 2})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receiving: %v (%d messages)", err, len(out.Messages))
		}
		body := aws.ToString(out.Messages[0].Body)
		ok := handle(h, body)
		if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.PagesQueueURL), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		return body, ok
	}
	getRun := func(id string) store.Run {
		t.Helper()
		r, err := st.GetRun(ctx, tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	install, err := starter.Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; getRun(install.ID).Status == store.RunRunning; i++ {
		if i == 100 {
			t.Fatal("the install did not finish in 100 messages")
		}
		if _, ok := step(); !ok {
			t.Fatal("an install page failed")
		}
	}
	if r := getRun(install.ID); r.Status != store.RunCompleted {
		t.Fatalf("install = %s (%s)", r.Status, r.Error)
	}

	// A member of the list, with a contact of its own, leaves it.
	list := kl.Groups()[0]
	members, _ := kl.Members(list.ID)
	group := "Klaviyo - " + list.Name
	var leaver store.ContactView
	n := 0
	for cur := ""; leaver.ID == ""; {
		cs, next, err := st.ListContacts(ctx, tenant.ID, store.ContactFilter{Group: group}, 100, cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if len(c.Sources) == 1 && slices.Contains(members, c.Sources[0].ExternalID) {
				fmt.Sscanf(c.Sources[0].ExternalID, "01K%d", &n)
				leaver, n = c, n+1
				break
			}
		}
		if cur = next; cur == "" {
			break
		}
	}
	if leaver.ID == "" {
		t.Fatal("no member of the list with a contact of its own: test data changed")
	}
	kl.Leave(list.ID, n)

	// The full sync, up to the attempt that counts its last page and
	// stops before the run's end.
	full, err := starter.Start(ctx, tenant.ID, conn.ID, store.TriggerManual, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	faulty.failEnd.Store(true)
	var last string
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("the full sync did not count its pages in 100 messages")
		}
		body, ok := step()
		if r := getRun(full.ID); r.Planned && r.PagesDone == r.PagesTotal {
			if ok || r.Status != store.RunRunning {
				t.Fatalf("the attempt that counted the last page: ok %v, run %s; want it failed at the run's end, the run running", ok, r.Status)
			}
			last = body
			break
		}
		if !ok {
			t.Fatal("a page of the full sync failed")
		}
	}
	faulty.failEnd.Store(false)

	// Its copy fails on its last receive: dead-lettered, it sees the run
	// done and finishes it.
	faulty.failRecorded.Store(1)
	if !handle(lastReceive, last) {
		t.Fatal("the dead-lettered copy was not acknowledged")
	}
	r := getRun(full.ID)
	if r.Status != store.RunCompleted || r.Counts.GroupsLeft != 1 || r.DeadPages != 0 {
		t.Fatalf("full sync = %s, groups_left %d, %d dead pages (%s); want completed with the leaver removed from its group",
			r.Status, r.Counts.GroupsLeft, r.DeadPages, r.Error)
	}
	c, err := st.GetContact(ctx, tenant.ID, leaver.ID)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(c.Groups, group) {
		t.Fatalf("the leaver kept %q: %v", group, c.Groups)
	}
	if got, err := st.GetConnection(ctx, tenant.ID, conn.ID); err != nil || got.LastFullSyncAt.IsZero() {
		t.Fatalf("the connection's last full sync was not moved (%v)", err)
	}
}
