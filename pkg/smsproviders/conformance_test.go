package smsproviders_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
	"github.com/contactsync/contactsync/pkg/source"
)

// A contender is one SMS provider under the conformance suite: its spec
// and how to start its fake (each provider package's *test server).
type contender struct {
	spec  sms.Spec
	start func(t *testing.T) fake
}

// fake is one running provider fake as the suite drives it.
type fake struct {
	// settings point at the fake, with credentials under which the
	// provider signs its callbacks; badKey is a credential the fake
	// refuses when it is changed.
	settings sms.Settings
	badKey   string
	// unsigned are credentials under which the provider does not sign its
	// callbacks (nil: it always signs).
	unsigned map[string]string
	// fail answers the next send 503 (provably not taken); hang takes the
	// next send and never answers it.
	fail, hang func()
	// sent is how many messages the fake holds.
	sent func() int
	// deliver makes the fake post an inbound text from `from` to url, as
	// the provider does (signed when creds say so).
	deliver func(t *testing.T, url string, creds map[string]string, from, text string)
	// pointed is where the fake now posts inbound messages after a
	// set-up and a send; nil: its API cannot point them (a manual step).
	pointed func() string
}

// contenders are the supported providers (smsproviders.All) under the
// suite, plus the fourth provider a test adds.
func contenders() []contender {
	return []contender{twilioContender(), sinchContender(), messageMediaContender(), fourthContender()}
}

// conformanceSpecs is the list the suite's Registry is built with.
func conformanceSpecs() sms.Specs { return append(smsproviders.All(), fourthSpec()) }

const (
	customer = "+61412345678"
	lostWait = 300 * time.Millisecond // how long a sender waits for an answer the fake holds back
)

// TestConformance runs every SMS provider against its fake: a send
// answered 503 is repeated and sent once; a send whose answer is lost is
// an unknown outcome, held once by the provider and found by the
// provider's lookup where it has one (the outbox then never sends it
// again); a refused credential is a permanent send error and the set-up's
// credentials_rejected (422) with a reason that shows no secret; set-up
// points the inbound messages at our URL where the API allows (else names
// it in the manual step); an inbound message the fake posts there
// verifies and parses, and a tampered one is refused.
func TestConformance(t *testing.T) {
	t.Parallel()
	specs := conformanceSpecs()
	names := map[sms.Provider]bool{}
	for _, c := range contenders() {
		names[c.spec.Name] = true
	}
	for _, s := range specs {
		if !names[s.Name] {
			t.Errorf("provider %s has no contender in the conformance suite", s.Name)
		}
	}
	reg := smsproviders.Registry{Specs: specs}
	for _, c := range contenders() {
		t.Run(string(c.spec.Name), func(t *testing.T) {
			t.Parallel()
			if _, ok := specs.Lookup(c.spec.Name); !ok {
				t.Fatalf("%s is not in the registry's list", c.spec.Name)
			}
			if len(c.spec.Keys) == 0 || c.spec.APIHost == nil || c.spec.Inbound == nil || c.spec.New == nil || c.spec.Setup == nil || c.spec.Answer.Status/100 != 2 {
				t.Fatalf("incomplete spec: %+v", c.spec)
			}
			t.Run("send once", func(t *testing.T) { t.Parallel(); conformSend(t, c, reg) })
			t.Run("credentials", func(t *testing.T) { t.Parallel(); conformCredentials(t, c, reg) })
			t.Run("setup and inbound", func(t *testing.T) { t.Parallel(); conformInbound(t, c, reg) })
		})
	}
}

