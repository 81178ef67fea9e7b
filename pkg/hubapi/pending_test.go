package hubapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/scheduler"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// pendingFixture: a tenant with a double opt-in connection (made over the
// API) and an inferred one, contacts applied through the real merge path,
// and the scheduler tick's PendingSweeper on the same stack. The clock is
// the test's: nothing sleeps.
type pendingFixture struct {
	*api
	key, tid, doi string
	now           time.Time
	sweeper       *scheduler.PendingSweeper
	starter       syncrun.Starter
	contacts      map[string]string // first name -> contact id
	phones        map[string]string // first name -> E.164
}

var pendingT0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newPendingFixture(t *testing.T, connJSON string) *pendingFixture {
	t.Helper()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	f := &pendingFixture{api: &api{t: t, st: st}, now: pendingT0, contacts: map[string]string{}, phones: map[string]string{}}
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	f.starter = syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour}
	f.h = hubapi.New(hubapi.Deps{Store: st, Sealer: sealer, AdminToken: admin, Now: func() time.Time { return f.now }, Starter: f.starter})
	f.key = f.tenant()
	f.tid = strings.SplitN(f.key, ".", 2)[0]
	code, conn := f.do("POST", "/v1/connections", f.key, connJSON, nil)
	if code != http.StatusCreated {
		t.Fatalf("create connection: %d %v", code, conn)
	}
	f.doi = conn["id"].(string)
	f.sweeper = &scheduler.PendingSweeper{Store: st, Queue: queue.NewSender(s.SQS, s.OutboxQueueURL)}
	return f
}

// add applies one customer of a connection (double opt-in: "doi", or the
// inferred "conn-inf") at the fixture's time.
func (f *pendingFixture) add(first, phone string, mode consent.Mode) {
	f.t.Helper()
	conn := merge.Connection{ID: "conn-inf", Label: "WooCommerce", Mode: mode, DefaultRegion: "AU"}
	if mode == consent.DoubleOptIn {
		conn = merge.Connection{ID: f.doi, Label: "Shopify", Mode: mode, DefaultRegion: "AU"}
	}
	applied, err := f.st.ApplyRecord(context.Background(), store.Target{TenantID: f.tid, Conn: conn},
		source.Record{Platform: source.Shopify, Label: conn.Label, ConnectionID: conn.ID, ExternalID: first, UpdatedAt: f.now,
			FirstName: first, Phones: []source.PhoneField{{Raw: phone}}, Consent: source.ConsentSignal{State: source.SignalNeverAsked}},
		f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	f.contacts[first] = applied.Decision.ContactID
	c, err := f.st.GetContact(context.Background(), f.tid, applied.Decision.ContactID)
	if err != nil {
		f.t.Fatal(err)
	}
	f.phones[first] = c.Phone
}

// names lists GET /v1/contacts page by page (limit per page) and returns the
// first names in order and the number of pages.
func (f *pendingFixture) names(status string, limit string) ([]string, int) {
	f.t.Helper()
	var out []string
	pages, cursor := 0, ""
	for {
		q := map[string]string{"limit": limit}
		if status != "" {
			q["status"] = status
		}
		if cursor != "" {
			q["cursor"] = cursor
		}
		code, body := f.do("GET", "/v1/contacts", f.key, "", q)
		if code != http.StatusOK {
			f.t.Fatalf("list contacts %v: %d %v", q, code, body)
		}
		pages++
		for _, it := range body["items"].([]any) {
			out = append(out, it.(map[string]any)["firstName"].(string))
		}
		next, _ := body["nextCursor"].(string)
		if next == "" {
			return out, pages
		}
		cursor = next
		if pages > 20 {
			f.t.Fatal("paging does not end")
		}
	}
}

// export returns the first names in GET /v1/contacts/export.
func (f *pendingFixture) export(status string) []string {
	f.t.Helper()
	path := "/v1/contacts/export"
	q := map[string]string{}
	if status != "" {
		q["status"] = status
	}
	resp, err := f.h.Handle(context.Background(), apigw.Request{
		RawPath: path, QueryStringParameters: q, Headers: map[string]string{"authorization": "Bearer " + f.key},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}},
	})
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("export: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[1])
	}
	return out
}

