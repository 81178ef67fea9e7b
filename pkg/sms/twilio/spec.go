package twilio

import (
	"context"
	"net/http"

	"github.com/contactsync/contactsync/pkg/sms"
)

// Spec is Twilio for the engine: callbacks signed with the auth token and
// answered with empty TwiML, sends reconciled by Find, and set-up by the
// account fetch and the sender's SmsUrl (setup.go).
func Spec() sms.Spec {
	return sms.Spec{
		Name:    sms.Twilio,
		Keys:    []sms.Key{{Name: "accountSid", Required: true}, {Name: "authToken", Required: true, Secret: true}},
		APIHost: func(h string) bool { return h == "api.twilio.com" },
		Inbound: func(c map[string]string, r sms.Request) (sms.Inbound, error) {
			return ParseInbound(c["authToken"], r.URL, r.Header, r.Body)
		},
		Answer: sms.Answer{Status: http.StatusOK, ContentType: ContentType, Body: EmptyTwiML()},
		New: func(s sms.Settings, hc *http.Client) (sms.Sender, error) {
			return NewClient(s.APIBaseURL, s.Credentials["accountSid"], s.Credentials["authToken"], hc), nil
		},
		Setup: func(ctx context.Context, sender sms.Sender, s sms.Settings) (sms.InboundSetup, error) {
			c := sender.(*Client)
			if err := c.CheckCredentials(ctx); err != nil {
				return sms.InboundSetup{}, err
			}
			in, err := c.PointInbound(ctx, s.Sender, s.InboundURL)
			if err != nil {
				return sms.InboundSetup{ManualStep: ManualStep(s.Sender, s.InboundURL), Reason: err.Error()}, nil
			}
			return in, nil
		},
	}
}
