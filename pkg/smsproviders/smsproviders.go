// Package smsproviders wires the SMS provider packages (pkg/sms/twilio, ...)
// to the inbound and outbox handlers: inbound verification and parsing, the
// answer each provider expects, and a sender built from a tenant's settings
// (a MessageMedia sender puts the tenant's inbound URL in every message's
// callback_url). Setup (setup.go) is the Hub API's check of new settings:
// the provider's credential check, then the inbound URL set-up where the
// provider's API allows it.
package smsproviders

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
)

// ErrUnsupported: no adapter for the provider.
var ErrUnsupported = fmt.Errorf("smsproviders: unsupported provider")

// ParseInbound verifies and parses an inbound message for the tenant's
// provider settings. publicURL is the URL the provider called; now is when
// the request was received (signed timestamps must be within the
// provider's replay window of it).
func ParseInbound(s sms.Settings, publicURL string, h http.Header, body []byte, now time.Time) (sms.Inbound, error) {
	switch s.Provider {
	case sms.Twilio:
		return twilio.ParseInbound(s.Credentials["authToken"], publicURL, h, body)
	case sms.Sinch:
		if err := sinch.Verify(s.Credentials["webhookSecret"], s.Credentials["webhookToken"], queryToken(publicURL), h, body, now); err != nil {
			return sms.Inbound{}, err
		}
		return sinch.ParseInbound(body)
	case sms.MessageMedia:
		path := "/"
		if p, err := url.Parse(publicURL); err == nil {
			path = p.Path
		}
		if err := messagemedia.Verify(s.Credentials["signaturePublicKey"], s.Credentials["webhookToken"], queryToken(publicURL), path, h, body, now); err != nil {
			return sms.Inbound{}, err
		}
		return messagemedia.ParseInbound(body)
	}
	return sms.Inbound{}, fmt.Errorf("%w: %s", ErrUnsupported, s.Provider)
}

// queryToken returns the ?token= of a URL.
func queryToken(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Query().Get("token")
}

// Answer is what the provider expects back: status, content type, body.
func Answer(p sms.Provider) (int, string, string) {
	if p == sms.Twilio {
		return http.StatusOK, twilio.ContentType, twilio.EmptyTwiML()
	}
	return http.StatusOK, "application/json", `{"status":"ok"}`
}

// Sender sends messages through one provider account.
type Sender interface {
	Send(ctx context.Context, m sms.Message) (sms.SendResult, error)
}

// ErrForbiddenHost: the settings' apiBaseUrl is not the provider's own
// https host (see endpoints.SMSProvider).
var ErrForbiddenHost = errors.New("smsproviders: apiBaseUrl is not a host of the provider")

// NewSender builds the sender for a tenant's settings. The apiBaseUrl is
// checked again (the API checked it on PUT) and hc is used as
// safehttp.Harden makes it: no redirects and, unless allowPrivate (local
// fakes only), https to public addresses only.
func NewSender(s sms.Settings, hc *http.Client, allowPrivate bool) (Sender, error) {
	if err := endpoints.SMSProvider(string(s.Provider), s.APIBaseURL, allowPrivate); err != nil {
		return nil, fmt.Errorf("%w: apiBaseUrl %s", ErrForbiddenHost, err)
	}
	hc = safehttp.Harden(hc, allowPrivate)
	switch s.Provider {
	case sms.Twilio:
		return twilio.NewClient(s.APIBaseURL, s.Credentials["accountSid"], s.Credentials["authToken"], hc)
	case sms.Sinch:
		return sinch.NewClient(s.APIBaseURL, s.Credentials["servicePlanId"], s.Credentials["apiToken"], hc)
	case sms.MessageMedia:
		c, err := messagemedia.NewClient(s.APIBaseURL, s.Credentials["apiKey"], s.Credentials["apiSecret"], hc)
		if err != nil {
			return nil, err
		}
		c.CallbackURL = s.InboundURL // replies to each message come back to us
		return c, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, s.Provider)
}
