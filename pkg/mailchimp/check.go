package mailchimp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// CheckCredentials reads the chosen audience (GET /lists/{id}?fields=id,name)
// once, without retries: it checks the API key and the audience id
// together. A 401/403 (the key) or 404 (the audience) is a
// source.CredentialsRejectedError with Mailchimp's words (problem); a
// transport failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	u := c.base + "/lists/" + url.PathEscape(c.cfg.AudienceID) + "?" + url.Values{"fields": {"id,name"}}.Encode()
	resp, err := c.api.Do(ctx, httpx.Request{Attempts: 1, MaxBody: httpx.DefaultMaxBody, Decode: decode, New: httpx.Build(http.MethodGet, u, nil, "", c.auth)})
	if err != nil {
		return httpx.CheckError("Mailchimp", err, c.safe, "audience "+c.cfg.AudienceID+" not found with this API key")
	}
	var a struct{ ID string }
	if json.Unmarshal(resp.Body, &a) != nil || a.ID == "" {
		return &source.PlatformError{Reason: "the answer is not a Mailchimp audience"}
	}
	return nil
}

// safe bounds a reason and removes the key from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.APIKey, c.cfg.WebhookToken, c.cfg.AccessToken)
}
