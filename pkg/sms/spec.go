package sms

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/safehttp"
)

// Spec is everything the engine knows of one SMS provider, exported by
// the provider's package (twilio.Spec(), ...) and listed, one line per
// provider, by smsproviders.All.
type Spec struct {
	// Name is the settings' provider and our inbound URL's {provider}.
	Name Provider
	// Keys are the credentials its settings hold (webhookToken, which the
	// API sets, aside).
	Keys []Key
	// APIHost reports whether an apiBaseUrl may name host (nil: none).
	APIHost func(host string) bool
	// URLToken reports whether the provider will not sign the callbacks
	// of settings with these credentials (nil: it always signs): our
	// inbound URL then carries a ?token=, Credentials["webhookToken"].
	URLToken func(creds map[string]string) bool
	// Inbound verifies (in constant time; ErrInvalidSignature) and parses
	// (ErrMalformed; ErrUnsupported: acknowledged, ignored) a request the
	// provider posted to our inbound URL; Answer is what it expects back.
	Inbound func(creds map[string]string, r Request) (Inbound, error)
	Answer  Answer
	// New builds a sender of the settings over hc (hardened). One that can
	// look its messages up is a Finder too: a send whose answer was lost is
	// then reconciled by the outbox, never sent twice.
	New func(s Settings, hc *http.Client) Sender
	// Setup checks the credentials through a sender New made (CheckError),
	// then points the sender's inbound messages at s.InboundURL where the
	// provider's API allows, or names the manual step (a failed pointing
	// is no error: ManualStep and Reason say what the user must do).
	Setup func(ctx context.Context, sender Sender, s Settings) (InboundSetup, error)
}

// Key is one credential of a provider; a Secret one is never shown.
type Key struct {
	Name             string
	Required, Secret bool
}

// Answer is an HTTP answer to a provider's inbound request.
type Answer struct {
	Status            int
	ContentType, Body string
}

// JSONOK is the answer of providers that read no body.
var JSONOK = Answer{http.StatusOK, "application/json", `{"status":"ok"}`}

// Sender sends messages through one provider account.
type Sender interface {
	Send(ctx context.Context, m Message) (SendResult, error)
}

// Request is an inbound request as received: the public URL the provider
// called (with its query), and when (signed timestamps are judged by it).
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
	At     time.Time
}

// Token is the URL's ?token=; Path its path ("/" if none).
func (r Request) Token() string { return r.url().Query().Get("token") }
func (r Request) Path() string  { return "/" + strings.TrimPrefix(r.url().Path, "/") }

func (r Request) url() *url.URL {
	if u, err := url.Parse(r.URL); err == nil {
		return u
	}
	return &url.URL{}
}

// Specs is a list of providers.
type Specs []Spec

// Lookup returns the spec named p.
func (s Specs) Lookup(p Provider) (Spec, bool) {
	i := slices.IndexFunc(s, func(sp Spec) bool { return sp.Name == p })
	if i < 0 {
		return Spec{}, false
	}
	return s[i], true
}

// Names lists the providers' names, sorted, comma separated.
func (s Specs) Names() string {
	var names []string
	for _, sp := range s {
		names = append(names, string(sp.Name))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// CheckCredentials returns a message per credential missing or unknown.
func (s Spec) CheckCredentials(creds map[string]string) map[string]string {
	bad := map[string]string{}
	for k := range creds {
		if !slices.ContainsFunc(s.Keys, func(key Key) bool { return key.Name == k }) {
			bad[k] = "unknown field for " + string(s.Name)
		}
	}
	for _, k := range s.Keys {
		if k.Required && creds[k.Name] == "" {
			bad[k.Name] = "required"
		}
	}
	return bad
}

// Secrets are the values of creds' secret keys (for source.SafeReason).
func (s Spec) Secrets(creds map[string]string) []string {
	var out []string
	for _, k := range s.Keys {
		if k.Secret && creds[k.Name] != "" {
			out = append(out, creds[k.Name])
		}
	}
	return out
}

// CheckBase checks an apiBaseUrl ("" is the provider's default): one of
// its hosts over https, or any http(s) URL with allowPrivate (local
// fakes); the error says what is wrong, for the field's 400.
func (s Spec) CheckBase(apiBaseURL string, allowPrivate bool) error {
	hostOK := s.APIHost
	if hostOK == nil {
		hostOK = func(string) bool { return false }
	}
	if apiBaseURL == "" {
		return nil
	}
	_, err := safehttp.CheckURL(apiBaseURL, allowPrivate, hostOK)
	return err
}
