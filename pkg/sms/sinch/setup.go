package sinch

import (
	"context"
	"net/http"
	"net/url"

	"github.com/contactsync/contactsync/pkg/sms"
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
	r := c.request(http.MethodGet, c.base+"/xms/v1/"+url.PathEscape(c.plan)+"/batches?page=0&page_size=1", nil)
	r.Attempts = 1
	_, err := c.api.Do(ctx, r)
	return sms.CheckError("Sinch", err, []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, c.token)
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
