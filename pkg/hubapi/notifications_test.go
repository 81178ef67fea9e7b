package hubapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// delivery is one request the test receiver got.
type delivery struct {
	id, timestamp, typ string
	body               []byte
	valid              bool // the signature checks out (verifySW)
}

// receiver is the hub's notification endpoint: it checks every request's
// Standard Webhooks signature with its own implementation of the scheme
// and answers what fail says (200 otherwise).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []delivery
	fail   func(d delivery, attempt int) int // status to answer, 0 = 200
	clock  func() time.Time                  // the hub's clock (the outbox's)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &ev)
		r.mu.Lock()
		d := delivery{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"), typ: ev.Type, body: body}
		d.valid = req.Method == http.MethodPost && verifySW(r.secret, d.id, d.timestamp, req.Header.Get("webhook-signature"), body, r.clock())
		r.got = append(r.got, d)
		attempt := 0
		for _, g := range r.got {
			if g.id == d.id {
				attempt++
			}
		}
		code := 0
		if r.fail != nil {
			code = r.fail(d, attempt)
		}
		r.mu.Unlock()
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// verifySW checks a webhook-signature header the way a hub would: the
// base64 HMAC-SHA256, keyed with the decoded whsec_ secret, of
// "id.timestamp.body", against any "v1," entry of the header, in constant
// time; the timestamp within five minutes of now.
func verifySW(secret, id, ts, header string, body []byte, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || id == "" || len(key) == 0 {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(header) {
		v, b64, ok := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && v == "v1" && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// of returns the deliveries of type typ.
func (r *receiver) of(typ string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.typ == typ {
			out = append(out, d)
		}
	}
	return out
}

func (r *receiver) byID() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, d := range r.got {
		out[d.id]++
	}
	return out
}

// notifyFixture is the Hub API with the bulk-sync pipeline and the outbox
// consumer behind it (both queues polled), notifications on, and a clock
// for the outbox that the test moves on (the sweeper is called with it).
type notifyFixture struct {
	*api
	rcv    *receiver
	offset atomic.Int64 // the outbox clock's lead over the wall clock
	sweep  *messages.Sweeper
	key    string
	tenant string
}

func (f *notifyFixture) now() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }

func newNotifyFixture(t *testing.T) *notifyFixture {
	t.Helper()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	pages, ob := queue.NewSender(s.SQS, s.PagesQueueURL), queue.NewSender(s.SQS, s.OutboxQueueURL)
	notifier := &notify.Notifier{Store: st, Queue: ob}
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", AllowPrivateHosts: true,
		Starter: syncrun.Starter{Store: st, Pages: pages, LockFor: time.Hour}, Outbox: ob, Notify: notifier,
	})
	bs := bulksync.New(bulksync.Deps{
		Store: st, Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, Outbox: ob, DeadLetter: queue.NewSender(s.SQS, s.PagesDLQURL), Notify: notifier,
	})
	f := &notifyFixture{api: &api{t: t, h: h, st: st}, rcv: newReceiver(t), sweep: &messages.Sweeper{Store: st, Queue: ob}}
	f.rcv.mu.Lock()
	f.rcv.clock = f.now
	f.rcv.mu.Unlock()
	consumer := outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, Now: f.now})
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.PagesQueueURL, Handler: bs.Handle, Concurrency: 2, BatchSize: 5, RetryDelay: time.Second}).Run(ctx)
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: consumer.Handle, Concurrency: 1, RetryDelay: time.Second}).Run(ctx)
	f.key = f.api.tenant()
	f.tenant = strings.SplitN(f.key, ".", 2)[0]
	return f
}

// register puts the receiver's URL as the tenant's endpoint and keeps the
// secret for the receiver.
func (f *notifyFixture) register() {
	f.t.Helper()
	code, out := f.do("PUT", "/v1/notifications/endpoint", f.key, fmt.Sprintf(`{"url":%q}`, f.rcv.srv.URL+"/hooks"), nil)
	if code != http.StatusOK {
		f.t.Fatalf("PUT endpoint: %d %v", code, out)
	}
	f.rcv.mu.Lock()
	f.rcv.secret = out["secret"].(string)
	f.rcv.mu.Unlock()
}

type loggedNotification struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
	LastStatusCode int    `json:"lastStatusCode"`
	CreatedAt      string `json:"createdAt"`
}