func (f *pendingFixture) status(first string) string {
	f.t.Helper()
	code, c := f.do("GET", "/v1/contacts/"+f.contacts[first], f.key, "", nil)
	if code != http.StatusOK {
		f.t.Fatalf("get contact: %d %v", code, c)
	}
	return c["status"].(string)
}

func (f *pendingFixture) sweep(at time.Duration) scheduler.PendingSummary {
	f.t.Helper()
	f.now = pendingT0.Add(at)
	sum, err := f.sweeper.Sweep(context.Background(), f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return sum
}

// reply is the person's YES, as the inbound handler applies it: a YES to a
// pending request, otherwise an opt-in reply.
func (f *pendingFixture) reply(first string, at time.Duration) {
	f.t.Helper()
	f.now = pendingT0.Add(at)
	_, err := f.st.UpdateLedger(context.Background(), f.tid, f.phones[first], func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		ev := consent.OptInEvent(f.now, consent.Evidence{Text: "YES", MessageID: "SM-" + first, Provider: "twilio"})
		if r.Ledger.State() == consent.Pending {
			ev = consent.YesEvent(f.now, consent.Evidence{Text: "YES", MessageID: "SM-" + first, Provider: "twilio"})
		}
		l, ch := r.Ledger.Apply(ev)
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func equalNames(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func stringOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPending_OutOfTheAudienceByDefault: contacts waiting for their YES are
// not in GET /v1/contacts or the export unless ?status=pending asks for
// them; paging through either stays whole; a YES brings the contact in.
func TestPending_OutOfTheAudienceByDefault(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t, shopifyConn)
	// Names interleave so that pending and subscribed contacts alternate in
	// name order: a filtered page would come back short.
	for i, n := range []string{"Ann", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus"} {
		mode := consent.Inferred
		if i%2 == 0 {
			mode = consent.DoubleOptIn // Ann, Cat, Eve, Gus
		}
		f.add(n, "0412 000 10"+string(rune('0'+i)), mode)
	}
	if got, pages := f.names("", "1"); !equalNames(got, []string{"Bob", "Dan", "Fay"}) || pages != 3 {
		t.Fatalf("default listing = %v in %d pages, want Bob, Dan, Fay one per page", got, pages)
	}
	if got, _ := f.names("", "50"); !equalNames(got, []string{"Bob", "Dan", "Fay"}) {
		t.Fatalf("default listing = %v", got)
	}
	if got, pages := f.names("pending", "2"); !equalNames(got, []string{"Ann", "Cat", "Eve", "Gus"}) || pages != 2 {
		t.Fatalf("?status=pending = %v in %d pages, want Ann, Cat, Eve, Gus in 2", got, pages)
	}
	if got, _ := f.names("subscribed", "1"); !equalNames(got, []string{"Bob", "Dan", "Fay"}) {
		t.Fatalf("?status=subscribed = %v", got)
	}
	if got := f.export(""); !equalNames(got, []string{"Bob", "Dan", "Fay"}) {
		t.Fatalf("export = %v, want no pending contact", got)
	}
	if got := f.export("pending"); !equalNames(got, []string{"Ann", "Cat", "Eve", "Gus"}) {
		t.Fatalf("export ?status=pending = %v", got)
	}
	// Cat answers YES: she joins the audience (and leaves the pending list).
	f.reply("Cat", time.Hour)
	if got, _ := f.names("", "2"); !equalNames(got, []string{"Bob", "Cat", "Dan", "Fay"}) {
		t.Fatalf("after Cat's YES: default listing = %v", got)
	}
	if got, _ := f.names("pending", "10"); !equalNames(got, []string{"Ann", "Eve", "Gus"}) {
		t.Fatalf("after Cat's YES: pending = %v", got)
	}
	// A name search stays inside the partition asked for.
	code, body := f.do("GET", "/v1/contacts", f.key, "", map[string]string{"q": "ann"})
	if code != http.StatusOK || len(body["items"].([]any)) != 0 {
		t.Fatalf("?q=ann (pending) in the default listing: %d %v", code, body)
	}
	code, body = f.do("GET", "/v1/contacts", f.key, "", map[string]string{"q": "ann", "status": "pending"})
	if code != http.StatusOK || len(body["items"].([]any)) != 1 {
		t.Fatalf("?q=ann&status=pending: %d %v", code, body)
	}
	// A cursor of one listing is not a cursor of the other.
	_, first := f.do("GET", "/v1/contacts", f.key, "", map[string]string{"limit": "1"})
	code, _ = f.do("GET", "/v1/contacts", f.key, "", map[string]string{"limit": "1", "status": "pending", "cursor": first["nextCursor"].(string)})
	if code != http.StatusBadRequest {
		t.Fatalf("a default-listing cursor with ?status=pending = %d, want 400", code)
	}
}

// TestPending_ExpiryAndOneReminder: the connection's reminder goes out once
// (an outbox message with its own purpose), an unanswered request expires
// after doubleOptInExpiryDays to not_subscribed with a history entry, a
// YES before it keeps the number, and a YES after it still subscribes.
func TestPending_ExpiryAndOneReminder(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t, `{"platform":"shopify","consentMode":"double_opt_in","defaultRegion":"AU",
 "doubleOptInExpiryDays":10,"doubleOptInReminderDays":3,
 "config":{"shopDomain":"acme.myshopify.com","accessToken":"shpat_secret","webhookSecret":"whsec"}}`)
	for i, n := range []string{"Ann", "Bob", "Cat"} {
		f.add(n, "0412 000 20"+string(rune('0'+i)), consent.DoubleOptIn)
	}
	day := 24 * time.Hour
	if s := f.sweep(day / 2); s.Looked != 0 {
		t.Fatalf("sweep after 12 h = %+v, want nothing due yet", s)
	}
	if s := f.sweep(day + time.Minute); s.Looked != 3 || s.Reminded != 0 || s.Expired != 0 {
		t.Fatalf("sweep after a day = %+v, want 3 looked at, none reminded", s)
	}
	if s := f.sweep(2 * day); s.Looked != 0 {
		t.Fatalf("sweep after 2 days = %+v, want none (next look at the reminder)", s)
	}
	remindAt := 3*day + time.Minute
	if s := f.sweep(remindAt); s.Reminded != 3 || s.Expired != 0 {
		t.Fatalf("sweep after 3 days = %+v, want 3 reminders", s)
	}
	for _, n := range []string{"Ann", "Bob", "Cat"} {
		ref := store.OutboxRef(consent.Message{Phone: f.phones[n], ConnectionID: f.doi, Purpose: consent.PurposeDoubleOptInReminder, At: pendingT0.Add(remindAt)})
		e, st, err := f.st.GetOutbox(context.Background(), f.tid, ref)
		if err != nil || st != store.OutboxPending || e.Purpose != string(consent.PurposeDoubleOptInReminder) {
			t.Fatalf("%s's reminder marker: %+v %q %v", n, e, st, err)
		}
	}
	if s := f.sweep(3*day + 2*time.Minute); s.Looked != 0 {
		t.Fatalf("a second sweep = %+v, want no second reminder", s)
	}
	f.reply("Ann", 5*day) // Ann answers before the expiry
	if s := f.sweep(9 * day); s.Looked != 0 {
		t.Fatalf("sweep after 9 days = %+v, want none", s)
	}
	// The scheduler's tick does it (its clock at 10 days and a minute).
	f.now = pendingT0.Add(10*day + time.Minute)
	tick, err := scheduler.New(scheduler.Deps{Store: f.st, Starter: f.starter, Now: func() time.Time { return f.now }, Pending: f.sweeper}).
		Handle(context.Background(), events.EventBridgeEvent{})
	if err != nil || tick.Expired != 2 || tick.Reminded != 0 {
		t.Fatalf("scheduler tick after 10 days = %+v %v, want Bob and Cat expired", tick, err)
	}
	for n, want := range map[string]string{"Ann": "subscribed", "Bob": "not_subscribed", "Cat": "not_subscribed"} {
		if got := f.status(n); got != want {
			t.Errorf("%s = %s, want %s", n, got, want)
		}
	}
	if got, _ := f.names("pending", "10"); len(got) != 0 {
		t.Fatalf("pending after the expiry = %v", got)
	}
	code, hist := f.do("GET", "/v1/contacts/"+f.contacts["Bob"]+"/history", f.key, "", nil)
	found := false
	for _, it := range hist["items"].([]any) {
		d, _ := it.(map[string]any)["detail"].(map[string]any)
		if d["event"] == "double_opt_in_expired" && d["from"] == "pending" && d["to"] == "not_subscribed" && d["connectionId"] == f.doi {
			found = true
		}
	}
	if code != http.StatusOK || !found {
		t.Fatalf("Bob's history = %d %v, want a double_opt_in_expired entry", code, hist)
	}
	if s := f.sweep(40 * day); s.Looked != 0 {
		t.Fatalf("sweep after 40 days = %+v, want nothing left to look at", s)
	}
	// A re-sync of the same source record does not make Bob pending again.
	f.now = pendingT0.Add(41 * day)
	f.add("Bob", "0412 000 201", consent.DoubleOptIn)
	if got := f.status("Bob"); got != "not_subscribed" {
		t.Fatalf("Bob after a re-sync = %s, want not_subscribed", got)
	}
	// Cat's YES after the expiry is her own opt-in: subscribed.
	f.reply("Cat", 42*day)
	if got := f.status("Cat"); got != "subscribed" {
		t.Fatalf("Cat after a late YES = %s, want subscribed", got)
	}
}

// TestPending_ConnectionSettings: the expiry defaults to 30 days and the
// reminder to none; both are validated on create and patch.
func TestPending_ConnectionSettings(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t, shopifyConn)
	code, c := f.do("GET", "/v1/connections/"+f.doi, f.key, "", nil)
	if code != http.StatusOK || c["doubleOptInExpiryDays"] != float64(30) || c["doubleOptInReminderDays"] != float64(0) {
		t.Fatalf("defaults: %d %v", code, c)
	}
	with := func(extra string) string {
		return strings.Replace(shopifyConn, `"defaultRegion":"AU",`, `"defaultRegion":"AU",`+extra+`,`, 1)
	}
	for _, tc := range []struct{ body, field string }{
		{with(`"doubleOptInExpiryDays":0`), "doubleOptInExpiryDays"},
		{with(`"doubleOptInExpiryDays":366`), "doubleOptInExpiryDays"},
		{with(`"doubleOptInReminderDays":-1`), "doubleOptInReminderDays"},
		{with(`"doubleOptInReminderDays":30`), "doubleOptInReminderDays"},
		{with(`"doubleOptInExpiryDays":5,"doubleOptInReminderDays":6`), "doubleOptInReminderDays"},
	} {
		code, out := f.do("POST", "/v1/connections", f.key, tc.body, nil)
		if code != http.StatusBadRequest || !strings.Contains(stringOf(out), tc.field) {
			t.Errorf("create %s: %d %v, want 400 naming %s", tc.body, code, out, tc.field)
		}
	}
	code, c = f.do("PATCH", "/v1/connections/"+f.doi, f.key, `{"doubleOptInExpiryDays":14,"doubleOptInReminderDays":7}`, nil)
	if code != http.StatusOK || c["doubleOptInExpiryDays"] != float64(14) || c["doubleOptInReminderDays"] != float64(7) {
		t.Fatalf("patch: %d %v", code, c)
	}
	for _, body := range []string{`{"doubleOptInReminderDays":14}`, `{"doubleOptInExpiryDays":0}`, `{"doubleOptInExpiryDays":"x"}`} {
		if code, out := f.do("PATCH", "/v1/connections/"+f.doi, f.key, body, nil); code != http.StatusBadRequest {
			t.Errorf("patch %s: %d %v, want 400", body, code, out)
		}
	}
}
