package bulksync_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// wbRig is the whole pipeline of a write-back: SMS replies through the
// inbound handler (a Twilio fake), the outbox consumer writing opt-outs back
// through the connectors, and sync runs through the bulk-sync handler, all
// on the embedded stack; the sync and its report are read through the Hub
// API.
type wbRig struct {
	st      *store.Store
	sealer  *seal.Sealer
	tenant  string
	key     string
	starter syncrun.Starter
	api     *hubapi.Handler
	tw      *twiliotest.Server
	inbound string // the inbound URL
	path    string

	mu     sync.Mutex
	clock  time.Time // the inbound handler's clock (replies' receipt times)
	replys int
}

const wbSender = "+15005550006"

func newWBRig(t *testing.T) *wbRig {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, apiKey, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	tw := twiliotest.NewServer(twiliotest.Options{})
	t.Cleanup(tw.Close)
	sid, token := tw.Credentials()
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: wbSender, CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	reg := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}
	pages, outboxQ := queue.NewSender(s.SQS, s.PagesQueueURL), queue.NewSender(s.SQS, s.OutboxQueueURL)
	bs := bulksync.New(bulksync.Deps{Store: st, Sources: reg, Pages: pages, Outbox: outboxQ, DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL)})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: bs.Handle, Concurrency: 2, BatchSize: 5, RetryDelay: time.Second}).Run(ctx)
	ob := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, WriteBacks: reg})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: ob.Handle, RetryDelay: time.Second}).Run(ctx)
	r := &wbRig{st: st, sealer: sealer, tenant: tenant.ID, key: apiKey, tw: tw,
		starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour},
		api:     hubapi.New(hubapi.Deps{Store: st, AdminToken: "admin"}),
		clock:   time.Now().UTC().Truncate(time.Second)}
	in := inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: outboxQ, Now: r.now})
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", in.Handle))
	t.Cleanup(srv.Close)
	r.path = "/sms/inbound/twilio/" + tenant.ID
	r.inbound = srv.URL + r.path
	return r
}

// now is the inbound clock: each reply a second after the one before, so
// they order and their write-back references can be named.
func (r *wbRig) now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replys++
	return r.clock.Add(time.Duration(r.replys) * time.Second)
}

// reply sends an SMS reply from number and returns its receipt time.
func (r *wbRig) reply(t *testing.T, from, text string) time.Time {
	t.Helper()
	r.mu.Lock()
	at := r.clock.Add(time.Duration(r.replys+1) * time.Second)
	r.mu.Unlock()
	resp, _, err := r.tw.SendInbound(context.Background(), r.inbound, r.path, from, wbSender, text, "")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reply %q: %v %v", text, resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return at
}

// connect adds a connection with write-back of opt-outs on.
func (r *wbRig) connect(t *testing.T, platform, label string, cfg map[string]string) store.Connection {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	conn := store.Connection{TenantID: r.tenant, ID: store.NewConnectionID(r.tenant), Platform: platform, Label: label,
		ConsentMode: "explicit", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, WriteBackOptOuts: true,
		Config: r.sealer.Seal(r.tenant, raw)}
	if err := r.st.CreateConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	return conn
}

// syncOut is a sync as GET /v1/syncs/{id} shows it.
type syncOut struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
	Counts struct {
		Created              int `json:"created"`
		Updated              int `json:"updated"`
		Unchanged            int `json:"unchanged"`
		WrittenBack          int `json:"written_back"`
		WriteBackFailed      int `json:"write_back_failed"`
		WriteBackUnsupported int `json:"write_back_unsupported"`
	} `json:"counts"`
}

// sync runs a full sync of conn to its end and returns it as the Hub API
// shows it.
func (r *wbRig) sync(t *testing.T, conn store.Connection, trigger string) syncOut {
	t.Helper()
	// The previous run's lock is released just after it shows finished:
	// wait for it.
	var run store.Run
	var err error
	var busy *store.RunInProgressError
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		run, err = r.starter.Start(context.Background(), r.tenant, conn.ID, trigger, false, time.Time{})
		if !errors.As(err, &busy) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var out syncOut
		r.get(t, "/v1/syncs/"+run.ID, nil, &out)
		if out.Status != store.RunRunning {
			if out.Status != store.RunCompleted {
				t.Fatalf("sync %s = %+v", run.ID, out)
			}
			return out
		}
	}
	t.Fatalf("sync %s did not finish", run.ID)
	return syncOut{}
}

