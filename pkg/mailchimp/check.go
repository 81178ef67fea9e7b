package mailchimp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// checkBody caps the check's answer (one audience's id and name, or an error).
const checkBody = 1 << 20

// CheckCredentials reads the chosen audience (GET /lists/{id}?fields=id,name)
// once, without retries: it checks the API key and the audience id
// together. A 401/403 (the key) or 404 (the audience) is a
// source.CredentialsRejectedError with Mailchimp's title and detail; a
// transport failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	u := c.base + "/lists/" + url.PathEscape(c.cfg.AudienceID) + "?" + url.Values{"fields": {"id,name"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("building the request: " + err.Error())}
	}
	c.auth(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("Mailchimp could not be reached: " + err.Error())}
	}
	defer resp.Body.Close()
	body, err := safehttp.ReadResponse(resp, checkBody)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("reading Mailchimp's answer: " + err.Error())}
	}
	var e struct{ Title, Detail string }
	_ = json.Unmarshal(body, &e) // best effort: the status decides
	reason := strings.TrimSpace(strings.TrimSpace(e.Title) + ": " + strings.TrimSpace(e.Detail))
	if reason == ":" {
		reason = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		return &source.CredentialsRejectedError{Reason: c.safe("audience " + c.cfg.AudienceID + " not found with this API key (" + reason + ")")}
	case s == http.StatusTooManyRequests || s >= 500:
		return &source.PlatformError{Reason: c.safe("Mailchimp answered HTTP " + strconv.Itoa(s))}
	case s >= 300:
		return &source.CredentialsRejectedError{Reason: c.safe(reason)}
	}
	var a struct{ ID string }
	if json.Unmarshal(body, &a) != nil || a.ID == "" {
		return &source.PlatformError{Reason: "the answer is not a Mailchimp audience"}
	}
	return nil
}

// safe bounds a reason and removes the key from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.APIKey, c.cfg.WebhookToken, c.cfg.AccessToken)
}
