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

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// meteredApply is the store with its record application (contacts, links,
// memberships, claims) metered on its own Usage: what a re-sync writes
// for its records, apart from the run's own bookkeeping.
type meteredApply struct {
	*store.Store
	apply *store.Store
}

func (m meteredApply) ApplyRecords(ctx context.Context, t store.Target, recs []source.Record, now time.Time) ([]store.Applied, error) {
	return m.apply.ApplyRecords(ctx, t, recs, now)
}

type klRig struct {
	t       *testing.T
	api     *hubapi.Handler
	key     string // the tenant's API key
	st      *store.Store
	usage   *store.Usage // the record application's units
	starter syncrun.Starter
	tenant  string
	conn    store.Connection
}

// newKlaviyoRig installs a Klaviyo connection (inferred mode) on the
// embedded stack with the real pipeline; maxReceives 1 dead-letters a
// failing page at once; serial handles one page message at a time (pages
// applied in a fixed order, so what a run writes does not depend on how
// concurrent pages interleave).
func newKlaviyoRig(t *testing.T, kl *klaviyotest.Server, selected []string, maxReceives int, serial bool) *klRig {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	usage := &store.Usage{}
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, key, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"privateApiKey": kl.APIKey(), "apiBaseUrl": kl.URL()})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "klaviyo", Label: "Klaviyo",
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw),
		SelectedTags: selected}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := bulksync.New(bulksync.Deps{Store: meteredApply{Store: st, apply: store.New(s.DynamoDB, s.Table, store.WithUsage(usage))},
		Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages:   pages, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL), DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
		MaxReceives: maxReceives})
	p := &sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: h.Handle, Concurrency: 4, BatchSize: 4, RetryDelay: time.Second}
	if serial {
		p.Concurrency, p.BatchSize = 1, 1
	}
	go p.Run(ctx)
	return &klRig{t: t, api: hubapi.New(hubapi.Deps{Store: st, AdminToken: "admin"}), key: key, st: st, usage: usage, starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}, tenant: tenant.ID, conn: conn}
}

// run starts a run and waits (on its status, with a deadline) for its end.
func (r *klRig) run(trigger string, incremental bool, since time.Time) store.Run {
	r.t.Helper()
	ctx := context.Background()
	run, err := r.starter.Start(ctx, r.tenant, r.conn.ID, trigger, incremental, since)
	if err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if run, err = r.st.GetRun(ctx, r.tenant, run.ID); err != nil {
			r.t.Fatal(err)
		}
		if run.Status != store.RunRunning {
			return run
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("run %s did not finish: %+v", run.ID, run.Counts)
		}
	}
}

// byProfile maps Klaviyo profile ids to their contacts.
func (r *klRig) byProfile() map[string]store.ContactView {
	r.t.Helper()
	out := map[string]store.ContactView{}
	for cur := ""; ; {
		cs, next, err := r.st.ListContacts(context.Background(), r.tenant, store.ContactFilter{}, 100, cur)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, c := range cs {
			for _, l := range c.Sources {
				if l.ConnectionID == r.conn.ID {
					out[l.ExternalID] = c
				}
			}
		}
		if cur = next; cur == "" {
			return out
		}
	}
}

// get calls GET path on the Hub API and decodes its JSON answer into out.
func (r *klRig) get(path string, out any) {
	r.t.Helper()
	resp, err := r.api.Handle(context.Background(), apigw.Request{RawPath: path, Headers: map[string]string{"authorization": "Bearer " + r.key},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}}})
	if err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET %s: %v %d %s", path, err, resp.StatusCode, resp.Body)
	}
	if err := json.Unmarshal([]byte(resp.Body), out); err != nil {
		r.t.Fatal(err)
	}
}

// apiContact is what GET /v1/contacts/{id} says of a contact.
type apiContact struct {
	ID     string   `json:"id"`
	Groups []string `json:"groups"`
}

