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

// Spec is everything the engine knows of one SMS provider. The provider's
// own package exports it (twilio.Spec(), ...) and pkg/smsproviders lists
// them, one line per provider; the Hub API, the inbound handler and the
// outbox work from the spec alone.
type Spec struct {
	// Name is the settings' provider and the {provider} of our inbound URL.
	Name Provider
	// Label is its display name ("Twilio").
	Label string
	// Keys are the credentials its settings hold.
	Keys []Key
	// APIHost reports whether host is one of the provider's API hosts,
	// which an apiBaseUrl may name (CheckBase; nil: none).
	APIHost func(host string) bool
	// URLToken, when set, reports whether settings with these credentials
	// get callbacks the provider does not sign: our inbound URL then
	// carries a secret ?token= (credentials' webhookToken, set by the API).
	URLToken func(creds map[string]string) bool
	// Inbound verifies a request the provider posted to our inbound URL
	// (in constant time; ErrInvalidSignature) and parses it (ErrMalformed;
	// ErrUnsupported for what is acknowledged and ignored).
	Inbound func(creds map[string]string, r Request) (Inbound, error)
	// Answer is what the provider expects back from an inbound request.
	Answer Answer
	// New builds a sender of the settings with hc (hardened by the
	// caller). A sender whose provider can look messages up is also a
	// Finder: a send whose answer was lost is then reconciled by the
	// outbox, never sent twice.
	New func(s Settings, hc *http.Client) (Sender, error)
	// Setup checks the credentials with the provider through sender (made
	// by New: CheckError's errors), then points the sender's inbound
	// messages at s.InboundURL where the provider's API allows or names
	// the manual step. A failed pointing is no error: the answer says
	// what the user must do (ManualStep, Reason).
	Setup func(ctx context.Context, sender Sender, s Settings) (InboundSetup, error)
}

// Key is one credential of a provider.
type Key struct {
	Name string
	// Required: settings must have it; Secret: never shown in a reason.
	Required, Secret bool
}

// Answer is an HTTP answer to a provider's inbound request.
type Answer struct {
	Status            int
	ContentType, Body string
}

// JSONOK is the answer providers that read no body get.
var JSONOK = Answer{http.StatusOK, "application/json", `{"status":"ok"}`}

// Sender sends messages through one provider account.
type Sender interface {
	Send(ctx context.Context, m Message) (SendResult, error)
}

// Request is one inbound request as received.
type Request struct {
	// URL is the public URL the provider called, with its query.
	URL    string
	Header http.Header
	Body   []byte
	// At is when it was received: signed timestamps are judged against it.
	At time.Time
}

// Token is the request URL's ?token= ("" when it has none).
func (r Request) Token() string {
	if u, err := url.Parse(r.URL); err == nil {
		return u.Query().Get("token")
	}
	return ""
}

// Path is the request URL's path ("/" when it has none or does not parse).
func (r Request) Path() string {
	if u, err := url.Parse(r.URL); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}

// Specs is the list of supported providers.
type Specs []Spec

// Lookup returns the spec named p.
func (s Specs) Lookup(p Provider) (Spec, bool) {
	i := slices.IndexFunc(s, func(sp Spec) bool { return sp.Name == p })
	if i < 0 {
		return Spec{}, false
	}
	return s[i], true
}

// Names lists the providers' names in order, comma separated.
func (s Specs) Names() string {
	names := make([]string, len(s))
	for i, sp := range s {
		names[i] = string(sp.Name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// CheckCredentials returns a message per credential that is missing or
// unknown to the provider.
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

// Secrets returns the values of creds' secret keys (for source.SafeReason).
func (s Spec) Secrets(creds map[string]string) []string {
	var out []string
	for _, k := range s.Keys {
		if v := creds[k.Name]; k.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// CheckBase checks an apiBaseUrl ("" is the provider's default host): one
// of its APIHost hosts over https, or with allowPrivate (local fakes) any
// http(s) URL; the error says what is wrong, for the field's 400.
func (s Spec) CheckBase(apiBaseURL string, allowPrivate bool) error {
	if apiBaseURL == "" {
		return nil
	}
	hostOK := s.APIHost
	if hostOK == nil {
		hostOK = func(string) bool { return false }
	}
	_, err := safehttp.CheckURL(apiBaseURL, allowPrivate, hostOK)
	return err
}
