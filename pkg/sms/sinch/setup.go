package sinch

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

// Set-up facts (../../../../shared/platforms-setup.md §5.2):
//   - The credential check reads one batch of the service plan: GET
//     /xms/v1/{service_plan_id}/batches?page=0&page_size=1 with the Bearer
//     token (401/403 for a bad token or a plan it does not own, 404 for an
//     unknown plan).
//   - The inbound (MO) callback URL is set per service plan in the Sinch
//     Build Dashboard; no REST API to set it was found (the per-batch
//     callback_url is for delivery reports only), and HMAC signing of
//     callbacks is configured through Sinch's account management. So the
//     inbound set-up is a manual step.

// CheckCredentials makes the cheap authenticated read: nil when Sinch
// accepts the token for the plan, *source.CredentialsRejectedError when it
// refuses them, *source.PlatformError when it could not tell.
func (c *Client) CheckCredentials(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/xms/v1/"+url.PathEscape(c.plan)+"/batches?page=0&page_size=1", nil)
	if err != nil {
		return &source.PlatformError{Reason: "the service plan id is not usable in a URL"}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err
	}
	if err != nil {
		return &source.PlatformError{Reason: source.SafeReason("Sinch could not be reached: "+err.Error(), c.token)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status decides
	resp.Body.Close()
	var e struct {
		Code string `json:"code"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(body, &e)
	reason := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if e.Text != "" {
		reason = fmt.Sprintf("%s (%s, HTTP %d)", e.Text, e.Code, resp.StatusCode)
	}
	reason = source.SafeReason(reason, c.token)
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		return &source.CredentialsRejectedError{Reason: reason}
	}
	return &source.PlatformError{Reason: reason}
}

// PointInbound answers the manual step: Sinch's API cannot set a service
// plan's inbound callback URL. signed says whether the tenant gave an HMAC
// secret (callbacks must then be signed with it).
func (c *Client) PointInbound(inboundURL string, signed bool) sms.InboundSetup {
	step := "In the Sinch Build Dashboard, open SMS > Service APIs > service plan " + c.plan +
		" > Callback URLs and add " + inboundURL + " as the callback URL for inbound messages."
	if signed {
		step += " Ask your Sinch account manager to enable HMAC signing of the plan's callbacks with the webhook secret you gave us."
	}
	return sms.InboundSetup{ManualStep: step, Reason: "Sinch has no API to set a service plan's inbound callback URL"}
}
