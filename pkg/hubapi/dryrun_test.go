package hubapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// dryConfirmation is a confirmation text billed as two UCS-2 parts (an
// emoji, more than 70 code units).
const dryConfirmation = "Welcome to {company} 🎉 You are now subscribed to our SMS news and offers. Reply STOP to cancel."

// TestDryRun_CountsWhatTheRealRunDoesAndChangesNothing installs, through
// the Hub API and the whole pipeline (bulk sync, outbox consumer, a fake
// Twilio), a confirmation-mode WooCommerce store of three pages next to
// an inferred-mode store whose customers are already contacts. The store
// has records sharing a phone within a page and across pages (pages are
// applied in parallel), records without any identifier, and customers
// the other store holds.
//
// The dry run reports created / updated / unchanged / invalid and the
// confirmations it would send with their credits (the tenant's template,
// two parts each), leaves every item outside its run's partition as it was
// (no contact, claim, ledger, link, membership, history, outbox marker or
// connection change) and sends nothing. The real run that follows counts
// the same, and sends that many messages for those credits.
func TestDryRun_CountsWhatTheRealRunDoesAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	units := &store.Usage{}
	st := store.New(s.DynamoDB, s.Table, store.WithUsage(units))
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	pages := queue.NewSender(s.SQS, s.PagesQueueURL)
	outq := queue.NewSender(s.SQS, s.OutboxQueueURL)
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", AllowPrivateHosts: true,
		Starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}, Outbox: outq,
	})
	bs := bulksync.New(bulksync.Deps{
		Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: outq, DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL),
		Prices: messages.Prices{Store: st, Opener: sealer},
	})
	ob := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: bs.Handle, Concurrency: 3, BatchSize: 1, RetryDelay: time.Second}).Run(ctx)
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: ob.Handle, Concurrency: 2, BatchSize: 10, RetryDelay: time.Second}).Run(ctx)
	a := &api{t: t, h: h, st: st}
	key := a.tenant()
	tenant, _, _ := strings.Cut(key, ".")

	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sid, token := tw.Credentials()
	prov, _ := json.Marshal(map[string]any{"provider": "twilio", "sender": "+15005550006", "companyName": "Acme", "apiBaseUrl": tw.URL(),
		"credentials": map[string]string{"accountSid": sid, "authToken": token}, "templates": map[string]string{"confirmation": dryConfirmation}})
	if code, out := a.do("PUT", "/v1/sms-provider", key, string(prov), nil); code != http.StatusOK {
		t.Fatalf("put provider: %d %v", code, out)
	}
	text, _ := sms.Templates{Confirmation: dryConfirmation}.Render(sms.PurposeConfirmation, "Acme", "")
	if _, parts := sms.Credits(text); parts != 2 {
		t.Fatalf("test data: the confirmation is %d parts, want 2", parts)
	}

	// People 200-239 are contacts already (an inferred-mode store: no
	// message), 30 of them customers of the store under test too.
	existing := woocommercetest.NewServer(woocommercetest.Options{Customers: 40, Seed: 21, FirstPerson: 200})
	defer existing.Close()
	install := func(shop *woocommercetest.Server, mode string, enabled bool) map[string]any {
		t.Helper()
		ck, cs := shop.Credentials()
		body, _ := json.Marshal(map[string]any{"platform": "woocommerce", "consentMode": mode, "defaultRegion": "AU", "enabled": enabled,
			"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec"}})
		code, out := a.do("POST", "/v1/connections", key, string(body), nil)
		if code != http.StatusCreated {
			t.Fatalf("create connection: %d %v", code, out)
		}
		return out
	}
	first := install(existing, "inferred", true)
	if got := a.waitSync(key, first["syncId"].(string)); got["status"] != "completed" {
		t.Fatalf("the first store's install: %v", got)
	}

	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 230, Seed: 21})
	defer shop.Close()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	set := func(id int64, mail, ph string) {
		t.Helper()
		if _, ok := shop.Update(id, t0, func(c *woocommerce.Customer) {
			c.Email = mail
			c.Billing.Email, c.Billing.Phone, c.Billing.Country = mail, ph, "AU"
			c.Shipping.Phone = ""
		}); !ok {
			t.Fatalf("no customer %d", id)
		}
	}
	// One phone on pages 1, 2 and 3 (applied in parallel), one phone twice
	// in page 1, two customers with nothing to identify them by.
	set(50, "shared.one@example.com", "0491 570 156")
	set(150, "shared.two@example.com", "+61 491 570 156")
	set(225, "shared.three@example.com", "0491570156")
	set(60, "twin.one@example.com", "0491 570 157")
	set(61, "twin.two@example.com", "0491 570 157")
	set(70, "", "")
	set(170, "", "call me")
	conn := install(shop, "confirmation", false) // disabled: no install run yet
	connID := conn["id"].(string)
	if code, out := a.do("PATCH", "/v1/connections/"+connID, key, `{"enabled":true}`, nil); code != http.StatusOK {
		t.Fatalf("enable: %d %v", code, out)
	}

	before := tenantItems(t, s, tenant)
	units.Reset()
	code, out := a.do("POST", "/v1/connections/"+connID+"/syncs", key, `{"dryRun":true}`, nil)
	if code != http.StatusAccepted {
		t.Fatalf("dry run: %d %v", code, out)
	}
	dryID := out["syncId"].(string)
	dry := a.waitSync(key, dryID)
	rcu, wcu, reqs := units.Totals()
	t.Logf("dry run: %v; store: %.1f RCU, %.1f WCU, %d requests", dry["counts"], rcu, wcu, reqs)
	if dry["status"] != "completed" || dry["dryRun"] != true {
		t.Fatalf("dry run = %v, want completed with dryRun true", dry)
	}
	after := tenantItems(t, s, tenant)
	for k, v := range after {
		if w, ok := before[k]; !ok {
			t.Errorf("the dry run wrote %s", k)
		} else if !reflect.DeepEqual(v, w) {
			t.Errorf("the dry run changed %s:\n%v\nwas\n%v", k, v, w)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("the dry run deleted %s", k)
		}
	}
	for k := range after {
		if strings.HasPrefix(k, "T#"+tenant+"#S#"+connID+"#") {
			t.Fatalf("a link of the dry-run connection exists: %s", k)
		}
	}
	if n := tw.Posts(); n != 0 {
		t.Fatalf("the dry run sent %d messages", n)
	}
	if u := (&usageFixture{api: a, key: key}).usage(nil); u.Messages != 0 || u.Credits != 0 {
		t.Fatalf("usage after the dry run = %+v", u)
	}

	dc := counts(t, dry)
	if dc.Created == 0 || dc.Updated < 3 || dc.Invalid < 2 || dc.Messages == 0 {
		t.Fatalf("dry-run counts %+v: want creations, the shared phones' updates, the invalid records, messages", dc)
	}
	if dc.Confirmations != dc.Messages || dc.Credits != 2*dc.Messages {
		t.Fatalf("dry-run counts %+v: want every message a confirmation of 2 credits", dc)
	}
	dryRows := a.report(key, dryID, nil)
	if len(dryRows) != dc.Created+dc.Updated+dc.Invalid {
		t.Errorf("dry-run report has %d rows, counts %+v", len(dryRows), dc)
	}

	// A finished run's status is set just before its lock is released.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		id, err := st.RunningRunID(ctx, tenant, connID)
		if err != nil {
			t.Fatal(err)
		}
		if id == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dry run kept the lock")
		}
	}
	units.Reset()
	code, out = a.do("POST", "/v1/connections/"+connID+"/syncs", key, "", nil)
	if code != http.StatusAccepted {
		t.Fatalf("real run: %d %v", code, out)
	}
	realID := out["syncId"].(string)
	real := a.waitSync(key, realID)
	if real["status"] != "completed" || real["dryRun"] != false {
		t.Fatalf("real run = %v", real)
	}
	rc := counts(t, real)
	rcu, wcu, reqs = units.Totals()
	t.Logf("real run: %v; store: %.1f RCU, %.1f WCU, %d requests", real["counts"], rcu, wcu, reqs)
	want := dc
	want.Credits = 0 // a real run's credits are counted as they are sent
	if rc != want {
		t.Fatalf("real run counts %+v, dry run %+v", rc, dc)
	}
	realRows := a.report(key, realID, nil)
	for id, r := range realRows {
		if r.Outcome == "invalid" && !reflect.DeepEqual(dryRows[id], r) {
			t.Errorf("invalid row %s: real %+v, dry %+v", id, r, dryRows[id])
		}
	}
	if byOutcome(realRows) != byOutcome(dryRows) {
		t.Errorf("report rows by outcome: real %v, dry %v", byOutcome(realRows), byOutcome(dryRows))
	}

	// The real run's messages go out: as many, for the credits foretold.
	deadline := time.Now().Add(time.Minute)
	for tw.Posts() < dc.Messages && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	var u hubapi.UsageOut
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if u = (&usageFixture{api: a, key: key}).usage(nil); u.Messages >= dc.Messages {
			break
		}
	}
	if u.Messages != dc.Messages || u.Credits != dc.Credits || tw.Posts() != dc.Messages {
		t.Fatalf("after the real run: usage %+v, %d sent; the dry run said %d messages, %d credits", u, tw.Posts(), dc.Messages, dc.Credits)
	}
}