// reportRow is a row of GET /v1/syncs/{id}/report.
type reportRow struct {
	ExternalID string `json:"externalId"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason"`
	Identifier string `json:"identifier"`
	ContactID  string `json:"contactId"`
}

func (r *wbRig) report(t *testing.T, syncID, outcome string) []reportRow {
	t.Helper()
	var out struct {
		Items []reportRow `json:"items"`
	}
	r.get(t, "/v1/syncs/"+syncID+"/report", map[string]string{"outcome": outcome}, &out)
	return out.Items
}

func (r *wbRig) get(t *testing.T, path string, q map[string]string, into any) {
	t.Helper()
	resp, err := r.api.Handle(context.Background(), apigw.Request{RawPath: path, QueryStringParameters: q, Headers: map[string]string{"authorization": "Bearer " + r.key},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %d %s", path, err, resp.StatusCode, resp.Body)
	}
	if err := json.Unmarshal([]byte(resp.Body), into); err != nil {
		t.Fatal(err)
	}
}

// waitMarker waits until the write-back a STOP at stopAt queued for
// (conn, externalID) is finished with status want.
func (r *wbRig) waitMarker(t *testing.T, conn store.Connection, externalID, phone string, stopAt time.Time, want string) {
	t.Helper()
	ref := messages.WriteBackMessage(r.tenant, store.WriteBack{ConnectionID: conn.ID, ExternalID: externalID}, phone, stopAt).Ref
	status := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, s, err := r.st.GetOutbox(context.Background(), r.tenant, ref)
		if err != nil && err != store.ErrNotFound {
			t.Fatal(err)
		}
		if status = s; s == want {
			return
		}
	}
	t.Fatalf("the STOP's write-back to %s is %q, want %q", externalID, status, want)
}

// waitState waits until the number's consent is want.
func (r *wbRig) waitState(t *testing.T, phone string, want consent.State) {
	t.Helper()
	var got consent.State
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rec, _, err := r.st.GetPhone(context.Background(), r.tenant, phone)
		if err != nil {
			t.Fatal(err)
		}
		if got = rec.Ledger.State(); got == want {
			return
		}
	}
	t.Fatalf("%s is %q, want %q", phone, got, want)
}

func shopifyConfig(shop *shopifytest.Server) map[string]string {
	return map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "s", "apiBaseUrl": shop.URL(), "bulkOperations": "false"}
}

func shopifyGID(n int) string { return "gid://shopify/Customer/" + shopifyID(n) }
func shopifyID(n int) string  { return strconv.FormatInt(shopifytest.BaseID+int64(n), 10) }