func conformSend(t *testing.T, c contender, reg smsproviders.Registry) {
	f := c.start(t)
	sender, err := reg.NewSender(f.settings, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := sms.Message{To: customer, From: f.settings.Sender, Text: "You are subscribed.", Reference: "ref-1"}
	f.fail()
	if res, err := sender.Send(ctx, m); err != nil || res.ProviderMessageID == "" || f.sent() != 1 {
		t.Fatalf("send after a 503 = %+v %v, the provider holds %d; want sent once", res, err, f.sent())
	}
	// The provider takes the next send and never answers: the sender gives
	// up after lostWait (the fake holds the answer until then).
	impatient, err := reg.NewSender(f.settings, &http.Client{Timeout: lostWait}, true)
	if err != nil {
		t.Fatal(err)
	}
	f.hang()
	since := time.Now()
	lost := sms.Message{To: customer, From: f.settings.Sender, Text: "You have been unsubscribed.", Reference: "ref-2"}
	if _, err := impatient.Send(ctx, lost); !errors.Is(err, sms.ErrUnknownOutcome) {
		t.Fatalf("send whose answer was lost = %v, want ErrUnknownOutcome", err)
	}
	if f.sent() != 2 {
		t.Fatalf("the provider holds %d messages, want 2: a send whose answer was lost is not repeated", f.sent())
	}
	if finder, ok := sender.(sms.Finder); ok {
		// The outbox's reconciliation: the lost send is found, not sent again.
		if id, found, err := finder.Find(ctx, lost, since); err != nil || !found || id == "" {
			t.Fatalf("find of the lost send = %q %v %v", id, found, err)
		}
		never := sms.Message{To: customer, From: f.settings.Sender, Text: "never sent", Reference: "ref-never"}
		if _, found, err := finder.Find(ctx, never, since); err != nil || found {
			t.Fatalf("find of a message never sent = %v %v", found, err)
		}
	}
	bad := f.settings
	bad.Credentials = with(f.settings.Credentials, f.badKey, "wrong_secret_value_1234")
	refused, err := reg.NewSender(bad, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refused.Send(ctx, m); !httpx.IsPermanent(err) || strings.Contains(err.Error(), "wrong_secret_value_1234") {
		t.Fatalf("send with refused credentials = %v, want a permanent error without the secret", err)
	}
	if f.sent() != 2 {
		t.Fatalf("the provider holds %d messages, want 2", f.sent())
	}
}

func conformCredentials(t *testing.T, c contender, reg smsproviders.Registry) {
	f := c.start(t)
	s := f.settings
	s.InboundURL = "https://hooks.example.com/sms/inbound/" + string(c.spec.Name) + "/t1"
	s.Credentials = with(f.settings.Credentials, f.badKey, "wrong_secret_value_1234")
	_, err := reg.Setup(context.Background(), s, nil, true)
	var rej *source.CredentialsRejectedError
	if !errors.As(err, &rej) || rej.Reason == "" || strings.Contains(rej.Reason, "wrong_secret_value_1234") {
		t.Fatalf("set-up with a refused %s = %v, want credentials rejected with a reason that hides it", f.badKey, err)
	}
	if bad := c.spec.CheckCredentials(map[string]string{"nope": "x"}); bad["nope"] == "" || len(bad) < 2 {
		t.Errorf("credentials check of an unknown key without the required ones = %v", bad)
	}
	if bad := c.spec.CheckCredentials(f.settings.Credentials); len(bad) != 0 {
		t.Errorf("credentials check of the fake's = %v", bad)
	}
	if c.spec.CheckBase("https://api.example.com", false) == nil {
		t.Error("a foreign apiBaseUrl was accepted")
	}
}

// conformInbound runs inboundWith with the credentials under which the
// provider signs, then with those under which it does not.
func conformInbound(t *testing.T, c contender, reg smsproviders.Registry) {
	f := c.start(t)
	inboundWith(t, c, reg, f, f.settings.Credentials)
	if f.unsigned != nil {
		inboundWith(t, c, reg, f, f.unsigned)
	}
}

// inboundWith sets the provider up with creds, sends a message (which
// carries the inbound URL where the provider takes it per message), then
// has the fake post a reply where it was pointed.
func inboundWith(t *testing.T, c contender, reg smsproviders.Registry, f fake, creds map[string]string) {
	t.Helper()
	inbox := newInbox(t, c.spec.Answer)
	s := f.settings
	s.Credentials = with(creds, "", "")
	s.InboundURL = inbox.URL + "/sms/inbound/" + string(c.spec.Name) + "/t1"
	if c.spec.URLToken != nil && c.spec.URLToken(s.Credentials) {
		s.Credentials["webhookToken"] = "tok_conformance_123"
		s.InboundURL += "?token=tok_conformance_123"
	}
	setup, err := reg.Setup(context.Background(), s, nil, true)
	if err != nil {
		t.Fatalf("set-up: %v", err)
	}
	sender, err := reg.NewSender(s, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(context.Background(), sms.Message{To: customer, From: s.Sender, Text: "Reply YES", Reference: "ref-in"}); err != nil {
		t.Fatal(err)
	}
	target := s.InboundURL
	if f.pointed == nil {
		if setup.Configured || !strings.Contains(setup.ManualStep, s.InboundURL) {
			t.Fatalf("set-up = %+v, want the manual step naming %s", setup, s.InboundURL)
		}
	} else if target = f.pointed(); !setup.Configured || target != s.InboundURL {
		t.Fatalf("set-up = %+v and the provider posts to %q, want configured to %s", setup, target, s.InboundURL)
	}
	f.deliver(t, target, s.Credentials, customer, "STOP")
	r := inbox.last(t)
	in, err := reg.ParseInbound(s, r)
	if err != nil || in.Provider != c.spec.Name || in.From != customer || in.Text != "STOP" || in.MessageID == "" {
		t.Fatalf("inbound = %+v %v", in, err)
	}
	tampered := r
	if c.spec.URLToken != nil && c.spec.URLToken(s.Credentials) {
		tampered.URL = strings.Replace(r.URL, "tok_conformance_123", "tok_conformance_124", 1)
	} else {
		tampered.Body = []byte(strings.Replace(string(r.Body), "STOP", "STAR", 1))
	}
	if _, err := reg.ParseInbound(s, tampered); !errors.Is(err, sms.ErrInvalidSignature) {
		t.Fatalf("tampered inbound = %v, want ErrInvalidSignature", err)
	}
}

// inbox is our inbound endpoint: it answers what the spec says and keeps
// the requests as received.
type inbox struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []sms.Request
}

func newInbox(t *testing.T, a sms.Answer) *inbox {
	b := &inbox{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, sms.Request{URL: b.URL + r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, At: time.Now()})
		b.mu.Unlock()
		w.Header().Set("Content-Type", a.ContentType)
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *inbox) last(t *testing.T) sms.Request {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatal("the fake posted nothing to our inbound URL")
	}
	return b.reqs[len(b.reqs)-1]
}

// delivered fails the test unless the fake's post was answered 2xx.
func delivered(t *testing.T, resp *http.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("inbound answered %d", resp.StatusCode)
	}
}

// with returns a copy of m with k set to v ("" k: a plain copy).
func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for key, val := range m {
		out[key] = val
	}
	if k != "" {
		out[k] = v
	}
	return out
}
