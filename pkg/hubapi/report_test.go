package hubapi_test

import (
	"context"
	"encoding/csv"
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
	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// pipelineAPI is the Hub API with the bulk-sync pipeline behind it (the
// pages queue polled as its event source mapping would), on the embedded
// stack, and fakes on loopback allowed.
func pipelineAPI(t *testing.T) *api {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", AllowPrivateHosts: true,
		Starter:   syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour},
		Platforms: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
	})
	bs := bulksync.New(bulksync.Deps{
		Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
	})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: bs.Handle, Concurrency: 2, BatchSize: 5, RetryDelay: time.Second}).Run(ctx)
	return &api{t: t, h: h, st: st}
}

// get calls GET path with a query and returns the whole response.
func (a *api) get(path, token string, query map[string]string) apigw.Response {
	a.t.Helper()
	resp, err := a.h.Handle(context.Background(), apigw.Request{
		RawPath: path, QueryStringParameters: query, Headers: map[string]string{"authorization": "Bearer " + token},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return resp
}

// waitSync polls GET /v1/syncs/{id} until the run is over (deadline 2 min).
func (a *api) waitSync(key, id string) map[string]any {
	a.t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code, out := a.do("GET", "/v1/syncs/"+id, key, "", nil)
		if code != http.StatusOK {
			a.t.Fatalf("GET sync %s: %d %v", id, code, out)
		}
		if out["status"] != "running" {
			return out
		}
	}
	a.t.Fatalf("sync %s did not finish", id)
	return nil
}

type reportRow struct {
	ExternalID  string   `json:"externalId"`
	Outcome     string   `json:"outcome"`
	Reason      string   `json:"reason"`
	PhoneReason string   `json:"phoneReason"`
	EmailReason string   `json:"emailReason"`
	Warnings    []string `json:"warnings"`
	Identifier  string   `json:"identifier"`
	Name        string   `json:"name"`
	ContactID   string   `json:"contactId"`
}

// report lists a sync's report over the API, page by page (limit 2, so
// the cursor is used), by external id.
func (a *api) report(key, id string, query map[string]string) map[string]reportRow {
	a.t.Helper()
	rows := map[string]reportRow{}
	q := map[string]string{"limit": "2"}
	for k, v := range query {
		q[k] = v
	}
	for {
		resp := a.get("/v1/syncs/"+id+"/report", key, q)
		var page struct {
			Items      []reportRow `json:"items"`
			NextCursor string      `json:"nextCursor"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &page) != nil {
			a.t.Fatalf("report of %s %v: %d %s", id, query, resp.StatusCode, resp.Body)
		}
		for _, r := range page.Items {
			if _, dup := rows[r.ExternalID]; dup {
				a.t.Errorf("row %s listed twice", r.ExternalID)
			}
			rows[r.ExternalID] = r
		}
		if page.NextCursor == "" {
			return rows
		}
		q["cursor"] = page.NextCursor
	}
}

// reportCSV downloads a sync's report as CSV and parses it back.
func (a *api) reportCSV(key, id string, query map[string]string) [][]string {
	a.t.Helper()
	resp := a.get("/v1/syncs/"+id+"/report.csv", key, query)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Headers["Content-Type"], "text/csv") {
		a.t.Fatalf("report.csv of %s: %d %v %s", id, resp.StatusCode, resp.Headers, resp.Body)
	}
	if next := resp.Headers["X-Next-Cursor"]; next != "" {
		a.t.Errorf("a small report's CSV has a next cursor %q", next)
	}
	recs, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		a.t.Fatalf("report.csv does not parse: %v\n%s", err, resp.Body)
	}
	return recs
}

// TestReport_RowsSayWhyAndDownloadAsCSV installs a WooCommerce store whose
// customers give every kind of report row, through the Hub API and the
// real pipeline, then reads the report as a hub user does:
//   - created with nothing to fix: platform id, name, contact;
//   - created with a phone too short to use: a warning, not silence;
//   - invalid without identifiers: the phone's or the email's own reason;
//   - a customer whose phone is another contact's: it lands there, and the
//     row says email_conflict with the record's email masked;
//   - a name that is a spreadsheet formula: kept in the JSON, defused in
//     the CSV;
//   - a re-sync: the changed customer's updated row, unchanged ones only
//     counted.
//
// The CSV download has a header row and the same rows (parsed back with
// encoding/csv), filters by outcome like the listing, and any outcome
// name is a valid filter (out_of_scope).
func TestReport_RowsSayWhyAndDownloadAsCSV(t *testing.T) {
	t.Parallel()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 6, Seed: 11})
	defer shop.Close()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	set := func(id int64, at time.Time, first, last, mail, ph string) {
		t.Helper()
		if _, ok := shop.Update(id, at, func(c *woocommerce.Customer) {
			c.FirstName, c.LastName, c.Email = first, last, mail
			c.Billing = woocommerce.Address{FirstName: first, LastName: last, Email: mail, Phone: ph, Country: "AU"}
			c.Shipping = woocommerce.Address{Country: "AU"}
			c.MetaData = nil
		}); !ok {
			t.Fatalf("no customer %d", id)
		}
	}
	const shortPhone, wordPhone, badEmail = "12345", "call me", "dana@@example"
	set(1, t0, "Ann", "Lee", "ann@example.com", "0412 345 678")
	set(2, t0, "Bob", "Stone", "bob@example.com", shortPhone)
	set(3, t0, "Carl", "Nobody", "", wordPhone)
	set(4, t0, "Dana", "Typo", badEmail, "")
	set(5, t0, "Eve", "Shared", "eve@example.com", "+61 412 345 678") // Ann's number
	set(6, t0, `=HYPERLINK("http://evil.example")`, "-2", "frank@example.com", "")
	_, shortWhy := phone.Normalize(shortPhone, "AU", "AU")
	_, wordWhy := phone.Normalize(wordPhone, "AU", "AU")
	_, emailWhy := email.Normalize(badEmail)
	if shortWhy == phone.ReasonNone || wordWhy == phone.ReasonNone || emailWhy == email.ReasonNone {
		t.Fatalf("test data: %q %q %q should be unusable", shortPhone, wordPhone, badEmail)
	}

	a := pipelineAPI(t)
	key := a.tenant()
	ck, cs := shop.Credentials()
	body, _ := json.Marshal(map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec"}})
	code, created := a.do("POST", "/v1/connections", key, string(body), nil)
	if code != http.StatusCreated {
		t.Fatalf("create connection: %d %v", code, created)
	}
	install := created["syncId"].(string)
	run := a.waitSync(key, install)
	counts, _ := run["counts"].(map[string]any)
	if run["status"] != "completed" || counts["created"] != 3.0 || counts["updated"] != 1.0 || counts["invalid"] != 2.0 {
		t.Fatalf("install = %v, want completed: 3 created, 1 updated (Eve on Ann's contact), 2 invalid", run)
	}

	rows := a.report(key, install, nil)
	if len(rows) != 6 {
		t.Fatalf("report rows %v, want one per customer", rows)
	}
	check := func(id string, want reportRow) {
		t.Helper()
		got := rows[id]
		if got.ContactID == "" && want.Outcome != "invalid" {
			t.Errorf("row %s has no contact id: %+v", id, got)
		}
		got.ContactID = ""
		if got.Warnings == nil {
			got.Warnings = []string{}
		}
		if want.Warnings == nil {
			want.Warnings = []string{}
		}
		want.ExternalID = id
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("row %s =\n%+v, want\n%+v", id, got, want)
		}
	}
	check("1", reportRow{Outcome: "created", Name: "Ann Lee"})
	check("2", reportRow{Outcome: "created", Name: "Bob Stone", PhoneReason: "phone_" + string(shortWhy), Warnings: []string{"phone_" + string(shortWhy)}})
	check("3", reportRow{Outcome: "invalid", Reason: "no_identifier", Name: "Carl Nobody", PhoneReason: "phone_" + string(wordWhy)})
	check("4", reportRow{Outcome: "invalid", Reason: "no_identifier", Name: "Dana Typo", EmailReason: "email_" + string(emailWhy)})
	check("5", reportRow{Outcome: "updated", Reason: "email_conflict", Name: "Eve Shared", Identifier: "e***@example.com"})
	check("6", reportRow{Outcome: "created", Name: `=HYPERLINK("http://evil.example") -2`})
	if rows["5"].ContactID != rows["1"].ContactID {
		t.Errorf("Eve's row is on contact %s, Ann's on %s: the phone's contact takes the record", rows["5"].ContactID, rows["1"].ContactID)
	}
	if inv := a.report(key, install, map[string]string{"outcome": "invalid"}); len(inv) != 2 || inv["3"].Outcome != "invalid" || inv["4"].Outcome != "invalid" {
		t.Errorf("?outcome=invalid: %v", inv)
	}
	if oos := a.report(key, install, map[string]string{"outcome": "out_of_scope"}); len(oos) != 0 {
		t.Errorf("?outcome=out_of_scope: %v, want none in this run", oos)
	}
	for _, bad := range []string{"Created!", strings.Repeat("x", 41), "\xff"} {
		if resp := a.get("/v1/syncs/"+install+"/report.csv", key, map[string]string{"outcome": bad}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("report.csv ?outcome=%q: %d, want 400", bad, resp.StatusCode)
		}
	}

	// The CSV: a header, then the same rows; formulas defused.
	table := a.reportCSV(key, install, nil)
	header := []string{"externalId", "outcome", "reason", "warnings", "phoneReason", "emailReason", "identifier", "name", "contactId"}
	if len(table) == 0 || !slices.Equal(table[0], header) {
		t.Fatalf("report.csv header %v, want %v", table[:min(1, len(table))], header)
	}
	byID := map[string][]string{}
	for _, rec := range table[1:] {
		byID[rec[0]] = rec
	}
	if len(table) != 7 || len(byID) != 6 {
		t.Fatalf("report.csv has %d data rows (%d ids), want 6:\n%v", len(table)-1, len(byID), table)
	}
	for id, r := range rows {
		rec := byID[id]
		want := []string{id, r.Outcome, r.Reason, strings.Join(r.Warnings, ";"), r.PhoneReason, r.EmailReason, r.Identifier, r.Name, r.ContactID}
		if id == "6" {
			want[7] = "'" + r.Name // a cell starting with = is prefixed
		}
		if !slices.Equal(rec, want) {
			t.Errorf("report.csv row %s = %q, want %q", id, rec, want)
		}
	}
	if inv := a.reportCSV(key, install, map[string]string{"outcome": "invalid"}); len(inv) != 3 {
		t.Errorf("report.csv ?outcome=invalid: %v, want the header and 2 rows", inv)
	}
	if resp := a.get("/v1/syncs/s_nope/report.csv", key, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("report.csv of an unknown sync: %d", resp.StatusCode)
	}
	other := a.tenant()
	if resp := a.get("/v1/syncs/"+install+"/report.csv", other, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's report.csv: %d %s", resp.StatusCode, resp.Body)
	}

	// A re-sync after Ann changed her name: one updated row, with it.
	set(1, t0.Add(time.Hour), "Ann", "Lee-Smith", "ann@example.com", "0412 345 678")
	code, started := a.do("POST", "/v1/connections/"+created["id"].(string)+"/syncs", key, "", nil)
	if code != http.StatusAccepted {
		t.Fatalf("sync now: %d %v", code, started)
	}
	resync := started["syncId"].(string)
	if run := a.waitSync(key, resync); run["status"] != "completed" {
		t.Fatalf("re-sync = %v", run)
	}
	again := a.report(key, resync, nil)
	delete(again, "3") // the invalid customers are reported again
	delete(again, "4")
	if len(again) != 1 || again["1"].Outcome != "updated" || again["1"].Name != "Ann Lee-Smith" || again["1"].ContactID != rows["1"].ContactID {
		t.Errorf("re-sync rows %+v, want Ann's update only (unchanged records are counted, not listed)", again)
	}
}

// TestReport_LargeReportCSVContinuesByCursor: a report too large for one
// Lambda response (6 MB) downloads in parts: each part has the header, is
// under the limit as Lambda returns it (JSON-escaped), and names the next
// part in X-Next-Cursor; together the parts hold every row once, in the
// listing's order.
func TestReport_LargeReportCSVContinuesByCursor(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	ctx := context.Background()
	tenant, err := a.st.Authenticate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	run, err := a.st.StartRun(ctx, store.RunSpec{TenantID: tenant, ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Rows of names that JSON escapes six-fold (<, >, &): 3,000 of them
	// make a CSV of about 1 MB, some 5 MB escaped.
	const pages, perPage = 3, 1000
	var want []string
	for p := range pages {
		rows := make([]store.ReportRow, perPage)
		for i := range rows {
			id := fmt.Sprintf("%d-%04d", p, i)
			rows[i] = store.ReportRow{ExternalID: id, Outcome: "created", Name: strings.Repeat("<&>", 100), ContactID: "c_" + id}
		}
		if _, _, err := a.st.RecordPage(ctx, store.PageResult{TenantID: tenant, RunID: run.ID, PageID: fmt.Sprint("p", p),
			Counts: store.Counts{Seen: perPage, Created: perPage}, Rows: rows}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for cursor := ""; ; {
		part, next, err := a.st.ListReport(ctx, tenant, run.ID, "", 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range part {
			want = append(want, r.ExternalID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	var got []string
	parts := 0
	for q := map[string]string{}; ; parts++ {
		resp := a.get("/v1/syncs/"+run.ID+"/report.csv", key, q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("part %d: %d %s", parts, resp.StatusCode, resp.Body)
		}
		if b, _ := json.Marshal(resp); len(b) >= 6<<20 {
			t.Fatalf("part %d is %d bytes as Lambda returns it, over 6 MB", parts, len(b))
		}
		recs, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
		if err != nil || len(recs) == 0 || recs[0][0] != "externalId" {
			t.Fatalf("part %d does not parse or has no header: %v", parts, err)
		}
		for _, r := range recs[1:] {
			got = append(got, r[0])
		}
		next := resp.Headers["X-Next-Cursor"]
		if next == "" {
			break
		}
		q = map[string]string{"cursor": next}
	}
	if parts == 0 || !slices.Equal(got, want) || len(got) != pages*perPage {
		t.Errorf("%d parts with %d rows, want more than one part and the %d rows of the listing, each once, in order", parts+1, len(got), len(want))
	}
}
