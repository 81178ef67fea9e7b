package sinch

import (
	"context"
	"net/http"
	"net/url"
	"regexp"

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

var apiHost = regexp.MustCompile(`^[a-z]{2,8}\.sms\.api\.sinch\.com$`)

// Spec is Sinch for the engine: callbacks HMAC-signed with the webhook
// secret or, without one, authenticated by our URL's token; sends
// reconciled by Find (client_reference); the credential check is a
// one-batch read and the inbound callback URL a manual step.
func Spec() sms.Spec {
	return sms.Spec{
		Name: sms.Sinch,
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
		New: func(s sms.Settings, hc *http.Client) sms.Sender {
			return NewClient(s.APIBaseURL, s.Credentials["servicePlanId"], s.Credentials["apiToken"], hc)
		},
		Setup: func(ctx context.Context, sender sms.Sender, s sms.Settings) (sms.InboundSetup, error) {
			// The credential check: one batch of the plan.
			c := sender.(*Client)
			r := c.request(http.MethodGet, c.base+"/xms/v1/"+url.PathEscape(c.plan)+"/batches?page=0&page_size=1", nil)
			r.Attempts = 1
			if _, err := c.api.Do(ctx, r); err != nil {
				return sms.InboundSetup{}, sms.CheckError("Sinch", err, []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, c.token)
			}
			step := "In the Sinch Build Dashboard, open SMS > Service APIs > service plan " + c.plan +
				" > Callback URLs and add " + s.InboundURL + " as the callback URL for inbound messages."
			if s.Credentials["webhookSecret"] != "" {
				step += " Ask your Sinch account manager to enable HMAC signing of the plan's callbacks with the webhook secret you gave us."
			}
			return sms.InboundSetup{ManualStep: step, Reason: "Sinch has no API to set a service plan's inbound callback URL"}, nil
		},
	}
}
