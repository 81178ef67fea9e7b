package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// checkBody caps the check's answer (the shop's name, or an error).
const checkBody = 1 << 20

// checkQuery is the cheapest query there is: the shop's name (cost 1).
const checkQuery = `query ContactsyncCheck { shop { name } }`

// CheckCredentials asks for the shop's name once, without retries: a
// 401/403 (the token), a 402/423 (a frozen or locked shop), a 404 (no such
// shop or API version) or an ACCESS_DENIED error is a
// source.CredentialsRejectedError with Shopify's words; a transport
// failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"query": checkQuery}) // a string map always encodes
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return &source.PlatformError{Reason: c.safe("building the request: " + err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.cfg.AccessToken)
	resp, err := c.hc.Do(req)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("the shop could not be reached: " + err.Error())}
	}
	defer resp.Body.Close()
	data, err := safehttp.ReadResponse(resp, checkBody)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("reading the shop's answer: " + err.Error())}
	}
	var gr struct {
		Data struct {
			Shop *struct{ Name string } `json:"shop"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	_ = json.Unmarshal(data, &gr) // best effort: the status decides first
	reason := errorsText(gr.Errors)
	if reason == "" {
		reason = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s >= 500:
		return &source.PlatformError{Reason: c.safe("the shop answered HTTP " + strconv.Itoa(s))}
	case s >= 300:
		return &source.CredentialsRejectedError{Reason: c.safe(reason)}
	case len(gr.Errors) > 0 && string(gr.Errors) != "null":
		return &source.CredentialsRejectedError{Reason: c.safe(reason)}
	case gr.Data.Shop == nil:
		return &source.PlatformError{Reason: "the answer is not Shopify's (no shop)"}
	}
	return nil
}

// errorsText reads Shopify's "errors": a string (REST-style answers to
// a bad token) or GraphQL's [{message, extensions{code}}].
func errorsText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	}
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(list[0].Extensions.Code+": "+list[0].Message, ": "))
}

// safe bounds a reason and removes the secrets from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.AccessToken, c.cfg.WebhookSecret)
}
