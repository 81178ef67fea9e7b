package messagemedia

import (
	"context"
	"net/http"

	"github.com/contactsync/contactsync/pkg/sms"
)

// Set-up facts (MM-spec, GitHub messagemedia/documentation spec/openapi.yaml;
// ../../../../shared/platforms.md §6):
//   - The credential check lists the account's dedicated-number
//     assignments, one per page: GET
//     /v1/messaging/numbers/dedicated/assignments?page_size=1, HTTP Basic;
//     the spec answers bad credentials with 403 "Invalid authentication
//     credentials" (401 in the SDKs' error table).
//   - Send Messages: "callback_url: a URL can be included with each message
//     to which webhooks will be pushed ... when replies are received". So
//     every message we send carries our inbound URL and replies to it
//     reach us with no set-up on the account.

// Spec is MessageMedia for the engine: callbacks RSA-signed when the
// tenant gave the account's public key, else authenticated by our URL's
// token; every message carries our inbound URL as its callback_url; no
// lookup of sent messages (a lost answer stays unknown, never re-sent).
func Spec() sms.Spec {
	return sms.Spec{
		Name: sms.MessageMedia,
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
		New: func(s sms.Settings, hc *http.Client) sms.Sender {
			c := NewClient(s.APIBaseURL, s.Credentials["apiKey"], s.Credentials["apiSecret"], hc)
			c.CallbackURL = s.InboundURL // replies to each message come back to us
			return c
		},
		Setup: func(ctx context.Context, sender sms.Sender, _ sms.Settings) (sms.InboundSetup, error) {
			// The credential check: one dedicated-number assignment.
			c := sender.(*Client)
			r := c.request(http.MethodGet, c.base+"/v1/messaging/numbers/dedicated/assignments?page_size=1", nil)
			r.Attempts = 1
			if _, err := c.api.Do(ctx, r); err != nil {
				return sms.InboundSetup{}, sms.CheckError("MessageMedia", err, []int{http.StatusUnauthorized, http.StatusForbidden}, c.secret, c.key)
			}
			return sms.InboundSetup{Configured: true, How: "every message we send carries the inbound URL as its callback_url, so replies to it are posted there"}, nil
		},
	}
}
