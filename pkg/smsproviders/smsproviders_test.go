package smsproviders_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
)

var providers = []struct {
	settings sms.Settings
	accept   string // the provider's answer to an accepted message
}{
	{sms.Settings{Provider: sms.Twilio, Credentials: map[string]string{"accountSid": "AC1", "authToken": "tok"}}, `{"sid":"SM1"}`},
	{sms.Settings{Provider: sms.Sinch, Credentials: map[string]string{"servicePlanId": "p", "apiToken": "tok"}}, `{"id":"b1"}`},
	{sms.Settings{Provider: sms.MessageMedia, Credentials: map[string]string{"apiKey": "k", "apiSecret": "s"}}, `{"messages":[{"message_id":"m1"}]}`},
}

func counter(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

var msg = sms.Message{To: "+61412345678", From: "+61400000000", Text: "hi", Reference: "r1"}

// Without the local setting, a provider whose apiBaseUrl is not its own
// https host gets no sender, and nothing reaches the host.
func TestNewSenderRefusesForeignHosts(t *testing.T) {
	srv, hits := counter(t, func(http.ResponseWriter, *http.Request) {})
	for _, p := range providers {
		for _, base := range []string{srv.URL, "https://169.254.169.254", "https://[::1]", "https://api.example.com"} {
			s := p.settings
			s.APIBaseURL = base
			if _, err := smsproviders.Default.NewSender(s, nil, false); !errors.Is(err, smsproviders.ErrForbiddenHost) {
				t.Errorf("%s at %s: %v, want ErrForbiddenHost", s.Provider, base, err)
			}
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a request reached the host")
	}
}

// Senders follow no redirect, so credentials never reach another host;
// with the local setting, fakes on loopback work.
func TestSenderFollowsNoRedirect(t *testing.T) {
	for _, p := range providers {
		target, targetHits := counter(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(p.accept)) })
		front, _ := counter(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
		})
		s := p.settings
		s.APIBaseURL = front.URL
		sender, err := smsproviders.Default.NewSender(s, http.DefaultClient, true)
		if err != nil {
			t.Fatal(err)
		}
		var se *httpx.Error
		if _, err := sender.Send(context.Background(), msg); !errors.As(err, &se) || !se.Permanent() {
			t.Errorf("%s: %v, want a permanent send error", s.Provider, err)
		}
		if targetHits.Load() != 0 {
			t.Errorf("%s: the redirect was followed", s.Provider)
		}
		s.APIBaseURL = target.URL
		if sender, err = smsproviders.Default.NewSender(s, nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := sender.Send(context.Background(), msg); err != nil {
			t.Errorf("%s: fake on loopback: %v", s.Provider, err)
		}
	}
}

// An apiBaseUrl must be one of the provider's own hosts over https (any
// http(s) URL with the local setting); a provider without hosts has none.
func TestSpecsCheckBase(t *testing.T) {
	specs := append(smsproviders.All(), sms.Spec{Name: "unknown"})
	for _, tc := range []struct {
		provider, url string
		allow, ok     bool
	}{
		{"twilio", "", false, true},
		{"twilio", "https://api.twilio.com", false, true},
		{"twilio", "https://api.twilio.com.evil.io", false, false},
		{"twilio", "http://api.twilio.com", false, false},
		{"twilio", "http://127.0.0.1:8080/twilio", true, true},
		{"twilio", "http://127.0.0.1:8080/twilio", false, false},
		{"sinch", "https://eu.sms.api.sinch.com", false, true},
		{"sinch", "https://us.sms.api.sinch.com/", false, true},
		{"sinch", "https://evil.sms.api.sinch.com.io", false, false},
		{"sinch", "https://169.254.169.254", false, false},
		{"messagemedia", "https://api.messagemedia.com", false, true},
		{"messagemedia", "https://[::1]", false, false},
		{"unknown", "https://api.twilio.com", false, false},
	} {
		spec, _ := specs.Lookup(sms.Provider(tc.provider))
		if err := spec.CheckBase(tc.url, tc.allow); (err == nil) != tc.ok {
			t.Errorf("%s.CheckBase(%q, allow=%v) = %v, want ok=%v", tc.provider, tc.url, tc.allow, err, tc.ok)
		}
	}
}
