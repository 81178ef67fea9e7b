package shopify

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// checkQuery is the cheapest query there is: the shop's name (cost 1).
const checkQuery = `query ContactsyncCheck { shop { name } }`

// CheckCredentials asks for the shop's name once, without retries: a
// 401/403 (the token), a 402/423 (a frozen or locked shop), a 404 (no such
// shop or API version) or an ACCESS_DENIED error is a
// source.CredentialsRejectedError with Shopify's words; a transport
// failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"query": checkQuery}) // a string map always encodes
	r := c.request(body, 0)
	r.Attempts, r.MaxBody = 1, httpx.DefaultMaxBody
	resp, err := c.api.Do(ctx, r)
	if err != nil {
		return httpx.CheckError("the shop", err, c.safe, "")
	}
	if code, msg := decodeErrors(resp.Body); code != "" || msg != "" {
		return &source.CredentialsRejectedError{Reason: c.safe(reason(code, msg))}
	}
	var gr struct {
		Data struct {
			Shop *struct{ Name string } `json:"shop"`
		} `json:"data"`
	}
	if json.Unmarshal(resp.Body, &gr) != nil || gr.Data.Shop == nil {
		return &source.PlatformError{Reason: "the answer is not Shopify's (no shop)"}
	}
	return nil
}

// reason joins Shopify's error code and message.
func reason(code, msg string) string {
	return strings.TrimSpace(strings.TrimPrefix(code+": "+msg, ": "))
}

// safe bounds a reason and removes the secrets from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.AccessToken, c.cfg.WebhookSecret)
}