// TestWriteBack_FailedStopWriteBackIsWrittenBackByTheNextSync: a STOP's
// write-back that the shop refused for good is not the end of it. Every
// following sync of the connection finds the Shopify customer still
// subscribed, tries once (one call per record per sync, however the sync
// goes), and reports each refusal with its reason (the shop's error code:
// its text is not echoed) and the number masked; the first sync after the shop accepts writes it back and reports
// it written_back.
func TestWriteBack_FailedStopWriteBackIsWrittenBackByTheNextSync(t *testing.T) {
	t.Parallel()
	const number = "+61412555001"
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 3, Seed: 7, RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	shop.SetSMSConsent(1, number, "SUBSCRIBED", fakestore.Epoch)
	r := newWBRig(t)
	conn := r.connect(t, "shopify", "Shopify", shopifyConfig(shop))
	if install := r.sync(t, conn, store.TriggerInstall); install.Counts.Created == 0 || install.Counts.WrittenBack != 0 {
		t.Fatalf("install = %+v", install)
	}
	r.waitState(t, number, consent.Subscribed)

	shop.RefuseWriteBacks("Customer consent cannot be changed")
	stopAt := r.reply(t, number, "STOP")
	r.waitMarker(t, conn, shopifyID(1), number, stopAt, store.OutboxFailed)
	if got := shop.RefusedWriteBacks(); got != 1 {
		t.Fatalf("refused write-backs after the STOP = %d, want 1", got)
	}

	for i := 1; i <= 2; i++ {
		run := r.sync(t, conn, store.TriggerManual)
		if run.Counts.WrittenBack != 0 || run.Counts.WriteBackFailed != 1 {
			t.Fatalf("sync %d while the shop refuses = %+v, want write_back_failed 1", i, run.Counts)
		}
		if got := shop.RefusedWriteBacks(); got != 1+i {
			t.Fatalf("refused write-backs after sync %d = %d, want %d (one per record per sync)", i, got, 1+i)
		}
		rows := r.report(t, run.ID, store.OutcomeWriteBackFailed)
		if len(rows) != 1 || rows[0].ExternalID != shopifyID(1) || !strings.Contains(rows[0].Reason, "USER_ERROR") ||
			rows[0].Identifier == "" || strings.Contains(rows[0].Identifier, number[3:]) || rows[0].ContactID == "" {
			t.Fatalf("sync %d write_back_failed rows = %+v", i, rows)
		}
	}

	shop.RefuseWriteBacks("")
	run := r.sync(t, conn, store.TriggerManual)
	if run.Counts.WrittenBack != 1 || run.Counts.WriteBackFailed != 0 {
		t.Fatalf("sync after the shop accepts = %+v, want written_back 1", run.Counts)
	}
	if wb := shop.WriteBacks(); !slices.Equal(wb, []string{shopifyGID(1)}) {
		t.Fatalf("shop write-backs = %v", wb)
	}
	if rows := r.report(t, run.ID, store.OutcomeWrittenBack); len(rows) != 1 || rows[0].ExternalID != shopifyID(1) || strings.Contains(rows[0].Identifier, number[3:]) {
		t.Fatalf("written_back rows = %+v", rows)
	}
	// The shop now shows the opt-out: nothing more to write back.
	if again := r.sync(t, conn, store.TriggerManual); again.Counts.WrittenBack != 0 || again.Counts.WriteBackFailed != 0 || len(shop.WriteBacks()) != 1 {
		t.Fatalf("the sync after = %+v, shop write-backs %v", again.Counts, shop.WriteBacks())
	}
	r.waitState(t, number, consent.Unsubscribed)
}

// TestWriteBack_ConnectionAddedAfterTheStopWritesItBackOnInstall: a number
// that opted out before the Klaviyo account was connected, and that Klaviyo
// shows subscribed (consented long before the STOP), is unsubscribed in
// Klaviyo by the install sync.
func TestWriteBack_ConnectionAddedAfterTheStopWritesItBackOnInstall(t *testing.T) {
	t.Parallel()
	const number = "+61412555002"
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 3, Seed: 9, PerSecond: -1, PerMinute: -1})
	defer kl.Close()
	kl.Update(1, fakestore.Epoch, func(a map[string]any) {
		a["phone_number"] = number
		a["subscriptions"] = map[string]any{"sms": map[string]any{"marketing": map[string]any{
			"can_receive_sms_marketing": true, "consent": "SUBSCRIBED", "consent_timestamp": fakestore.Epoch.Format(time.RFC3339), "method": "TEXT", "method_detail": "JOIN"}}}
	})
	r := newWBRig(t)
	r.reply(t, number, "STOP")
	r.waitState(t, number, consent.Unsubscribed)

	conn := r.connect(t, "klaviyo", "Klaviyo", map[string]string{"privateApiKey": kl.APIKey(), "apiBaseUrl": kl.URL()})
	install := r.sync(t, conn, store.TriggerInstall)
	if install.Counts.WrittenBack != 1 || install.Counts.WriteBackFailed != 0 {
		t.Fatalf("install = %+v, want written_back 1", install.Counts)
	}
	if got := kl.Unsubscribed(); !slices.Equal(got, []string{number}) {
		t.Fatalf("Klaviyo unsubscribed %v, want [%s]", got, number)
	}
	r.waitState(t, number, consent.Unsubscribed)
}