// contact reads a contact through GET /v1/contacts/{id}, and its version
// from the store.
func (r *klRig) contact(id string) (apiContact, int64) {
	r.t.Helper()
	var c apiContact
	r.get("/v1/contacts/"+id, &c)
	cv, err := r.st.GetContact(context.Background(), r.tenant, id)
	if err != nil || c.ID != id {
		r.t.Fatalf("contact %s: %+v %v", id, c, err)
	}
	return c, cv.Version
}

// groupsLeft is the groups_left count GET /v1/syncs/{id} shows.
func (r *klRig) groupsLeft(runID string) int {
	r.t.Helper()
	var out struct {
		Counts struct {
			GroupsLeft int `json:"groups_left"`
		} `json:"counts"`
	}
	r.get("/v1/syncs/"+runID, &out)
	return out.Counts.GroupsLeft
}

// rows lists a run's report rows with outcome.
func (r *klRig) rows(runID, outcome string) []store.ReportRow {
	r.t.Helper()
	var out []store.ReportRow
	for cur := ""; ; {
		rows, next, err := r.st.ListReport(context.Background(), r.tenant, runID, outcome, 1000, cur)
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, rows...)
		if cur = next; cur == "" {
			return out
		}
	}
}

// TestKlaviyo_ProfileThatLeftAListLosesItsGroupOnTheNextFullSync is issue
// 18's Klaviyo leavers as a user sees them: a profile removed from a list
// keeps "Klaviyo - <list>" through an incremental sync (which lists joins
// only), loses it on the next full sync (groups_left 1, a report row
// updated / left_group naming the group) and keeps its other groups and
// its contact; that full sync re-applies nothing else, and running it
// again writes nothing for its records and removes nothing. Pages are
// handled one at a time here: concurrent chains can leave a link item
// holding a membership's hash, which the next sync re-stamps (README's
// "all items 0.058" of a Klaviyo re-sync), and this test is about what
// the removal leaves behind.
func TestKlaviyo_ProfileThatLeftAListLosesItsGroupOnTheNextFullSync(t *testing.T) {
	t.Parallel()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 300, Seed: 31, PerSecond: -1, PerMinute: -1, Lists: 2, Segments: 1})
	defer kl.Close()
	r := newKlaviyoRig(t, kl, nil, 0, true)
	install := r.run(store.TriggerInstall, false, time.Time{})
	if install.Status != store.RunCompleted || !install.Counts.AddsUp() || install.Counts.GroupsLeft != 0 {
		t.Fatalf("install = %s %+v (%s)", install.Status, install.Counts, install.Error)
	}
	groups := kl.Groups() // Newsletter, VIP (lists), Engaged 30 days (segment)
	contacts := r.byProfile()
	members, _ := kl.Members(groups[0].ID)
	var leaver string
	var n int
	for _, id := range members {
		if c, ok := contacts[id]; ok && slices.Contains(c.Groups, "Klaviyo - Newsletter") && len(c.Sources) == 1 {
			fmt.Sscanf(id, "01K%d", &n)
			leaver, n = id, n+1
			break
		}
	}
	if leaver == "" {
		t.Fatal("no member of Newsletter with a contact: test data changed")
	}
	before := contacts[leaver]
	kl.Leave(groups[0].ID, n)

	inc := r.run(store.TriggerSchedule, true, install.StartedAt)
	if inc.Status != store.RunCompleted || inc.Counts.GroupsLeft != 0 {
		t.Fatalf("incremental = %s %+v (%s)", inc.Status, inc.Counts, inc.Error)
	}
	if c, _ := r.contact(before.ID); !slices.Contains(c.Groups, "Klaviyo - Newsletter") {
		t.Fatalf("an incremental sync removed the group: %v", c.Groups)
	}

	full := r.run(store.TriggerManual, false, time.Time{})
	if full.Status != store.RunCompleted || full.Counts.GroupsLeft != 1 || full.Counts.Created != 0 || full.Counts.Updated != 0 || !full.Counts.AddsUp() {
		t.Fatalf("full sync = %s %+v (%s), want completed, groups_left 1, nothing else changed", full.Status, full.Counts, full.Error)
	}
	after, version := r.contact(before.ID)
	if n := r.groupsLeft(full.ID); n != 1 {
		t.Fatalf("GET /v1/syncs/{id} groups_left = %d, want 1", n)
	}
	want := slices.DeleteFunc(slices.Clone(before.Groups), func(g string) bool { return g == "Klaviyo - Newsletter" })
	if !slices.Equal(after.Groups, want) {
		t.Fatalf("groups after the full sync = %v, want %v", after.Groups, want)
	}
	rows := r.rows(full.ID, "updated")
	if len(rows) != 1 || rows[0].Reason != store.ReasonLeftGroup || rows[0].ExternalID != leaver || rows[0].ContactID != before.ID || rows[0].Group != "Klaviyo - Newsletter" {
		t.Fatalf("updated rows of the full sync = %+v", rows)
	}
	listed, _, err := r.st.ListContacts(context.Background(), r.tenant, store.ContactFilter{Group: "Klaviyo - Newsletter"}, 1000, "")
	if err != nil || slices.ContainsFunc(listed, func(c store.ContactView) bool { return c.ID == before.ID }) {
		t.Fatalf("the leaver is still listed in its old group (%v)", err)
	}

	r.usage.Reset()
	again := r.run(store.TriggerManual, false, time.Time{})
	if again.Status != store.RunCompleted || again.Counts.GroupsLeft != 0 || again.Counts.Created+again.Counts.Updated != 0 {
		t.Fatalf("the same full sync again = %s %+v (%s)", again.Status, again.Counts, again.Error)
	}
	if _, wcu := r.usage.Estimated(); wcu != 0 {
		t.Errorf("re-running the full sync wrote %.1f WCU for its records, want 0", wcu)
	}
	if _, v := r.contact(before.ID); v != version {
		t.Errorf("the leaver's contact was rewritten by the re-run (version %d -> %d)", version, v)
	}
}