// log lists GET /v1/notifications page by page (limit 1: the cursor is
// used).
func (f *notifyFixture) log() []loggedNotification {
	f.t.Helper()
	var all []loggedNotification
	q := map[string]string{"limit": "1"}
	for {
		resp := f.get("/v1/notifications", f.key, q)
		var page struct {
			Items      []loggedNotification `json:"items"`
			NextCursor string               `json:"nextCursor"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &page) != nil {
			f.t.Fatalf("GET /v1/notifications: %d %s", resp.StatusCode, resp.Body)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		q["cursor"] = page.NextCursor
	}
}

// waitLog waits (deadline 1 min) until the log holds an entry of typ for
// which ok holds, and returns it.
func (f *notifyFixture) waitLog(typ string, ok func(loggedNotification) bool) loggedNotification {
	f.t.Helper()
	var last []loggedNotification
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		last = f.log()
		for _, n := range last {
			if n.Type == typ && ok(n) {
				return n
			}
		}
	}
	f.t.Fatalf("no %s in the delivery log as wanted: %+v", typ, last)
	return loggedNotification{}
}

// TestNotifications_EndpointSecretShownOnceRotatedAndPrivateHostsRefused:
// PUT answers a whsec_ secret once, GET shows the URL and its time but
// never the secret, a second PUT rotates it, DELETE removes it; URLs that
// are not public https (a private or loopback address, http, a local name)
// and bad bodies get a 400 naming the field.
func TestNotifications_EndpointSecretShownOnceRotatedAndPrivateHostsRefused(t *testing.T) {
	t.Parallel()
	a := newAPI(t) // private hosts not allowed
	key := a.tenant()
	if code, _ := a.do("GET", "/v1/notifications/endpoint", key, "", nil); code != http.StatusNotFound {
		t.Fatalf("GET before PUT: %d", code)
	}
	code, first := a.do("PUT", "/v1/notifications/endpoint", key, `{"url":"https://hub.example.com/contactsync/events"}`, nil)
	secret, _ := first["secret"].(string)
	if code != http.StatusOK || !strings.HasPrefix(secret, "whsec_") || first["url"] != "https://hub.example.com/contactsync/events" {
		t.Fatalf("PUT: %d %v", code, first)
	}
	code, got := a.do("GET", "/v1/notifications/endpoint", key, "", nil)
	raw, _ := json.Marshal(got)
	if code != http.StatusOK || got["url"] != first["url"] || got["createdAt"] == nil || strings.Contains(string(raw), "whsec_") || strings.Contains(string(raw), secret[6:]) {
		t.Fatalf("GET: %d %s (the secret must never be shown again)", code, raw)
	}
	code, second := a.do("PUT", "/v1/notifications/endpoint", key, `{"url":"https://hub.example.com/contactsync/events"}`, nil)
	if code != http.StatusOK || second["secret"] == secret || !strings.HasPrefix(second["secret"].(string), "whsec_") {
		t.Fatalf("rotate: %d %v (want a new secret)", code, second)
	}
	for _, bad := range []string{
		`{"url":"https://10.0.0.7/hook"}`, `{"url":"https://127.0.0.1/hook"}`, `{"url":"https://[::1]/hook"}`,
		`{"url":"https://169.254.169.254/latest/meta-data"}`, `{"url":"http://hub.example.com/hook"}`,
		`{"url":"https://localhost/hook"}`, `{"url":"https://hub.internal/hook"}`, `{"url":"https://user:pw@hub.example.com/"}`,
		`{"url":""}`, `{"url":"https://hub.example.com/` + strings.Repeat("a", 2100) + `"}`,
	} {
		code, out := a.do("PUT", "/v1/notifications/endpoint", key, bad, nil)
		badField(t, bad, code, out, "url")
	}
	for _, bad := range []string{`not json`, `{"url":7}`, `{"url":"https://hub.example.com/","extra":1}`} {
		if code, out := a.do("PUT", "/v1/notifications/endpoint", key, bad, nil); code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d %v, want 400", bad, code, out)
		}
	}
	// The refused URLs left the endpoint as it was.
	if _, got := a.do("GET", "/v1/notifications/endpoint", key, "", nil); got["url"] != first["url"] {
		t.Errorf("endpoint after refused PUTs: %v", got)
	}
	// Another tenant sees nothing of it.
	if code, _ := a.do("GET", "/v1/notifications/endpoint", a.tenant(), "", nil); code != http.StatusNotFound {
		t.Errorf("another tenant's GET: %d", code)
	}
	if code, _ := a.do("DELETE", "/v1/notifications/endpoint", key, "", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := a.do("GET", "/v1/notifications/endpoint", key, "", nil); code != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d", code)
	}
	if code, _ := a.do("DELETE", "/v1/notifications/endpoint", key, "", nil); code != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", code)
	}
	if code, out := a.do("GET", "/v1/notifications", key, "", map[string]string{"cursor": "bm9wZQ"}); code != http.StatusBadRequest {
		t.Errorf("a forged cursor: %d %v", code, out)
	}
}

// TestNotifications_InstallSignedRetriedAfter500AndLogged: a tenant with a
// notification endpoint installs a WooCommerce store. The receiver gets
// connection.activated once and sync.completed with the run's counts, each
// signed (checked with the test's own implementation of the scheme); it
// answers the first sync.completed with a 500, and the delivery log shows
// that attempt (pending, 1 attempt, 500). When the retry's time has come
// (the outbox clock and the sweeper moved past the backoff) the same event
// (same webhook-id and body) arrives again, is answered 200, and the log
// shows it delivered after 2 attempts: every event arrived exactly once per
// attempt the log counts.
func TestNotifications_InstallSignedRetriedAfter500AndLogged(t *testing.T) {
	t.Parallel()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 5, Seed: 17})
	defer shop.Close()
	f := newNotifyFixture(t)
	f.rcv.fail = func(d delivery, attempt int) int {
		if d.typ == "sync.completed" && attempt == 1 {
			return http.StatusInternalServerError
		}
		return 0
	}
	f.register()
	ck, cs := shop.Credentials()
	body, _ := json.Marshal(map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec"}})
	code, created := f.do("POST", "/v1/connections", f.key, string(body), nil)
	if code != http.StatusCreated {
		t.Fatalf("create connection: %d %v", code, created)
	}
	connID, syncID := created["id"].(string), created["syncId"].(string)
	run := f.waitSync(f.key, syncID)
	if run["status"] != "completed" {
		t.Fatalf("install: %v", run)
	}

	failed := f.waitLog("sync.completed", func(n loggedNotification) bool { return n.Attempts == 1 })
	if failed.Status != "pending" || failed.LastStatusCode != 500 {
		t.Fatalf("after the 500: %+v, want pending with 1 attempt and status code 500", failed)
	}
	f.waitLog("connection.activated", func(n loggedNotification) bool { return n.Status == "delivered" })

	// The retry waits for its backoff: move the outbox clock past it and
	// sweep as the scheduler's tick would.
	f.offset.Store(int64(2 * time.Hour))
	if n, err := f.sweep.Sweep(context.Background(), f.now()); err != nil || n < 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	done := f.waitLog("sync.completed", func(n loggedNotification) bool { return n.Status == "delivered" })
	if done.Attempts != 2 || done.LastStatusCode != 200 || done.ID != failed.ID {
		t.Fatalf("after the retry: %+v, want delivered after 2 attempts", done)
	}

	completed := f.rcv.of("sync.completed")
	if len(completed) != 2 || completed[0].id != done.ID || completed[1].id != done.ID || string(completed[0].body) != string(completed[1].body) {
		t.Fatalf("sync.completed deliveries: %+v, want the same event twice", completed)
	}
	var ev struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			SyncID       string         `json:"syncId"`
			ConnectionID string         `json:"connectionId"`
			Counts       map[string]any `json:"counts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(completed[1].body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Data.SyncID != syncID || ev.Data.ConnectionID != connID || ev.Timestamp == "" || fmt.Sprint(ev.Data.Counts) != fmt.Sprint(run["counts"]) {
		t.Errorf("sync.completed = %s, want the run's counts %v", completed[1].body, run["counts"])
	}
	activated := f.rcv.of("connection.activated")
	if len(activated) != 1 || !strings.Contains(string(activated[0].body), `"syncId":"`+syncID+`"`) || !strings.Contains(string(activated[0].body), `"connectionId":"`+connID+`"`) {
		t.Errorf("connection.activated deliveries: %+v", activated)
	}
	for _, d := range append(completed, activated...) {
		if !d.valid {
			t.Errorf("delivery %s (%s) has no valid signature", d.id, d.typ)
		}
	}
	seen := f.rcv.byID()
	log := f.log()
	if len(log) != 2 || log[0].Type != "sync.completed" || log[1].Type != "connection.activated" {
		t.Errorf("log = %+v, want sync.completed then connection.activated (newest first)", log)
	}
	for _, n := range log {
		if seen[n.ID] != n.Attempts {
			t.Errorf("%s (%s) arrived %d times, the log counts %d attempts", n.ID, n.Type, seen[n.ID], n.Attempts)
		}
	}
	if len(seen) != len(log) {
		t.Errorf("the receiver saw %d events, the log has %d", len(seen), len(log))
	}
}

// TestNotifications_HubUnsubscribeTellsTheHub: a hub unsubscribe sends
// contact.unsubscribed with the contact's id and E.164 number; a tenant
// without an endpoint makes no notification; a second unsubscribe (no
// change) makes none either.
func TestNotifications_HubUnsubscribeTellsTheHub(t *testing.T) {
	t.Parallel()
	f := newNotifyFixture(t)
	add := func(ext, ph string) string {
		t.Helper()
		conn := merge.Connection{ID: "conn-1", Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}
		applied, err := f.st.ApplyRecord(context.Background(), store.Target{TenantID: f.tenant, Conn: conn},
			source.Record{Platform: source.Shopify, Label: "Shopify", ConnectionID: conn.ID, ExternalID: ext, UpdatedAt: time.Now(),
				FirstName: "Ann", Phones: []source.PhoneField{{Raw: ph}}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return applied.Decision.ContactID
	}
	quiet, contact := add("1", "0412 000 001"), add("2", "0412 345 678")
	if code, out := f.do("PUT", "/v1/contacts/"+quiet+"/subscription", f.key, `{"status":"unsubscribed"}`, nil); code != http.StatusOK {
		t.Fatalf("unsubscribe without endpoint: %d %v", code, out)
	}
	f.register()
	for range 2 {
		if code, out := f.do("PUT", "/v1/contacts/"+contact+"/subscription", f.key, `{"status":"unsubscribed"}`, nil); code != http.StatusOK || out["status"] != "unsubscribed" {
			t.Fatalf("unsubscribe: %d %v", code, out)
		}
	}
	n := f.waitLog("contact.unsubscribed", func(n loggedNotification) bool { return n.Status == "delivered" })
	got := f.rcv.of("contact.unsubscribed")
	if len(got) != 1 || got[0].id != n.ID || !got[0].valid {
		t.Fatalf("contact.unsubscribed deliveries %+v", got)
	}
	var ev struct {
		Data struct {
			ContactID, Phone, Source string
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].body, &ev); err != nil || ev.Data.ContactID != contact || ev.Data.Phone != "+61412345678" || ev.Data.Source != "hub" {
		t.Errorf("contact.unsubscribed = %s", got[0].body)
	}
	if log := f.log(); len(log) != 1 {
		t.Errorf("log = %+v, want the one unsubscribe of a tenant with an endpoint", log)
	}
}

// TestNotifications_FailedSyncSaysWhy: an install whose platform refuses
// the credentials ends failed, and the hub gets sync.failed with the
// run's reason (and the connection.activated of its start).
func TestNotifications_FailedSyncSaysWhy(t *testing.T) {
	t.Parallel()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 2, Seed: 5})
	defer shop.Close()
	f := newNotifyFixture(t)
	f.register()
	body, _ := json.Marshal(map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": "ck_wrong", "consumerSecret": "cs_wrong", "webhookSecret": "whsec"}})
	code, created := f.do("POST", "/v1/connections", f.key, string(body), nil)
	if code != http.StatusCreated {
		t.Fatalf("create connection: %d %v", code, created)
	}
	run := f.waitSync(f.key, created["syncId"].(string))
	if run["status"] != "failed" || run["error"] == "" {
		t.Fatalf("install: %v, want failed with a reason", run)
	}
	f.waitLog("sync.failed", func(n loggedNotification) bool { return n.Status == "delivered" })
	got := f.rcv.of("sync.failed")
	var ev struct {
		Data struct {
			SyncID, Reason string
		} `json:"data"`
	}
	if len(got) != 1 || !got[0].valid || json.Unmarshal(got[0].body, &ev) != nil || ev.Data.SyncID != run["id"] || ev.Data.Reason != run["error"] {
		t.Fatalf("sync.failed deliveries %+v, want one with the run's reason %q", got, run["error"])
	}
	if len(f.rcv.of("sync.completed")) != 0 || len(f.rcv.of("connection.activated")) != 1 {
		t.Errorf("deliveries: %d sync.completed, %d connection.activated", len(f.rcv.of("sync.completed")), len(f.rcv.of("connection.activated")))
	}
}
