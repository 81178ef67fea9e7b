package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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

// Send sends one message; 429 and 5xx are retried with backoff, other 4xx
// are permanent *sms.SendError.
func (c *Client) Send(ctx context.Context, m sms.Message) (sms.SendResult, error) {
	form := url.Values{"To": {m.To}, "From": {m.From}, "Body": {m.Text}}
	endpoint := c.base + "/2010-04-01/Accounts/" + url.PathEscape(c.accountSID) + "/Messages.json"
	var last error
	for attempt := 1; attempt <= 5; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return sms.SendResult{}, err
		}
		req.SetBasicAuth(c.accountSID, c.authToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return sms.SendResult{}, ctx.Err()
			}
			last = fmt.Errorf("twilio: sending: %w", err)
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			var out struct {
				SID     string `json:"sid"`
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(body, &out) // errors below carry the status either way
			switch {
			case resp.StatusCode < 300 && out.SID != "":
				return sms.SendResult{ProviderMessageID: out.SID}, nil
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				last = &sms.SendError{Status: resp.StatusCode, Code: strconv.Itoa(out.Code), Reason: out.Message}
			default:
				reason := out.Message
				if out.Code == errOptedOut {
					reason = "recipient opted out (21610)"
				}
				return sms.SendResult{}, &sms.SendError{Status: resp.StatusCode, Code: strconv.Itoa(out.Code), Reason: reason, Permanent: true}
			}
		}
		d := min(200*time.Millisecond<<attempt, 5*time.Second)
		t := time.NewTimer(d/2 + time.Duration(rand.Int64N(int64(d/2))))
		select {
		case <-ctx.Done():
			t.Stop()
			return sms.SendResult{}, ctx.Err()
		case <-t.C:
		}
	}
	return sms.SendResult{}, last
}
