package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/safehttp"
)

// TestSign_OfficialVector signs the published vector of the Standard
// Webhooks reference library (standard-webhooks/standard-webhooks,
// libraries/go/webhook_symmetric_test.go, TestSymmetricWebhookSign, commit
// 3ac24afe352b5989ddf44d4b4cd4f08bdfa2c2e4), used here as data; the shared
// fixtures hold no Standard Webhooks vector.
func TestSign_OfficialVector(t *testing.T) {
	got, err := notify.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if _, err := notify.Sign("whsec_not base64!", "msg_1", 1, nil); err == nil {
		t.Error("a malformed secret signed")
	}
}

func TestNewSecret_ShapeAndUniqueness(t *testing.T) {
	a, b := notify.NewSecret(), notify.NewSecret()
	if !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+44 || a == b {
		t.Fatalf("secrets %q %q", a, b)
	}
}

func TestEvent_IDIsStableForAKeyAndSortsByTime(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	e := notify.Event{Type: notify.SyncCompleted, At: at, Key: "r1"}
	again := notify.Event{Type: notify.SyncCompleted, At: at, Key: "r1"}
	if e.ID() != again.ID() || !strings.HasPrefix(e.ID(), "msg_") || strings.Contains(e.ID(), ".") {
		t.Fatalf("id %q, again %q", e.ID(), again.ID())
	}
	later := notify.Event{Type: notify.SyncCompleted, At: at.Add(time.Millisecond), Key: "r0"}
	if later.ID() <= e.ID() {
		t.Errorf("ids do not sort by time: %s <= %s", later.ID(), e.ID())
	}
	if r1, r2 := (notify.Event{Type: notify.SyncCompleted, At: at}), (notify.Event{Type: notify.SyncCompleted, At: at}); r1.ID() == r2.ID() {
		t.Error("an event without a key has a fixed id")
	}
}

// TestBackoff_EightAttemptsOverAboutADay: seven waits between eight
// attempts, growing, adding up to about 24 hours.
func TestBackoff_EightAttemptsOverAboutADay(t *testing.T) {
	var total time.Duration
	for n := 1; n < notify.MaxAttempts; n++ {
		if n > 1 && notify.Backoff(n) <= notify.Backoff(n-1) {
			t.Errorf("wait %d (%v) not longer than wait %d", n, notify.Backoff(n), n-1)
		}
		total += notify.Backoff(n)
	}
	if total < 20*time.Hour || total > 26*time.Hour {
		t.Errorf("retries span %v, want about a day", total)
	}
}

// TestPost_OutcomeByAnswer: 2xx delivers; 429, 5xx and time-outs are
// retried; a redirect is not followed and fails like any other 4xx; the
// answer's body is never read past MaxAnswer; a private address is
// refused at dial time (no retry) unless private hosts are allowed.
func TestPost_OutcomeByAnswer(t *testing.T) {
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits[r.URL.Path]++
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(204)
		case "/busy":
			w.Header().Set("Retry-After", "7200")
			w.WriteHeader(429)
		case "/down":
			w.WriteHeader(503)
		case "/gone":
			w.WriteHeader(410)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/huge":
			w.WriteHeader(500)
			_, _ = w.Write([]byte(strings.Repeat("x", 10<<20)))
		}
	}))
	defer srv.Close()
	hc := safehttp.New(safehttp.Options{AllowPrivate: true})
	now := time.Now()
	post := func(path string) notify.Result {
		return notify.Post(context.Background(), hc, srv.URL+path, notify.NewSecret(), "msg_1", []byte(`{}`), now)
	}
	if r := post("/ok"); !r.Delivered || r.Retry || r.StatusCode != 204 {
		t.Errorf("204: %+v", r)
	}
	if r := post("/busy"); r.Delivered || !r.Retry || r.RetryAfter != 2*time.Hour {
		t.Errorf("429: %+v", r)
	}
	if r := post("/down"); !r.Retry || r.StatusCode != 503 {
		t.Errorf("503: %+v", r)
	}
	if r := post("/gone"); r.Retry || r.Delivered {
		t.Errorf("410: %+v", r)
	}
	if r := post("/moved"); r.Retry || r.Delivered || r.StatusCode != 302 || hits["/ok"] != 1 {
		t.Errorf("302: %+v (ok hit %d times)", r, hits["/ok"])
	}
	if r := post("/huge"); !r.Retry || r.StatusCode != 500 || strings.Contains(r.Err, "xxx") {
		t.Errorf("huge 500: %+v", r)
	}
	strict := safehttp.New(safehttp.Options{})
	r := notify.Post(context.Background(), strict, strings.Replace(srv.URL, "http:", "https:", 1)+"/ok", notify.NewSecret(), "msg_1", []byte(`{}`), now)
	if r.Delivered || r.Retry || hits["/ok"] != 1 {
		t.Errorf("private address: %+v", r)
	}
}
