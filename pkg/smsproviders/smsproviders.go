// Package smsproviders serves the SMS providers of a list of specs
// (sms.Spec; All is the supported ones, one line per provider package) to
// the inbound and outbox handlers and the Hub API: inbound verification
// and parsing with the answer each provider expects, a sender built from a
// tenant's settings, and Setup (setup.go), the Hub API's check of new
// settings. It has no per-provider branch: what differs is in the specs.
// The package-level functions serve All(); a Registry serves another list
// (a test's).
package smsproviders

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/sms"
)

// ErrUnsupported: no spec for the provider.
var ErrUnsupported = fmt.Errorf("smsproviders: unsupported provider")

// ErrForbiddenHost: the settings' apiBaseUrl is not the provider's own
// https host (sms.Spec.CheckBase).
var ErrForbiddenHost = errors.New("smsproviders: apiBaseUrl is not a host of the provider")

// Sender sends messages through one provider account.
type Sender = sms.Sender

// Registry serves the providers of Specs (nil: All()).
type Registry struct{ Specs sms.Specs }

func (r Registry) spec(p sms.Provider) (sms.Spec, error) {
	specs := r.Specs
	if specs == nil {
		specs = All()
	}
	if s, ok := specs.Lookup(p); ok {
		return s, nil
	}
	return sms.Spec{}, fmt.Errorf("%w: %s", ErrUnsupported, p)
}

// ParseInbound verifies and parses an inbound request for the tenant's
// provider settings (req.At: signed timestamps must be within the
// provider's replay window of it).
func (r Registry) ParseInbound(s sms.Settings, req sms.Request) (sms.Inbound, error) {
	spec, err := r.spec(s.Provider)
	if err != nil {
		return sms.Inbound{}, err
	}
	return spec.Inbound(s.Credentials, req)
}

// ParseInbound is Registry.ParseInbound of the supported providers;
// publicURL is the URL the provider called, now when it was received.
func ParseInbound(s sms.Settings, publicURL string, h http.Header, body []byte, now time.Time) (sms.Inbound, error) {
	return Registry{}.ParseInbound(s, sms.Request{URL: publicURL, Header: h, Body: body, At: now})
}

// Answer is what provider p expects back: status, content type, body.
func Answer(p sms.Provider) (int, string, string) {
	a := sms.JSONOK
	if spec, err := (Registry{}).spec(p); err == nil {
		a = spec.Answer
	}
	return a.Status, a.ContentType, a.Body
}

// NewSender builds the sender for a tenant's settings. The apiBaseUrl is
// checked again (the API checked it on PUT) and hc is used as
// safehttp.Harden makes it: no redirects and, unless allowPrivate (local
// fakes only), https to public addresses only.
func (r Registry) NewSender(s sms.Settings, hc *http.Client, allowPrivate bool) (Sender, error) {
	spec, err := r.spec(s.Provider)
	if err != nil {
		return nil, err
	}
	if err := spec.CheckBase(s.APIBaseURL, allowPrivate); err != nil {
		return nil, fmt.Errorf("%w: apiBaseUrl %s", ErrForbiddenHost, err)
	}
	return spec.New(s, safehttp.Harden(hc, allowPrivate))
}

// NewSender is Registry.NewSender of the supported providers.
func NewSender(s sms.Settings, hc *http.Client, allowPrivate bool) (Sender, error) {
	return Registry{}.NewSender(s, hc, allowPrivate)
}
