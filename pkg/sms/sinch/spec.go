package sinch

import (
	"context"
	"net/http"
	"regexp"

	"github.com/contactsync/contactsync/pkg/sms"
)

var apiHost = regexp.MustCompile(`^[a-z]{2,8}\.sms\.api\.sinch\.com$`)

// Spec is Sinch for the engine: callbacks HMAC-signed with the webhook
// secret or, without one, authenticated by our URL's token; sends
// reconciled by Find (client_reference); the credential check is a
// one-batch read and the inbound callback URL a manual step (setup.go).
func Spec() sms.Spec {
	return sms.Spec{
		Name: sms.Sinch, Label: "Sinch",
		Keys: []sms.Key{{Name: "servicePlanId", Required: true}, {Name: "apiToken", Required: true, Secret: true},
			{Name: "webhookSecret", Secret: true}},
		APIHost:  apiHost.MatchString, // <region>.sms.api.sinch.com
		URLToken: func(c map[string]string) bool { return c["webhookSecret"] == "" },
		Inbound: func(c map[string]string, r sms.Request) (sms.Inbound, error) {
			if err := Verify(c["webhookSecret"], c["webhookToken"], r.Token(), r.Header, r.Body, r.At); err != nil {
				return sms.Inbound{}, err
			}
			return ParseInbound(r.Body)
		},
		Answer: sms.JSONOK,
		New: func(s sms.Settings, hc *http.Client) (sms.Sender, error) {
			return NewClient(s.APIBaseURL, s.Credentials["servicePlanId"], s.Credentials["apiToken"], hc)
		},
		Setup: func(ctx context.Context, sender sms.Sender, s sms.Settings) (sms.InboundSetup, error) {
			c := sender.(*Client)
			if err := c.CheckCredentials(ctx); err != nil {
				return sms.InboundSetup{}, err
			}
			return c.PointInbound(s.InboundURL, s.Credentials["webhookSecret"] != ""), nil
		},
	}
}
