// Package smsproviders wires the SMS provider packages (pkg/sms/twilio, ...)
// to the inbound and outbox handlers: inbound verification and parsing, the
// answer each provider expects, and a sender built from a tenant's settings.
package smsproviders

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

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

// NewSender builds the sender for a tenant's settings.
func NewSender(s sms.Settings, hc *http.Client) (Sender, error) {
	switch s.Provider {
	case sms.Twilio:
		return twilio.NewClient(s.APIBaseURL, s.Credentials["accountSid"], s.Credentials["authToken"], hc)
	case sms.Sinch:
		return sinch.NewClient(s.APIBaseURL, s.Credentials["servicePlanId"], s.Credentials["apiToken"], hc)
	case sms.MessageMedia:
		return messagemedia.NewClient(s.APIBaseURL, s.Credentials["apiKey"], s.Credentials["apiSecret"], hc)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, s.Provider)
}
