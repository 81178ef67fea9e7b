package hubapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
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
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// fieldsAPI is pipelineAPI with the platform field listing wired as
// compose wires it (connectors.Registry.Fields).
func fieldsAPI(t *testing.T) *api {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true, ShopifyBulkWait: 200 * time.Millisecond}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", AllowPrivateHosts: true,
		Starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}, Fields: reg.Fields,
	})
	bs := bulksync.New(bulksync.Deps{Store: st, Sources: reg, Pages: pages, DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL)})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: bs.Handle, Concurrency: 2, BatchSize: 5, RetryDelay: time.Second}).Run(ctx)
	return &api{t: t, h: h, st: st}
}

// contactsByEmail lists the tenant's contacts over the API.
func (a *api) contactsByEmail(key string) map[string]map[string]any {
	a.t.Helper()
	code, out := a.do("GET", "/v1/contacts", key, "", map[string]string{"limit": "100"})
	if code != http.StatusOK {
		a.t.Fatalf("GET /v1/contacts: %d %v", code, out)
	}
	byEmail := map[string]map[string]any{}
	for _, it := range out["items"].([]any) {
		c := it.(map[string]any)
		byEmail[c["email"].(string)] = c
	}
	return byEmail
}

// exportCSV downloads the contacts export and returns its rows by email.
func (a *api) exportCSV(key string) ([]string, map[string]map[string]string) {
	a.t.Helper()
	resp := a.get("/v1/contacts/export", key, nil)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("export: %d %s", resp.StatusCode, resp.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil || len(recs) == 0 {
		a.t.Fatalf("export does not parse: %v\n%s", err, resp.Body)
	}
	rows := map[string]map[string]string{}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		rows[row["email"]] = row
	}
	return recs[0], rows
}

// A Mailchimp audience keeps the name people go by in MMERGE7 and the
// mobile in MMERGE5; the hub user maps MMERGE7 → firstName, MMERGE5 →
// phone, a number field and the birthday. The install must use them: the
// mapped name wins over the name from the email, the mapped mobile is the
// contact's phone (normalised, and reported like any phone when it cannot
// be used), and the number and the birthday come back typed in GET
// /v1/contacts/{id}, the listing and the CSV export; a birthday that does
// not parse is a warning on its row, the contact is still created.
func TestFieldMap_MailchimpMappedFieldsEndToEnd(t *testing.T) {
	t.Parallel()
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 3, Seed: 5})
	defer mc.Close()
	mc.AddMergeField("MMERGE5", "Mobile", "phone")
	mc.AddMergeField("MMERGE7", "Preferred name", "text")
	mc.AddMergeField("POINTS", "Loyalty points", "number")
	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	member := func(n int, mail, mobile string, points any, birthday string) {
		mc.Update(n, at, func(m map[string]any) {
			m["email_address"] = mail
			m["sms_phone_number"] = ""
			m["sms_subscription_status"] = "subscribed"
			m["merge_fields"] = map[string]any{"FNAME": "", "LNAME": "", "PHONE": "", "MMERGE5": mobile, "MMERGE7": "",
				"POINTS": points, "BIRTHDAY": birthday}
		})
	}
	member(1, "jdoe@example.com", "0412 345 678", 1250, "07/04")
	mc.Update(1, at, func(m map[string]any) { m["merge_fields"].(map[string]any)["MMERGE7"] = "Jane" })
	member(2, "short@example.com", "12345", "", "")
	member(3, "bday@example.com", "0412 000 111", 7, "13/45")

	a := fieldsAPI(t)
	key := a.tenant()
	conn := func(fieldMap map[string]string) string {
		b, _ := json.Marshal(map[string]any{"platform": "mailchimp", "consentMode": "inferred", "defaultRegion": "AU", "fieldMap": fieldMap,
			"config": map[string]string{"apiKey": mc.APIKey(), "audienceId": mc.AudienceID(), "apiBaseUrl": mc.URL()}})
		return string(b)
	}
	fieldMap := map[string]string{"MMERGE7": "firstName", "MMERGE5": "phone", "POINTS": "points", "BIRTHDAY": "birthday"}
	code, created := a.do("POST", "/v1/connections", key, conn(fieldMap), nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	run := a.waitSync(key, created["syncId"].(string))
	if counts := run["counts"].(map[string]any); run["status"] != "completed" || counts["created"] != 3.0 {
		t.Fatalf("install = %v, want 3 created", run)
	}

	contacts := a.contactsByEmail(key)
	jane := contacts["jdoe@example.com"]
	if jane == nil || jane["firstName"] != "Jane" || jane["phone"] != "+61412345678" {
		t.Fatalf("contact of jdoe@example.com = %v, want firstName Jane (MMERGE7, not the email's jdoe) and phone +61412345678 (MMERGE5)", jane)
	}
	resp := a.get("/v1/contacts/"+jane["id"].(string), key, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET contact: %d %s", resp.StatusCode, resp.Body)
	}
	// The raw body: a number is a JSON number, the birthday MM-DD.
	if !strings.Contains(resp.Body, `"fields":{"birthday":"07-04","points":1250}`) {
		t.Errorf("GET /v1/contacts/{id} = %s, want fields {\"birthday\":\"07-04\",\"points\":1250}", resp.Body)
	}
	if f, _ := contacts["bday@example.com"]["fields"].(map[string]any); f == nil || f["points"] != 7.0 || f["birthday"] != nil {
		t.Errorf("listing: bday@example.com fields = %v, want points 7 and no birthday (13/45 is none)", contacts["bday@example.com"]["fields"])
	}

	rows := a.report(key, created["syncId"].(string), nil)
	var short, bday reportRow
	for _, r := range rows {
		switch r.ContactID {
		case contacts["short@example.com"]["id"]:
			short = r
		case contacts["bday@example.com"]["id"]:
			bday = r
		}
	}
	if _, why := phone.Normalize("12345", "AU", "AU"); short.Outcome != "created" || short.PhoneReason != "phone_"+string(why) {
		t.Errorf("row of the member whose mapped mobile is 12345 = %+v, want created with phone_%s", short, why)
	}
	if bday.Outcome != "created" || !slices.Contains(bday.Warnings, "field_invalid:birthday") {
		t.Errorf("row of the member whose birthday is 13/45 = %+v, want created with the warning field_invalid:birthday", bday)
	}

	header, byEmail := a.exportCSV(key)
	if !slices.Contains(header, "points") || !slices.Contains(header, "birthday") {
		t.Fatalf("export header %v, want the custom columns birthday and points", header)
	}
	if r := byEmail["jdoe@example.com"]; r["firstName"] != "Jane" || r["points"] != "1250" || r["birthday"] != "07-04" {
		t.Errorf("export row = %v, want Jane, points 1250, birthday 07-04", r)
	}
}

