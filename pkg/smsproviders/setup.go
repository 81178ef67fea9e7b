package smsproviders

import (
	"context"
	"errors"
	"net/http"

	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/source"
)

// Setup checks a tenant's provider settings with the provider, then points
// the sender's inbound messages at s.InboundURL where the provider's API
// allows it (PUT /v1/sms-provider, before anything is stored; the spec's
// Setup says how). The error is the credential check's: a
// *source.CredentialsRejectedError when the provider refused the
// credentials (or they make no client), a *source.PlatformError (or the
// context's error) when it could not tell. A failed inbound set-up is no
// error: the answer says what the user must do instead (ManualStep,
// Reason). No reason shows a secret credential. hc is hardened as
// NewSender hardens it.
func (r Registry) Setup(ctx context.Context, s sms.Settings, hc *http.Client, allowPrivate bool) (sms.InboundSetup, error) {
	spec, err := r.spec(s.Provider)
	if err != nil {
		return sms.InboundSetup{}, err
	}
	sender, err := r.NewSender(s, hc, allowPrivate)
	if err != nil && !errors.Is(err, ErrForbiddenHost) {
		err = &source.CredentialsRejectedError{Reason: err.Error()}
	}
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

// Setup is Registry.Setup of the supported providers.
func Setup(ctx context.Context, s sms.Settings, hc *http.Client, allowPrivate bool) (sms.InboundSetup, error) {
	return Registry{}.Setup(ctx, s, hc, allowPrivate)
}
