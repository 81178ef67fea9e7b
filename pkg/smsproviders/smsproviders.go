// Package smsproviders serves the SMS providers of a list of specs
// (sms.Spec; All is the supported ones, one line per provider package) to
// the inbound and outbox handlers and the Hub API: inbound verification
// and parsing with the answer each provider expects, a sender built from a
// tenant's settings, and Setup, the Hub API's check of new settings. It has no per-provider branch: what differs is in the specs.
// Default serves All(); a Registry of another list serves a test's.
package smsproviders

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/source"
)

// ErrUnsupported: no spec for the provider.
var ErrUnsupported = fmt.Errorf("smsproviders: unsupported provider")

// ErrForbiddenHost: the settings' apiBaseUrl is not the provider's own
// https host (sms.Spec.CheckBase).
var ErrForbiddenHost = errors.New("smsproviders: apiBaseUrl is not a host of the provider")

// Registry serves the providers of Specs (nil: All()).
type Registry struct{ Specs sms.Specs }

// Default serves the supported providers.
var Default Registry

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

// Answer is what provider p expects back (JSONOK when it is unknown).
func (r Registry) Answer(p sms.Provider) sms.Answer {
	if spec, err := r.spec(p); err == nil {
		return spec.Answer
	}
	return sms.JSONOK
}

// NewSender builds the sender for a tenant's settings. The apiBaseUrl is
// checked again (the API checked it on PUT) and hc is used as
// safehttp.Harden makes it: no redirects and, unless allowPrivate (local
// fakes only), https to public addresses only.
func (r Registry) NewSender(s sms.Settings, hc *http.Client, allowPrivate bool) (sms.Sender, error) {
	spec, err := r.spec(s.Provider)
	if err != nil {
		return nil, err
	}
	if err := spec.CheckBase(s.APIBaseURL, allowPrivate); err != nil {
		return nil, fmt.Errorf("%w: apiBaseUrl %s", ErrForbiddenHost, err)
	}
	return spec.New(s, safehttp.Harden(hc, allowPrivate)), nil
}

// Setup is the Hub API's check of new settings (PUT /v1/sms-provider,
// before anything is stored): the spec's Setup through a sender NewSender
// made, with no secret credential in any reason. The error is a
// *source.CredentialsRejectedError when the provider refused the
// credentials, a *source.PlatformError (or the
// context's error) when it could not tell.
func (r Registry) Setup(ctx context.Context, s sms.Settings, hc *http.Client, allowPrivate bool) (sms.InboundSetup, error) {
	spec, err := r.spec(s.Provider)
	if err != nil {
		return sms.InboundSetup{}, err
	}
	sender, err := r.NewSender(s, hc, allowPrivate)
	if err != nil {
		return sms.InboundSetup{}, err
	}
	in, err := spec.Setup(ctx, sender, s)
	secrets := spec.Secrets(s.Credentials)
	in.Reason = source.SafeReason(in.Reason, secrets...)
	var rej *source.CredentialsRejectedError
	var pe *source.PlatformError
	if errors.As(err, &rej) {
		rej.Reason = source.SafeReason(rej.Reason, secrets...)
	} else if errors.As(err, &pe) {
		pe.Reason = source.SafeReason(pe.Reason, secrets...)
	}
	return in, err
}
