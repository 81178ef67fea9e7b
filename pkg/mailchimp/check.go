package mailchimp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// checkBody caps the check's answer (one audience's id and name, or an error).
const checkBody = 1 << 20

// CheckCredentials reads the chosen audience (GET /lists/{id}?fields=id,name)
// once, without retries: it checks the API key and the audience id
// together. A 401/403 (the key) or 404 (the audience) is a
// source.CredentialsRejectedError with Mailchimp's words (problem); a
// transport failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	u := c.base + "/lists/" + url.PathEscape(c.cfg.AudienceID) + "?" + url.Values{"fields": {"id,name"}}.Encode()
	resp, err := c.api.Do(ctx, httpx.Request{Attempts: 1, MaxBody: checkBody, Decode: decode, New: httpx.Build(http.MethodGet, u, nil, "", c.auth)})
	var he *httpx.Error
	if err != nil && (!errors.As(err, &he) || he.Status < 300) {
		return &source.PlatformError{Reason: c.safe("Mailchimp could not be reached: " + err.Error())}
	}
	switch s := httpx.StatusOf(err); {
	case s == http.StatusNotFound:
		return &source.CredentialsRejectedError{Reason: c.safe("audience " + c.cfg.AudienceID + " not found with this API key (" + cmp.Or(he.Reason, "HTTP 404") + ")")}
	case s == http.StatusTooManyRequests || s >= 500:
		return &source.PlatformError{Reason: c.safe("Mailchimp answered HTTP " + strconv.Itoa(s))}
	case s >= 300:
		return &source.CredentialsRejectedError{Reason: c.safe(cmp.Or(he.Reason, "HTTP "+strconv.Itoa(s)))}
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