// TestDryRun_TakesTheRunLock: a dry run is refused while another run
// holds the connection (409 with that run's id), and holds it itself; its
// options are checked (400).
func TestDryRun_TakesTheRunLock(t *testing.T) {
	t.Parallel()
	a := newAPI(t) // no consumer: a started run stays running
	key := a.tenant()
	code, out := a.do("POST", "/v1/connections", key, shopifyConn, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	id, install := out["id"].(string), out["syncId"].(string)
	code, out = a.do("POST", "/v1/connections/"+id+"/syncs", key, `{"dryRun":true}`, nil)
	if code != http.StatusConflict || errField(out, "code") != "sync_in_progress" || errField(out, "syncId") != install {
		t.Fatalf("dry run during the install = %d %v, want 409 with the install's id", code, out)
	}

	body := strings.Replace(shopifyConn, `"platform"`, `"enabled":false,"platform"`, 1)
	code, out = a.do("POST", "/v1/connections", key, body, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	id = out["id"].(string)
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"enabled":true}`, nil); code != http.StatusOK {
		t.Fatalf("enable: %d %v", code, out)
	}
	for _, bad := range []string{`{"dryRun":"yes"}`, `{"dry":true}`, `{"dryRun":true} {}`, `[`} {
		if code, out := a.do("POST", "/v1/connections/"+id+"/syncs", key, bad, nil); code != http.StatusBadRequest || errField(out, "code") != "malformed_json" {
			t.Errorf("sync with %s = %d %v, want 400 malformed_json", bad, code, out)
		}
	}
	code, out = a.do("POST", "/v1/connections/"+id+"/syncs", key, `{"dryRun":true}`, nil)
	if code != http.StatusAccepted {
		t.Fatalf("dry run: %d %v", code, out)
	}
	dry := out["syncId"].(string)
	code, out = a.do("POST", "/v1/connections/"+id+"/syncs", key, `{"dryRun":false}`, nil)
	if code != http.StatusConflict || errField(out, "syncId") != dry {
		t.Fatalf("sync during a dry run = %d %v, want 409 with the dry run's id", code, out)
	}
	code, out = a.do("GET", "/v1/syncs/"+dry, key, "", nil)
	if code != http.StatusOK || out["dryRun"] != true || out["status"] != "running" || out["trigger"] != "manual" {
		t.Fatalf("GET the dry run = %d %v", code, out)
	}
}

func errField(out map[string]any, k string) string {
	e, _ := out["error"].(map[string]any)
	v, _ := e[k].(string)
	return v
}

func counts(t *testing.T, run map[string]any) store.Counts {
	t.Helper()
	b, _ := json.Marshal(run["counts"])
	var c store.Counts
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func byOutcome(rows map[string]reportRow) string {
	n := map[string]int{}
	for _, r := range rows {
		n[r.Outcome]++
	}
	return fmt.Sprint(n)
}

// tenantItems reads every item of the tenant except its runs' own (run
// items, page markers, report rows, a dry run's scratch space, the run
// lock), decoded for comparison.
func tenantItems(t *testing.T, s *stacktest.Stack, tenant string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	p := dynamodb.NewScanPaginator(s.DynamoDB, &dynamodb.ScanInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(item, &m); err != nil {
				t.Fatal(err)
			}
			pk, _ := m["PK"].(string)
			sk, _ := m["SK"].(string)
			if pk != "T#"+tenant && !strings.HasPrefix(pk, "T#"+tenant+"#") {
				continue
			}
			if strings.HasPrefix(pk, "T#"+tenant+"#RUN#") || (pk == "T#"+tenant && (strings.HasPrefix(sk, "RUN#") || strings.HasPrefix(sk, "LOCK#"))) {
				continue
			}
			out[pk+"|"+sk] = m
		}
	}
	return out
}
