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

// CheckCredentials makes the cheap authenticated read: nil when
// MessageMedia accepts the key and secret, *source.CredentialsRejectedError
// when it refuses them, *source.PlatformError when it could not tell.
func (c *Client) CheckCredentials(ctx context.Context) error {
	r := c.request(http.MethodGet, c.base+"/v1/messaging/numbers/dedicated/assignments?page_size=1", nil)
	r.Attempts = 1
	_, err := c.api.Do(ctx, r)
	return sms.CheckError("MessageMedia", err, []int{http.StatusUnauthorized, http.StatusForbidden}, c.secret, c.key)
}

// PointInbound says how replies reach us: the callback_url of every
// message we send (Client.CallbackURL).
func PointInbound() sms.InboundSetup {
	return sms.InboundSetup{Configured: true, How: "every message we send carries the inbound URL as its callback_url, so replies to it are posted there"}
}