// TestWriteBack_SourceFlippedBackToSubscribedIsCorrected: the STOP was
// written back to Shopify, then the shop shows the number subscribed again
// with its old consent time (a re-import, an app): no newer opt-in, so the
// next sync writes the opt-out back again.
func TestWriteBack_SourceFlippedBackToSubscribedIsCorrected(t *testing.T) {
	t.Parallel()
	const number = "+61412555003"
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 3, Seed: 8, RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	shop.SetSMSConsent(2, number, "SUBSCRIBED", fakestore.Epoch)
	r := newWBRig(t)
	conn := r.connect(t, "shopify", "Shopify", shopifyConfig(shop))
	r.sync(t, conn, store.TriggerInstall)
	stopAt := r.reply(t, number, "STOP")
	r.waitMarker(t, conn, shopifyID(2), number, stopAt, store.OutboxSent)
	if wb := shop.WriteBacks(); !slices.Equal(wb, []string{shopifyGID(2)}) {
		t.Fatalf("the STOP's write-back = %v", wb)
	}

	shop.SetSMSConsent(2, number, "SUBSCRIBED", fakestore.Epoch) // back to what it said before the STOP
	run := r.sync(t, conn, store.TriggerManual)
	if run.Counts.WrittenBack != 1 {
		t.Fatalf("sync after the flip = %+v, want written_back 1", run.Counts)
	}
	if wb := shop.WriteBacks(); !slices.Equal(wb, []string{shopifyGID(2), shopifyGID(2)}) {
		t.Fatalf("shop write-backs = %v", wb)
	}
	r.waitState(t, number, consent.Unsubscribed)
}

// TestWriteBack_NewerOptInIsNeverOverwritten: two numbers texted STOP and
// the shop refused both write-backs; then one of them texted YES. The next
// sync writes back only the other: the YES is newer than its STOP, so the
// shop's "subscribed" stands.
func TestWriteBack_NewerOptInIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	const yesNumber, stopNumber = "+61412555004", "+61412555005"
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 3, Seed: 10, RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	shop.SetSMSConsent(1, yesNumber, "SUBSCRIBED", fakestore.Epoch)
	shop.SetSMSConsent(2, stopNumber, "SUBSCRIBED", fakestore.Epoch)
	r := newWBRig(t)
	conn := r.connect(t, "shopify", "Shopify", shopifyConfig(shop))
	r.sync(t, conn, store.TriggerInstall)

	shop.RefuseWriteBacks("try later")
	stop1 := r.reply(t, yesNumber, "STOP")
	stop2 := r.reply(t, stopNumber, "STOP")
	r.waitMarker(t, conn, shopifyID(1), yesNumber, stop1, store.OutboxFailed)
	r.waitMarker(t, conn, shopifyID(2), stopNumber, stop2, store.OutboxFailed)
	r.reply(t, yesNumber, "YES")
	r.waitState(t, yesNumber, consent.Subscribed)
	shop.RefuseWriteBacks("")

	run := r.sync(t, conn, store.TriggerManual)
	if run.Counts.WrittenBack != 1 || run.Counts.WriteBackFailed != 0 {
		t.Fatalf("sync = %+v, want written_back 1 (only the number without a YES)", run.Counts)
	}
	if wb := shop.WriteBacks(); !slices.Equal(wb, []string{shopifyGID(2)}) {
		t.Fatalf("shop write-backs = %v, want only %s", wb, shopifyGID(2))
	}
	r.waitState(t, yesNumber, consent.Subscribed)
	r.waitState(t, stopNumber, consent.Unsubscribed)
}

