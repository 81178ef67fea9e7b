package messagemedia

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/source"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/messaging/numbers/dedicated/assignments?page_size=1", nil)
	if err != nil {
		return &source.PlatformError{Reason: "the API URL is not usable"}
	}
	req.SetBasicAuth(c.key, c.secret)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err
	}
	if err != nil {
		return &source.PlatformError{Reason: source.SafeReason("MessageMedia could not be reached: "+err.Error(), c.secret)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status decides
	resp.Body.Close()
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	reason := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if e.Message != "" {
		reason = fmt.Sprintf("%s (HTTP %d)", e.Message, resp.StatusCode)
	}
	reason = source.SafeReason(reason, c.secret, c.key)
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &source.CredentialsRejectedError{Reason: reason}
	}
	return &source.PlatformError{Reason: reason}
}

// PointInbound says how replies reach us: the callback_url of every
// message we send (Client.CallbackURL).
func PointInbound() sms.InboundSetup {
	return sms.InboundSetup{Configured: true, How: "every message we send carries the inbound URL as its callback_url, so replies to it are posted there"}
}
