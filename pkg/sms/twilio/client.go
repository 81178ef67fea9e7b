package twilio

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
)

// DefaultBaseURL is Twilio's API host.
const DefaultBaseURL = "https://api.twilio.com"

// Client sends SMS through one Twilio account.
type Client struct {
	base, accountSID, authToken string
	api                         *httpx.Client
}

// NewClient returns a client; baseURL "" means Twilio's own, hc nil a
// client for local fakes (sms.API). The credentials are Spec's keys.
func NewClient(baseURL, accountSID, authToken string, hc *http.Client) *Client {
	base := strings.TrimRight(cmp.Or(baseURL, DefaultBaseURL), "/")
	return &Client{base: base, accountSID: accountSID, authToken: authToken, api: sms.API(sms.Twilio, hc)}
}

// errOptedOut is Twilio's code for a recipient that replied STOP.
const errOptedOut = "21610"

// Send sends one message. It repeats the request only when Twilio provably
// did not take it (httpx.Request.Once: no connection, 429, 503); a request
// that was sent and got no answer is sms.ErrUnknownOutcome (look it up with
// Find), other 4xx are permanent *httpx.Error (Code: Twilio's error code).
func (c *Client) Send(ctx context.Context, m sms.Message) (sms.SendResult, error) {
	form := url.Values{"To": {m.To}, "From": {m.From}, "Body": {m.Text}}
	resp, err := c.api.Do(ctx, c.request(http.MethodPost, c.messagesURL(), form, true))
	var he *httpx.Error
	if errors.As(err, &he) && he.Code == errOptedOut {
		he.Note = "recipient opted out"
	}
	if err != nil {
		return sms.SendResult{}, err
	}
	var out struct {
		SID string `json:"sid"`
	}
	_ = json.Unmarshal(resp.Body, &out) // accepted either way (the sid may be lost with a cut answer)
	return sms.SendResult{ProviderMessageID: out.SID}, nil
}

func (c *Client) messagesURL() string {
	return c.base + "/2010-04-01/Accounts/" + url.PathEscape(c.accountSID) + "/Messages.json"
}

// findPages bounds how many pages of the recipient's messages Find reads.
const findPages = 5

// Find looks for message m among the messages Twilio holds from m.From to
// m.To created at or after since (minus a minute of clock skew): the list
// of Message resources, newest first, filtered by To and From. Twilio
// creates the resource when it accepts the request, before it is sent, so a
// message it accepted is found even while still queued.
func (c *Client) Find(ctx context.Context, m sms.Message, since time.Time) (string, bool, error) {
	q := url.Values{"To": {m.To}, "From": {m.From}, "PageSize": {"50"}}
	next := c.messagesURL() + "?" + q.Encode()
	from := since.Add(-time.Minute)
	for range findPages {
		resp, err := c.api.Do(ctx, c.request(http.MethodGet, next, nil, false))
		if err != nil {
			return "", false, fmt.Errorf("twilio: listing messages: %w", err)
		}
		var page struct {
			Messages []struct {
				SID         string `json:"sid"`
				Body        string `json:"body"`
				DateCreated string `json:"date_created"`
			} `json:"messages"`
			NextPageURI string `json:"next_page_uri"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return "", false, fmt.Errorf("twilio: listing messages: %w", err)
		}
		for _, msg := range page.Messages {
			created, err := time.Parse(time.RFC1123Z, msg.DateCreated)
			if err != nil {
				continue
			}
			if created.Before(from) {
				return "", false, nil // newest first: the rest is older
			}
			if strings.HasSuffix(msg.Body, m.Text) { // trial accounts prefix the body
				return msg.SID, true, nil
			}
		}
		if page.NextPageURI == "" {
			return "", false, nil
		}
		next = c.base + page.NextPageURI
	}
	return "", false, fmt.Errorf("twilio: listing messages: more than %d pages since %s", findPages, from.Format(time.RFC3339))
}
