package messagemedia

import (
	"context"
	"net/http"

	"github.com/contactsync/contactsync/pkg/sms"
)

// Spec is MessageMedia for the engine: callbacks RSA-signed when the
// tenant gave the account's public key, else authenticated by our URL's
// token; every message carries our inbound URL as its callback_url; no
// lookup of sent messages (a lost answer stays unknown, never re-sent).
func Spec() sms.Spec {
	return sms.Spec{
		Name: sms.MessageMedia, Label: "MessageMedia",
		Keys: []sms.Key{{Name: "apiKey", Required: true, Secret: true}, {Name: "apiSecret", Required: true, Secret: true},
			{Name: "webhookSecret", Secret: true}, {Name: "signaturePublicKey"}},
		APIHost:  func(h string) bool { return h == "api.messagemedia.com" },
		URLToken: func(c map[string]string) bool { return c["signaturePublicKey"] == "" },
		Inbound: func(c map[string]string, r sms.Request) (sms.Inbound, error) {
			if err := Verify(c["signaturePublicKey"], c["webhookToken"], r.Token(), r.Path(), r.Header, r.Body, r.At); err != nil {
				return sms.Inbound{}, err
			}
			return ParseInbound(r.Body)
		},
		Answer: sms.JSONOK,
		New: func(s sms.Settings, hc *http.Client) (sms.Sender, error) {
			c, err := NewClient(s.APIBaseURL, s.Credentials["apiKey"], s.Credentials["apiSecret"], hc)
			if err != nil {
				return nil, err
			}
			c.CallbackURL = s.InboundURL // replies to each message come back to us
			return c, nil
		},
		Setup: func(ctx context.Context, sender sms.Sender, _ sms.Settings) (sms.InboundSetup, error) {
			if err := sender.(*Client).CheckCredentials(ctx); err != nil {
				return sms.InboundSetup{}, err
			}
			return PointInbound(), nil
		},
	}
}
