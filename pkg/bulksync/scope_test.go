package bulksync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// TestMailchimp_SelectedTagScopesTheSync is issue 18 item 1 as a user sees
// it: a 10,000-member audience in confirmation mode with one selected tag
// of 500 members syncs exactly those 500 (500 contacts, 500 confirmation
// messages queued, not 10,000) and reports the other 9,500 out_of_scope;
// the run adds up. A member who then leaves the tag loses the Mailchimp
// source on the next full sync (its contact, which nothing else keeps,
// goes), and that sync sends nothing.
func TestMailchimp_SelectedTagScopesTheSync(t *testing.T) {
	t.Parallel()
	const members, every = 10000, 20 // one member in 20 is tagged: 500
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: members, Seed: 18})
	defer mc.Close()
	var tagged []int
	for n := every; n <= members; n += every {
		tagged = append(tagged, n)
		// A distinct valid mobile and email each, so each is one contact
		// and one confirmation; never asked about SMS.
		mc.Update(n, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), func(m map[string]any) {
			m["email_address"] = fmt.Sprintf("tagged%d@example.com", n)
			m["sms_phone_number"] = fmt.Sprintf("+6141%07d", n)
			m["sms_subscription_status"] = "nonsubscribed"
			m["merge_fields"].(map[string]any)["PHONE"] = ""
		})
	}
	mc.Tag("SMS subscribers", tagged...)

	s := stacktest.New(t, stacktest.WithVisibilityTimeout(3*time.Minute)) // no page redelivered while it runs: the queue holds each message once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"apiKey": mc.APIKey(), "audienceId": mc.AudienceID(), "apiBaseUrl": mc.URL()})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "mailchimp", Label: "Mailchimp",
		ConsentMode: "confirmation", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw),
		SelectedTags: []string{"SMS subscribers"}}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL)})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 4, BatchSize: 4, RetryDelay: time.Second}).Run(ctx)
	starter := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}
	runToEnd := func(trigger string) store.Run {
		t.Helper()
		run, err := starter.Start(ctx, tenant.ID, conn.ID, trigger, false, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			if run, err = st.GetRun(ctx, tenant.ID, run.ID); err != nil {
				t.Fatal(err)
			}
			if run.Status != store.RunRunning {
				return run
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s did not finish: %+v", run.ID, run.Counts)
			}
		}
	}
	contacts := func() map[string]store.ContactView {
		t.Helper()
		all := map[string]store.ContactView{}
		for cur := ""; ; {
			cs, next, err := st.ListContacts(ctx, tenant.ID, store.ContactFilter{}, 100, cur)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				all[c.Email.Value] = c
			}
			if cur = next; cur == "" {
				return all
			}
		}
	}
	confirmations := func() int {
		t.Helper()
		n := 0
		for {
			out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.OutboxQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				return n
			}
			for _, m := range out.Messages {
				var msg messages.Outbox
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil || msg.SMS.Purpose != "confirmation" {
					t.Fatalf("unexpected outbox message %s", aws.ToString(m.Body))
				}
				n++
				if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.OutboxQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	run := runToEnd(store.TriggerInstall)
	want := store.Counts{Seen: members, Created: 500, OutOfScope: members - 500, Messages: 500, Confirmations: 500}
	if run.Status != store.RunCompleted || run.Counts != want || !run.Counts.AddsUp() {
		t.Fatalf("install run = %s %+v (%s), want completed %+v", run.Status, run.Counts, run.Error, want)
	}
	got := contacts()
	if len(got) != 500 {
		t.Fatalf("%d contacts, want the tag's 500", len(got))
	}
	for _, n := range tagged {
		if c, ok := got[fmt.Sprintf("tagged%d@example.com", n)]; !ok || len(c.Sources) != 1 {
			t.Fatalf("tagged member %d: contact %+v", n, c)
		}
	}
	if n := confirmations(); n != 500 {
		t.Fatalf("%d confirmation messages queued, want 500", n)
	}
	rows, _, err := st.ListReport(ctx, tenant.ID, run.ID, bulksync.OutcomeOutOfScope, 1000, "")
	if err != nil || len(rows) != 1000 || rows[0].Reason != bulksync.ReasonNotSelected || rows[0].ExternalID == "" {
		t.Fatalf("out_of_scope rows: %d %+v %v", len(rows), rows[:min(len(rows), 1)], err)
	}

	// Member 20 leaves the tag: the daily full sync takes the source away.
	mc.Untag("SMS subscribers", every)
	leaver := got["tagged20@example.com"]
	run = runToEnd(store.TriggerSchedule)
	want = store.Counts{Seen: members, Unchanged: 499, OutOfScope: members - 499}
	if run.Status != store.RunCompleted || run.Counts != want {
		t.Fatalf("re-sync run = %s %+v (%s), want completed %+v", run.Status, run.Counts, run.Error, want)
	}
	if _, err := st.GetContact(ctx, tenant.ID, leaver.ID); err != store.ErrNotFound {
		t.Fatalf("the contact of the member who left the tag: %v, want it gone with its only source", err)
	}
	if n := len(contacts()); n != 499 {
		t.Fatalf("%d contacts after the member left, want 499", n)
	}
	var removed []store.ReportRow
	for cur := ""; ; {
		rows, next, err := st.ListReport(ctx, tenant.ID, run.ID, bulksync.OutcomeOutOfScope, 1000, cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Reason != bulksync.ReasonNotSelected {
				removed = append(removed, r)
			}
		}
		if cur = next; cur == "" {
			break
		}
	}
	if len(removed) != 1 || removed[0].ExternalID != mc.UniqueEmailID(every) || removed[0].Reason != "contact_deleted" || removed[0].ContactID != leaver.ID {
		t.Fatalf("report rows of members who lost the source: %+v", removed)
	}
	if n := confirmations(); n != 0 {
		t.Fatalf("the re-sync queued %d messages", n)
	}

	// Tagged again, the member is synced again (nothing of its removal
	// holds it out); its number was confirmed before, so no new text.
	mc.Tag("SMS subscribers", every)
	run = runToEnd(store.TriggerManual)
	want = store.Counts{Seen: members, Created: 1, Unchanged: 499, OutOfScope: members - 500}
	if run.Status != store.RunCompleted || run.Counts != want {
		t.Fatalf("sync after re-tagging = %s %+v (%s), want completed %+v", run.Status, run.Counts, run.Error, want)
	}
	if c, ok := contacts()["tagged20@example.com"]; !ok || len(c.Sources) != 1 {
		t.Fatalf("the re-tagged member: %+v", c)
	}
}
