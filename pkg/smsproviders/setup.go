package smsproviders

import (
	"context"
	"fmt"
	"net/http"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
	"github.com/contactsync/contactsync/pkg/source"
)

// Setup checks a tenant's provider settings with the provider, then points
// the sender's inbound messages at s.InboundURL where the provider's API
// allows it (PUT /v1/sms-provider, before anything is stored):
//
//   - Twilio: the account fetch, then the sender number's SmsUrl (or a
//     Messaging Service's InboundRequestUrl);
//   - Sinch: a one-batch read of the service plan; the inbound callback
//     URL is a manual step (no API sets it);
//   - MessageMedia: a one-item read of the account's numbers; every
//     message we send carries the inbound URL as its callback_url.
//
// The error is the credential check's: a *source.CredentialsRejectedError
// when the provider refused the credentials, a *source.PlatformError (or
// the context's error) when it could not tell. A failed inbound set-up is
// no error: the answer says what the user must do instead (ManualStep,
// Reason). hc is hardened as NewSender hardens it.
func Setup(ctx context.Context, s sms.Settings, hc *http.Client, allowPrivate bool) (sms.InboundSetup, error) {
	if err := endpoints.SMSProvider(string(s.Provider), s.APIBaseURL, allowPrivate); err != nil {
		return sms.InboundSetup{}, fmt.Errorf("%w: apiBaseUrl %s", ErrForbiddenHost, err)
	}
	hc = safehttp.Harden(hc, allowPrivate)
	switch s.Provider {
	case sms.Twilio:
		c, err := twilio.NewClient(s.APIBaseURL, s.Credentials["accountSid"], s.Credentials["authToken"], hc)
		if err != nil {
			return sms.InboundSetup{}, &source.CredentialsRejectedError{Reason: err.Error()}
		}
		if err := c.CheckCredentials(ctx); err != nil {
			return sms.InboundSetup{}, err
		}
		in, err := c.PointInbound(ctx, s.Sender, s.InboundURL)
		if err != nil {
			return sms.InboundSetup{ManualStep: twilio.ManualStep(s.Sender, s.InboundURL),
				Reason: source.SafeReason(err.Error(), s.Credentials["authToken"])}, nil
		}
		return in, nil
	case sms.Sinch:
		c, err := sinch.NewClient(s.APIBaseURL, s.Credentials["servicePlanId"], s.Credentials["apiToken"], hc)
		if err != nil {
			return sms.InboundSetup{}, &source.CredentialsRejectedError{Reason: err.Error()}
		}
		if err := c.CheckCredentials(ctx); err != nil {
			return sms.InboundSetup{}, err
		}
		return c.PointInbound(s.InboundURL, s.Credentials["webhookSecret"] != ""), nil
	case sms.MessageMedia:
		c, err := messagemedia.NewClient(s.APIBaseURL, s.Credentials["apiKey"], s.Credentials["apiSecret"], hc)
		if err != nil {
			return sms.InboundSetup{}, &source.CredentialsRejectedError{Reason: err.Error()}
		}
		if err := c.CheckCredentials(ctx); err != nil {
			return sms.InboundSetup{}, err
		}
		return messagemedia.PointInbound(), nil
	}
	return sms.InboundSetup{}, fmt.Errorf("%w: %s", ErrUnsupported, s.Provider)
}