// TestKlaviyo_FailedMemberPageRemovesNothing: a full sync whose member
// page fails (dead-lettered) fails, and removes nobody from the group it
// could not list whole; the next full sync that lists it does.
func TestKlaviyo_FailedMemberPageRemovesNothing(t *testing.T) {
	t.Parallel()
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 400, Seed: 32, PerSecond: -1, PerMinute: -1, Lists: 1})
	defer kl.Close()
	r := newKlaviyoRig(t, kl, nil, 1, false)
	install := r.run(store.TriggerInstall, false, time.Time{})
	if install.Status != store.RunCompleted {
		t.Fatalf("install = %s %+v (%s)", install.Status, install.Counts, install.Error)
	}
	list := kl.Groups()[0]
	members, _ := kl.Members(list.ID)
	if len(members) <= 100 {
		t.Fatalf("%d members: test data changed (want more than one page)", len(members))
	}
	contacts := r.byProfile()
	var leaver store.ContactView
	n := 0
	for _, id := range members {
		if c, ok := contacts[id]; ok && len(c.Sources) == 1 {
			fmt.Sscanf(id, "01K%d", &n)
			leaver, n = c, n+1
			break
		}
	}
	if leaver.ID == "" {
		t.Fatal("no member with a contact")
	}
	kl.Leave(list.ID, n)
	kl.FailMembers(list.ID, 100, http.StatusBadRequest) // the second member page fails
	failed := r.run(store.TriggerManual, false, time.Time{})
	if failed.Status != store.RunFailed || failed.Counts.GroupsLeft != 0 {
		t.Fatalf("full sync with a failed member page = %s %+v (%s), want failed, nothing removed", failed.Status, failed.Counts, failed.Error)
	}
	if c, _ := r.contact(leaver.ID); !slices.Contains(c.Groups, "Klaviyo - "+list.Name) {
		t.Fatalf("a failed run removed the group: %v", c.Groups)
	}
	if rows := r.rows(failed.ID, "updated"); len(rows) != 0 {
		t.Fatalf("a failed run reported %+v", rows)
	}

	kl.FailMembers(list.ID, 0, 0)
	ok := r.run(store.TriggerManual, false, time.Time{})
	if ok.Status != store.RunCompleted || ok.Counts.GroupsLeft != 1 {
		t.Fatalf("the next full sync = %s %+v (%s)", ok.Status, ok.Counts, ok.Error)
	}
	if c, _ := r.contact(leaver.ID); slices.Contains(c.Groups, "Klaviyo - "+list.Name) {
		t.Fatalf("the leaver kept the group: %v", c.Groups)
	}
}

