package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/source"
)

// Set-up facts (../../../../shared/platforms-setup.md §5.1):
//   - Account fetch: GET /2010-04-01/Accounts/{AccountSid}.json, HTTP Basic;
//     401 (code 20003) for bad credentials; status active|suspended|closed.
//   - IncomingPhoneNumbers: GET .../IncomingPhoneNumbers.json?PhoneNumber=
//     lists the account's numbers ({incoming_phone_numbers: [{sid PN..,
//     phone_number, sms_url, sms_method, sms_application_sid}]}); POST
//     .../IncomingPhoneNumbers/{PN..}.json with SmsUrl and SmsMethod sets
//     the number's inbound URL. A number with sms_application_sid set uses
//     the application's URLs instead, so we leave it to the user.
//   - A Messaging Service (MG.. SID, accepted in From) has its own inbound
//     URL: POST https://messaging.twilio.com/v1/Services/{MG..} with
//     InboundRequestUrl and InboundMethod (the Services API is Public Beta).

// Spec is Twilio for the engine: callbacks signed with the auth token and
// answered with empty TwiML, sends reconciled by Find, and set-up by the
// account fetch and the sender's SmsUrl (below).
func Spec() sms.Spec {
	return sms.Spec{
		Name:    sms.Twilio,
		Keys:    []sms.Key{{Name: "accountSid", Required: true}, {Name: "authToken", Required: true, Secret: true}},
		APIHost: func(h string) bool { return h == "api.twilio.com" },
		Inbound: func(c map[string]string, r sms.Request) (sms.Inbound, error) {
			return ParseInbound(c["authToken"], r.URL, r.Header, r.Body)
		},
		Answer: sms.Answer{Status: http.StatusOK, ContentType: ContentType, Body: EmptyTwiML()},
		New: func(s sms.Settings, hc *http.Client) sms.Sender {
			return NewClient(s.APIBaseURL, s.Credentials["accountSid"], s.Credentials["authToken"], hc)
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

// MessagingBaseURL is the host of the Messaging Services API.
const MessagingBaseURL = "https://messaging.twilio.com"

var serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)

// request is a call with Basic auth and form (nil: none); once keeps it
// at most once (a send).
func (c *Client) request(method, u string, form url.Values, once bool) httpx.Request {
	var body []byte
	if form != nil {
		body = []byte(form.Encode())
	}
	return httpx.Request{Once: once, Decode: httpx.Fields("code", "message"),
		New: httpx.Build(method, u, body, "application/x-www-form-urlencoded", func(r *http.Request) {
			r.SetBasicAuth(c.accountSID, c.authToken)
			r.Header.Set("Accept", "application/json")
		})}
}

// call makes one set-up request, without retries.
func (c *Client) call(ctx context.Context, method, u string, form url.Values) (*httpx.Response, error) {
	r := c.request(method, u, form, false)
	r.Attempts = 1
	return c.api.Do(ctx, r)
}

// reason is what to show of a failed set-up call.
func (c *Client) reason(err error) string { return sms.Reason("Twilio", err, c.authToken) }

// CheckCredentials fetches the account: nil when Twilio accepts the
// credentials and the account is active, *source.CredentialsRejectedError
// when it refuses them, *source.PlatformError when it could not tell.
func (c *Client) CheckCredentials(ctx context.Context) error {
	resp, err := c.call(ctx, http.MethodGet, c.base+"/2010-04-01/Accounts/"+url.PathEscape(c.accountSID)+".json", nil)
	if err != nil {
		return sms.CheckError("Twilio", err, []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, c.authToken)
	}
	var acct struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(resp.Body, &acct); err != nil || acct.SID == "" {
		return &source.PlatformError{Reason: "the answer is not a Twilio account"}
	}
	if acct.Status != "" && acct.Status != "active" {
		return &source.CredentialsRejectedError{Reason: source.SafeReason("the Twilio account is " + acct.Status)}
	}
	return nil
}

// ManualStep is what the user does in the Twilio Console when we could not
// point the sender at inboundURL ourselves.
func ManualStep(sender, inboundURL string) string {
	if serviceSID.MatchString(sender) {
		return "In the Twilio Console, open Messaging > Services > " + sender + " > Integration, choose \"Send a webhook\" and set the request URL to " + inboundURL + " (HTTP POST)."
	}
	return "In the Twilio Console, open Phone Numbers > Manage > Active numbers > " + sender + " > Messaging configuration and set \"A message comes in\" to Webhook, " + inboundURL + ", HTTP POST."
}

// PointInbound makes Twilio post the sender's inbound messages to
// inboundURL: the Messaging Service's InboundRequestUrl when the sender is
// an MG SID, else the SmsUrl of the account's IncomingPhoneNumber with the
// sender's number. A sender Twilio cannot point (not a number of the
// account, or one handled by a TwiML app) is answered with the manual step;
// an error is a failed call (the caller shows the manual step too).
func (c *Client) PointInbound(ctx context.Context, sender, inboundURL string) (sms.InboundSetup, error) {
	if serviceSID.MatchString(sender) {
		return c.pointService(ctx, sender, inboundURL)
	}
	q := url.Values{"PhoneNumber": {sender}, "PageSize": {"20"}}
	resp, err := c.call(ctx, http.MethodGet, c.base+"/2010-04-01/Accounts/"+url.PathEscape(c.accountSID)+"/IncomingPhoneNumbers.json?"+q.Encode(), nil)
	if err != nil {
		return sms.InboundSetup{}, fmt.Errorf("twilio: listing incoming phone numbers: %s", c.reason(err))
	}
	var page struct {
		Numbers []struct {
			SID               string `json:"sid"`
			PhoneNumber       string `json:"phone_number"`
			SMSApplicationSID string `json:"sms_application_sid"`
		} `json:"incoming_phone_numbers"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return sms.InboundSetup{}, fmt.Errorf("twilio: listing incoming phone numbers: %w", err)
	}
	for _, n := range page.Numbers {
		if n.PhoneNumber != sender {
			continue
		}
		if n.SMSApplicationSID != "" {
			return sms.InboundSetup{ManualStep: "The number's messages go to the TwiML app " + n.SMSApplicationSID +
				", whose URL Twilio uses instead of the number's: set that app's messaging request URL to " + inboundURL +
				" (HTTP POST), or remove the app from the number and PUT the provider again."}, nil
		}
		form := url.Values{"SmsUrl": {inboundURL}, "SmsMethod": {http.MethodPost}}
		if _, err := c.call(ctx, http.MethodPost, c.base+"/2010-04-01/Accounts/"+url.PathEscape(c.accountSID)+"/IncomingPhoneNumbers/"+url.PathEscape(n.SID)+".json", form); err != nil {
			return sms.InboundSetup{}, fmt.Errorf("twilio: updating the incoming phone number: %s", c.reason(err))
		}
		return sms.InboundSetup{Configured: true, How: "set the SmsUrl of Twilio number " + sender + " (" + n.SID + ") to the inbound URL, HTTP POST"}, nil
	}
	return sms.InboundSetup{ManualStep: "The sender " + sender + " is not a phone number of this Twilio account (an alphanumeric sender or short code cannot be pointed by us). " +
		ManualStep(sender, inboundURL)}, nil
}

// pointService sets a Messaging Service's inbound request URL.
func (c *Client) pointService(ctx context.Context, sid, inboundURL string) (sms.InboundSetup, error) {
	base := c.base
	if base == DefaultBaseURL {
		base = MessagingBaseURL
	}
	form := url.Values{"InboundRequestUrl": {inboundURL}, "InboundMethod": {http.MethodPost}}
	_, err := c.call(ctx, http.MethodPost, base+"/v1/Services/"+url.PathEscape(sid), form)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return sms.InboundSetup{ManualStep: "Twilio has no Messaging Service " + sid + " in this account. " + ManualStep(sid, inboundURL)}, nil
	}
	if err != nil {
		return sms.InboundSetup{}, fmt.Errorf("twilio: updating the messaging service: %s", c.reason(err))
	}
	return sms.InboundSetup{Configured: true, How: "set the InboundRequestUrl of Twilio Messaging Service " + sid +
		" to the inbound URL, HTTP POST (numbers of the service set to use their own webhook keep their SmsUrl)"}, nil
}
