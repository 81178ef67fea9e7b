package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/sms"
)

// DefaultBaseURL is Twilio's API host.
const DefaultBaseURL = "https://api.twilio.com"

// Client sends SMS through one Twilio account.
type Client struct {
	base, accountSID, authToken string
	hc                          *http.Client
}

// NewClient returns a client; baseURL "" means Twilio's own.
func NewClient(baseURL, accountSID, authToken string, hc *http.Client) (*Client, error) {
	if accountSID == "" || authToken == "" {
		return nil, errors.New("twilio: account SID and auth token are required")
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if hc == nil {
		// Tests against local fakes; the outbox's sender comes hardened
		// from smsproviders.NewSender (safehttp).
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 15 * time.Second})
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), accountSID: accountSID, authToken: authToken, hc: hc}, nil
}

// errOptedOut is Twilio's code for a recipient that replied STOP.
const errOptedOut = 21610

// Send sends one message. It repeats the request only when Twilio provably
// did not take it (sms.PostOnce: no connection, 429, 503); a request that was
// sent and got no answer is sms.ErrUnknownOutcome (look it up with Find),
// other 4xx are permanent *sms.SendError.
func (c *Client) Send(ctx context.Context, m sms.Message) (sms.SendResult, error) {
	form := url.Values{"To": {m.To}, "From": {m.From}, "Body": {m.Text}}
	endpoint := c.messagesURL()
	ex, err := sms.PostOnce(ctx, c.hc, "twilio", func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(c.accountSID, c.authToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	})
	if err != nil {
		return sms.SendResult{}, err
	}
	var out struct {
		SID     string `json:"sid"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(ex.Body, &out) // errors below carry the status either way
	switch {
	case ex.Status < 300:
		return sms.SendResult{ProviderMessageID: out.SID}, nil // accepted (the sid may be lost with a cut answer)
	case ex.Status == http.StatusTooManyRequests || ex.Status == http.StatusServiceUnavailable:
		return sms.SendResult{}, &sms.SendError{Status: ex.Status, Code: strconv.Itoa(out.Code), Reason: out.Message}
	}
	reason := out.Message
	if out.Code == errOptedOut {
		reason = "recipient opted out (21610)"
	}
	return sms.SendResult{}, &sms.SendError{Status: ex.Status, Code: strconv.Itoa(out.Code), Reason: reason, Permanent: true}
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
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return "", false, err
		}
		req.SetBasicAuth(c.accountSID, c.authToken)
		resp, err := c.hc.Do(req)
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // the URL names the recipient: keep it out of errors and logs
		}
		if err != nil {
			return "", false, fmt.Errorf("twilio: listing messages: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return "", false, fmt.Errorf("twilio: listing messages: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return "", false, fmt.Errorf("twilio: listing messages: HTTP %d", resp.StatusCode)
		}
		var page struct {
			Messages []struct {
				SID         string `json:"sid"`
				Body        string `json:"body"`
				DateCreated string `json:"date_created"`
			} `json:"messages"`
			NextPageURI string `json:"next_page_uri"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
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