// The field map is checked against the platform's fields when it is set:
// an unknown source field or target is a 422 naming the field, and a
// platform that cannot be reached is a 502; nothing is stored either way.
func TestFieldMap_ValidatedAgainstThePlatform(t *testing.T) {
	t.Parallel()
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 1, Seed: 5})
	defer mc.Close()
	down := mailchimptest.NewServer(mailchimptest.Options{Members: 1, Seed: 5, FailEvery: 1})
	defer down.Close()
	a := fieldsAPI(t)
	key := a.tenant()
	conn := func(s *mailchimptest.Server, fieldMap map[string]string) string {
		b, _ := json.Marshal(map[string]any{"platform": "mailchimp", "consentMode": "inferred", "defaultRegion": "AU", "fieldMap": fieldMap,
			"config": map[string]string{"apiKey": s.APIKey(), "audienceId": s.AudienceID(), "apiBaseUrl": s.URL()}})
		return string(b)
	}
	for _, c := range []struct {
		fieldMap map[string]string
		field    string
	}{
		{map[string]string{"FNAME": "firstName", "MMERGE99": "nickname"}, "MMERGE99"},
		{map[string]string{"FNAME": "first name"}, "FNAME"},
		{map[string]string{"FNAME": "firstName", "LNAME": "firstName"}, "LNAME"},
	} {
		code, out := a.do("POST", "/v1/connections", key, conn(mc, c.fieldMap), nil)
		e, _ := out["error"].(map[string]any)
		if code != http.StatusUnprocessableEntity || e["code"] != "field_map_invalid" || e["field"] != c.field || e["message"] == "" {
			t.Errorf("fieldMap %v: %d %v, want 422 field_map_invalid naming %s", c.fieldMap, code, out, c.field)
		}
	}
	// The platform is down: a 502, within the caller's time.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := a.h.Handle(ctx, apigw.Request{RawPath: "/v1/connections", Body: conn(down, map[string]string{"FNAME": "firstName"}),
		Headers:        map[string]string{"authorization": "Bearer " + key, "content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/connections"}}})
	if err != nil || resp.StatusCode != http.StatusBadGateway || !strings.Contains(resp.Body, "platform_unavailable") {
		t.Errorf("create while the platform is down: %v %d %s, want 502 platform_unavailable", err, resp.StatusCode, resp.Body)
	}
	if code, out := a.do("GET", "/v1/connections", key, "", nil); code != http.StatusOK || len(out["items"].([]any)) != 0 {
		t.Fatalf("connections after refused creates: %d %v, want none", code, out)
	}

	// A good map is stored; a patch to a bad one is refused and changes nothing.
	code, created := a.do("POST", "/v1/connections", key, conn(mc, map[string]string{"FNAME": "firstName", "BIRTHDAY": "birthday"}), nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"fieldMap":{"NOPE":"nickname"}}`, nil)
	if e, _ := out["error"].(map[string]any); code != http.StatusUnprocessableEntity || e["field"] != "NOPE" {
		t.Errorf("patch to an unknown field: %d %v, want 422 naming NOPE", code, out)
	}
	if code, got := a.do("GET", "/v1/connections/"+id, key, "", nil); code != http.StatusOK || got["fieldMap"].(map[string]any)["BIRTHDAY"] != "birthday" {
		t.Errorf("connection after the refused patch: %d %v", code, got)
	}
}

// A Shopify customer metafield mapped to a custom field reaches the
// contact, through the bulk export (the install) and the paged query
// alike, and only the mapped metafield is read.
func TestFieldMap_ShopifyMetafield(t *testing.T) {
	t.Parallel()
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 3, Seed: 9, RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	shop.DefineMetafield("custom", "loyalty_points", "Loyalty points", "number_integer")
	shop.DefineMetafield("custom", "vip_since", "VIP since", "date")
	shop.DefineMetafield("custom", "notes", "Notes", "multi_line_text_field")
	shop.SetMetafield(2, "custom", "loyalty_points", "420")
	shop.SetMetafield(2, "custom", "vip_since", "2024-05-01")
	shop.SetMetafield(2, "custom", "notes", "not mapped")
	shop.SetCity(2, "Perth")
	a := fieldsAPI(t)
	fieldMap := map[string]string{"metafield:custom.loyalty_points": "points", "metafield:custom.vip_since": "vipSince", "defaultAddress.city": "city"}
	for _, bulk := range []string{"true", "false"} {
		key := a.tenant()
		b, _ := json.Marshal(map[string]any{"platform": "shopify", "consentMode": "inferred", "defaultRegion": "AU", "fieldMap": fieldMap,
			"config": map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "s", "apiBaseUrl": shop.URL(), "bulkOperations": bulk}})
		code, created := a.do("POST", "/v1/connections", key, string(b), nil)
		if code != http.StatusCreated {
			t.Fatalf("create (bulk %s): %d %v", bulk, code, created)
		}
		if run := a.waitSync(key, created["syncId"].(string)); run["status"] != "completed" {
			t.Fatalf("install (bulk %s) = %v", bulk, run)
		}
		code, out := a.do("GET", "/v1/contacts", key, "", map[string]string{"limit": "100"})
		if code != http.StatusOK {
			t.Fatalf("contacts: %d %v", code, out)
		}
		var with []map[string]any
		for _, it := range out["items"].([]any) {
			if f := it.(map[string]any)["fields"].(map[string]any); len(f) > 0 {
				with = append(with, f)
			}
		}
		if len(with) != 1 || with[0]["points"] != 420.0 || with[0]["vipSince"] != "2024-05-01" || with[0]["city"] != "Perth" || len(with[0]) != 3 {
			t.Errorf("bulk %s: custom fields of the contacts = %v, want one contact with points 420, vipSince 2024-05-01, city Perth", bulk, with)
		}
	}
	if q := shop.QueriedMetafields(); !slices.Equal(q, []string{"custom.loyalty_points", "custom.vip_since"}) {
		t.Errorf("metafields queried: %v, want only the two mapped ones", q)
	}
	code, out := a.do("POST", "/v1/connections", a.tenant(), `{"platform":"shopify","consentMode":"inferred","defaultRegion":"AU",
		"fieldMap":{"metafield:custom.nope":"x"},"config":{"shopDomain":"`+shop.Domain()+`","accessToken":"`+shop.AccessToken()+`","webhookSecret":"s","apiBaseUrl":"`+shop.URL()+`"}}`, nil)
	if e, _ := out["error"].(map[string]any); code != http.StatusUnprocessableEntity || e["field"] != "metafield:custom.nope" {
		t.Errorf("an undefined metafield: %d %v, want 422 naming it", code, out)
	}
}
