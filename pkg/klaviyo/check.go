package klaviyo

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

// checkBody caps the check's answer (one profile, or an error).
const checkBody = 1 << 20

// CheckCredentials lists one profile (GET /api/profiles?page[size]=1),
// the read the sync needs, once and without retries: a 401/403 is
// Klaviyo refusing the key or its scopes (source.CredentialsRejectedError
// with Klaviyo's title and detail); a transport failure, a 429 or a 5xx is
// a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	q := url.Values{"page[size]": {"1"}, "fields[profile]": {"email"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/profiles?"+q.Encode(), nil)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("building the request: " + err.Error())}
	}
	if err := c.authorize(ctx, req); err != nil {
		return &source.CredentialsRejectedError{Reason: c.safe("the OAuth token could not be refreshed: " + err.Error())}
	}
	req.Header.Set("revision", Revision)
	req.Header.Set("Accept", "application/vnd.api+json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("Klaviyo could not be reached: " + err.Error())}
	}
	defer resp.Body.Close()
	body, err := safehttp.ReadResponse(resp, checkBody)
	if err != nil {
		return &source.PlatformError{Reason: c.safe("reading Klaviyo's answer: " + err.Error())}
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s >= 500:
		return &source.PlatformError{Reason: c.safe("Klaviyo answered HTTP " + strconv.Itoa(s))}
	case s >= 300:
		return &source.CredentialsRejectedError{Reason: c.safe(errorReason(body, s))}
	}
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &page) != nil || page.Data == nil {
		return &source.PlatformError{Reason: "the answer is not a Klaviyo profiles listing"}
	}
	return nil
}

// errorReason is the first error's title and detail, or the status.
func errorReason(body []byte, status int) string {
	var e struct {
		Errors []struct {
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return "HTTP " + strconv.Itoa(status)
	}
	first := e.Errors[0]
	parts := []string{}
	for _, p := range []string{first.Code, first.Detail} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "HTTP " + strconv.Itoa(status) + " " + first.Title
	}
	return strings.Join(parts, ": ")
}

// safe bounds a reason and removes the keys from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.PrivateAPIKey, c.cfg.WebhookSecret)
}
