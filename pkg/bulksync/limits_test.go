package bulksync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// TestInstall_OversizedRecordsDoNotStallThePage: a Mailchimp audience
// whose one page holds a member with a 1 MB name, one with 10,000 tags,
// one with a 300-character email and one with two 600-character names,
// next to normal members. The install run completes and adds up; every
// normal member's contact is exactly what the same audience without the
// bad members gives (a second tenant syncs that one); the big members are
// cut to size or invalid, each with its reason in the report (issue 15,
// item 7). Before, the page failed on every retry, the run stayed running
// and its lock held.
func TestInstall_OversizedRecordsDoNotStallThePage(t *testing.T) {
	t.Parallel()
	const members, seed = 40, 17
	bad := mailchimptest.NewServer(mailchimptest.Options{Members: members, Seed: seed})
	defer bad.Close()
	good := mailchimptest.NewServer(mailchimptest.Options{Members: members, Seed: seed})
	defer good.Close()
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	mergeFields := func(m map[string]any) map[string]any { return m["merge_fields"].(map[string]any) }
	bad.Update(3, at, func(m map[string]any) { mergeFields(m)["FNAME"] = strings.Repeat("é", 1<<19) }) // 1 MB
	// Mailchimp tags become groups when the connection selects them: the
	// connection selects all 10,000 (stored directly; the Hub API caps a
	// selection at 100 now).
	tagNames := make([]string, 10000)
	for i := range tagNames {
		tagNames[i] = fmt.Sprintf("tag-%05d", i)
	}
	// Selected tags scope the sync: every member of both audiences is in
	// the first one (a static segment), so all of them are synced.
	every := make([]int, members)
	for i := range every {
		every[i] = i + 1
	}
	bad.Tag(tagNames[0], every...)
	good.Tag(tagNames[0], every...)
	bad.Update(5, at, func(m map[string]any) {
		tags := m["tags"].([]map[string]any) // tag-00000 first
		for i, name := range tagNames[1:] {
			tags = append(tags, map[string]any{"id": 1_000_000 + i, "name": name})
		}
		m["tags"] = tags
	})
	longEmail := strings.Repeat("a", 288) + "@example.com" // 300 characters
	bad.Update(7, at, func(m map[string]any) { m["email_address"] = longEmail })
	bad.Update(9, at, func(m map[string]any) {
		mergeFields(m)["FNAME"], mergeFields(m)["LNAME"] = strings.Repeat("Ö", 600), strings.Repeat("l", 600)
	})
	isBad := map[int]bool{3: true, 5: true, 7: true, 9: true}

	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{
		Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
	})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 2, BatchSize: 2, RetryDelay: time.Second}).Run(ctx)
	starter := syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}
	install := func(mc *mailchimptest.Server) (string, store.Run) {
		t.Helper()
		tenant, _, err := st.CreateTenant(ctx, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(map[string]string{"apiKey": mc.APIKey(), "audienceId": mc.AudienceID(), "apiBaseUrl": mc.URL()})
		conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "mailchimp", Label: "Mailchimp",
			ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw),
			SelectedTags: tagNames}
		if err := st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		run, err := starter.Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(2 * time.Minute); run.Status == store.RunRunning || run.Status == ""; {
			if time.Now().After(deadline) {
				t.Fatalf("run %s still %s: its page never completes", run.ID, run.Status)
			}
			time.Sleep(100 * time.Millisecond)
			if run, err = st.GetRun(ctx, tenant.ID, run.ID); err != nil {
				t.Fatal(err)
			}
		}
		return tenant.ID, run
	}
	badTenant, run := install(bad)
	goodTenant, want := install(good)
	if run.Status != store.RunCompleted || !run.Counts.AddsUp() || run.Counts.Seen != members {
		t.Fatalf("install run = %s %+v (%s), want completed with %d records that add up", run.Status, run.Counts, run.Error, members)
	}
	if want.Status != store.RunCompleted || run.Counts.Invalid != want.Counts.Invalid+1 {
		t.Errorf("invalid: %d, the same audience without the bad members: %d (+1 for the long email)", run.Counts.Invalid, want.Counts.Invalid)
	}

	// Report rows of the bad members, by external id.
	rows := map[string]store.ReportRow{}
	for cursor := ""; ; {
		page, next, err := st.ListReport(ctx, badTenant, run.ID, "", 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			rows[r.ExternalID] = r
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	member := func(mc *mailchimptest.Server, n int) map[string]any {
		var m map[string]any
		_ = json.Unmarshal(memberJSON(t, mc, n), &m)
		return m
	}
	contactOf := func(tenant, addr string) (store.ContactView, bool) {
		key, reason := email.Normalize(addr)
		if reason != email.ReasonNone {
			return store.ContactView{}, false
		}
		list, _, err := st.ListContacts(ctx, tenant, store.ContactFilter{Query: key}, 2, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.EmailKey == key {
				return c, true
			}
		}
		return store.ContactView{}, false
	}
	for n, reason := range map[int]string{3: source.NoteNameTruncated, 5: source.NoteGroupsTruncated, 7: source.InvalidEmailTooLong, 9: source.NoteNameTruncated} {
		id := member(bad, n)["unique_email_id"].(string)
		if r := rows[id]; !strings.Contains(r.Reason, reason) {
			t.Errorf("member %d: report row %+v, want reason %s", n, r, reason)
		}
	}
	if c, ok := contactOf(badTenant, member(bad, 3)["email_address"].(string)); !ok || c.FirstName.Value != strings.Repeat("é", source.MaxNameRunes) {
		t.Errorf("member 3's contact: %v, first name of %d characters", ok, utf8.RuneCountInString(c.FirstName.Value))
	}
	if c, ok := contactOf(badTenant, member(bad, 5)["email_address"].(string)); !ok || len(c.Groups) != source.MaxGroups || !slices.Contains(c.Groups, "Mailchimp - tag-00000") {
		t.Errorf("member 5's contact: %v, %d groups", ok, len(c.Groups))
	}
	if c, ok := contactOf(badTenant, member(bad, 9)["email_address"].(string)); !ok ||
		c.FirstName.Value != strings.Repeat("Ö", source.MaxNameRunes) || c.LastName.Value != strings.Repeat("l", source.MaxNameRunes) {
		t.Errorf("member 9's contact: %v, names of %d and %d characters", ok, utf8.RuneCountInString(c.FirstName.Value), utf8.RuneCountInString(c.LastName.Value))
	}
	// Every normal member's contact is exactly what the clean audience gives.
	for n := 1; n <= members; n++ {
		if isBad[n] {
			continue
		}
		addr := member(good, n)["email_address"].(string)
		w, wok := contactOf(goodTenant, addr)
		g, gok := contactOf(badTenant, addr)
		if wok != gok || g.FirstName.Value != w.FirstName.Value || g.LastName.Value != w.LastName.Value || g.Phone != w.Phone ||
			g.Status != w.Status || !slices.Equal(g.Groups, w.Groups) || !slices.Equal(g.Labels(), w.Labels()) {
			t.Errorf("member %d: contact %v %+v, want %v %+v", n, gok, g.Contact, wok, w.Contact)
		}
	}
}

// memberJSON reads member n (1-based) from the fake's API, as the client does.
func memberJSON(t *testing.T, mc *mailchimptest.Server, n int) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/3.0/lists/%s/members?count=1&offset=%d", mc.URL(), mc.AudienceID(), n-1), nil)
	req.SetBasicAuth("any", mc.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Members []json.RawMessage `json:"members"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Members) != 1 {
		t.Fatalf("member %d: %v (%d members)", n, err, len(page.Members))
	}
	return page.Members[0]
}