// TestKlaviyo_SelectedListScopesTheSync is issue 18 item 1 for Klaviyo: one
// selected list of N members out of M profiles syncs N contacts (in the
// list's group) and counts M-N out_of_scope; a member that leaves the list
// is out of scope on the next full sync and loses the Klaviyo source (its
// contact, which nothing else keeps, goes).
func TestKlaviyo_SelectedListScopesTheSync(t *testing.T) {
	t.Parallel()
	const profiles = 300
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: profiles, Seed: 33, PerSecond: -1, PerMinute: -1, Lists: 2, Segments: 1})
	defer kl.Close()
	vip := kl.Groups()[1]
	if vip.Name != "VIP" {
		t.Fatalf("fake groups changed: %+v", kl.Groups())
	}
	members, _ := kl.Members(vip.ID)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	index := map[string]int{}
	for _, id := range members {
		var i int
		fmt.Sscanf(id, "01K%d", &i)
		index[id] = i + 1
		// A distinct email and mobile each: one contact per member.
		kl.Update(i+1, at, func(a map[string]any) {
			a["email"] = fmt.Sprintf("vip%d@example.com", i)
			a["phone_number"] = fmt.Sprintf("+6141%07d", i)
		})
	}
	N := len(members)
	r := newKlaviyoRig(t, kl, []string{"VIP"}, 0, false)
	install := r.run(store.TriggerInstall, false, time.Time{})
	want := store.Counts{Seen: profiles, Created: N, OutOfScope: profiles - N}
	if install.Status != store.RunCompleted || install.Counts != want {
		t.Fatalf("install = %s %+v (%s), want %+v", install.Status, install.Counts, install.Error, want)
	}
	contacts := r.byProfile()
	if len(contacts) != N {
		t.Fatalf("%d contacts with the Klaviyo source, want the list's %d", len(contacts), N)
	}
	for _, id := range members {
		if c, ok := contacts[id]; !ok || !slices.Equal(c.Groups, []string{"Klaviyo - VIP"}) {
			t.Fatalf("member %s: contact %+v", id, c)
		}
	}
	if rows := r.rows(install.ID, bulksync.OutcomeOutOfScope); len(rows) != profiles-N {
		t.Fatalf("%d out_of_scope rows, want %d", len(rows), profiles-N)
	}

	leaver := members[0]
	gone := contacts[leaver]
	kl.Leave(vip.ID, index[leaver])
	again := r.run(store.TriggerSchedule, false, time.Time{})
	want = store.Counts{Seen: profiles, Unchanged: N - 1, OutOfScope: profiles - N + 1}
	if again.Status != store.RunCompleted || again.Counts != want {
		t.Fatalf("full sync after a member left = %s %+v (%s), want %+v", again.Status, again.Counts, again.Error, want)
	}
	if _, err := r.st.GetContact(context.Background(), r.tenant, gone.ID); err != store.ErrNotFound {
		t.Fatalf("the contact of the member who left: %v, want it gone with its only source", err)
	}
	var removed []store.ReportRow
	for _, row := range r.rows(again.ID, bulksync.OutcomeOutOfScope) {
		if row.Reason != bulksync.ReasonNotSelected {
			removed = append(removed, row)
		}
	}
	if len(removed) != 1 || removed[0].ExternalID != leaver || removed[0].Reason != "contact_deleted" {
		t.Fatalf("rows of profiles that lost the source: %+v", removed)
	}

	// An incremental sync reads the members whole: nothing changes.
	inc := r.run(store.TriggerSchedule, true, again.StartedAt)
	if inc.Status != store.RunCompleted || inc.Counts.Created+inc.Counts.Updated+inc.Counts.OutOfScope != 0 || inc.Counts.Unchanged != N-1 {
		t.Fatalf("incremental = %s %+v (%s)", inc.Status, inc.Counts, inc.Error)
	}
}