// TestWriteBack_MailchimpCountsUnsupportedOncePerRun: Mailchimp's API
// cannot take an SMS opt-out; a sync that finds unsubscribed numbers
// subscribed there counts write_back_unsupported once, not per member, and
// lists no failure.
func TestWriteBack_MailchimpCountsUnsupportedOncePerRun(t *testing.T) {
	t.Parallel()
	numbers := []string{"+61412555006", "+61412555007"}
	mc := mailchimptest.NewServer(mailchimptest.Options{Members: 4, Seed: 12})
	defer mc.Close()
	for i, n := range numbers {
		mc.Update(i+1, fakestore.Epoch, func(m map[string]any) {
			m["sms_phone_number"], m["sms_subscription_status"], m["sms_subscription_last_updated"] = n, "subscribed", fakestore.Epoch.Format(time.RFC3339)
		})
	}
	r := newWBRig(t)
	for _, n := range numbers {
		r.reply(t, n, "STOP")
		r.waitState(t, n, consent.Unsubscribed)
	}
	conn := r.connect(t, "mailchimp", "Mailchimp", map[string]string{"apiKey": mc.APIKey(), "audienceId": mc.AudienceID(), "apiBaseUrl": mc.URL()})
	run := r.sync(t, conn, store.TriggerInstall)
	if run.Counts.WriteBackUnsupported != 1 || run.Counts.WrittenBack != 0 || run.Counts.WriteBackFailed != 0 {
		t.Fatalf("install = %+v, want write_back_unsupported 1", run.Counts)
	}
	if rows := r.report(t, run.ID, store.OutcomeWriteBackFailed); len(rows) != 0 {
		t.Fatalf("write_back_failed rows = %+v", rows)
	}
}

// TestWriteBack_MarketingToolOptOutReachesTheStore: the number unsubscribed
// in Klaviyo (the marketing tool); the Klaviyo sync records the opt-out,
// and the next sync of the Shopify store, where the customer is unchanged
// and still subscribed, writes it back there.
func TestWriteBack_MarketingToolOptOutReachesTheStore(t *testing.T) {
	t.Parallel()
	const number = "+61412555008"
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 3, Seed: 13, RestoreRate: 100000, MaxAvailable: 100000})
	defer shop.Close()
	shop.SetSMSConsent(3, number, "SUBSCRIBED", fakestore.Epoch)
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 2, Seed: 14, PerSecond: -1, PerMinute: -1})
	defer kl.Close()
	smsConsent := func(state string, at time.Time) map[string]any {
		return map[string]any{"sms": map[string]any{"marketing": map[string]any{
			"can_receive_sms_marketing": state == "SUBSCRIBED", "consent": state, "consent_timestamp": at.Format(time.RFC3339), "method": "TEXT", "method_detail": "JOIN"}}}
	}
	kl.Update(1, fakestore.Epoch, func(a map[string]any) {
		a["phone_number"], a["subscriptions"] = number, smsConsent("SUBSCRIBED", fakestore.Epoch)
	})
	r := newWBRig(t)
	shopConn := r.connect(t, "shopify", "Shopify", shopifyConfig(shop))
	r.sync(t, shopConn, store.TriggerInstall)
	klConn := r.connect(t, "klaviyo", "Klaviyo", map[string]string{"privateApiKey": kl.APIKey(), "apiBaseUrl": kl.URL()})
	r.sync(t, klConn, store.TriggerInstall)
	r.waitState(t, number, consent.Subscribed)

	unsubscribedAt := time.Now().UTC().Truncate(time.Second)
	kl.Update(1, unsubscribedAt, func(a map[string]any) { a["subscriptions"] = smsConsent("UNSUBSCRIBED", unsubscribedAt) })
	if run := r.sync(t, klConn, store.TriggerManual); run.Counts.Updated != 1 || run.Counts.WrittenBack != 0 {
		t.Fatalf("Klaviyo sync = %+v", run.Counts)
	}
	r.waitState(t, number, consent.Unsubscribed)
	run := r.sync(t, shopConn, store.TriggerManual)
	if run.Counts.WrittenBack != 1 {
		t.Fatalf("Shopify sync after the Klaviyo opt-out = %+v, want written_back 1", run.Counts)
	}
	if wb := shop.WriteBacks(); !slices.Equal(wb, []string{shopifyGID(3)}) {
		t.Fatalf("shop write-backs = %v", wb)
	}
	if len(kl.Unsubscribed()) != 0 {
		t.Fatalf("Klaviyo, which said it, was written back: %v", kl.Unsubscribed())
	}
}
