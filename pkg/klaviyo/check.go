package klaviyo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// CheckCredentials lists one profile (GET /api/profiles?page[size]=1),
// the read the sync needs, once and without retries: a 401/403 is
// Klaviyo refusing the key or its scopes (source.CredentialsRejectedError
// with Klaviyo's code and detail); a transport failure, a 429 or a 5xx is
// a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	q := url.Values{"page[size]": {"1"}, "fields[profile]": {"email"}}
	resp, err := c.api.Do(ctx, httpx.Request{Attempts: 1, MaxBody: httpx.DefaultMaxBody, Decode: decode, New: c.build(http.MethodGet, "/api/profiles", q, nil)})
	if te := (*tokenError)(nil); errors.As(err, &te) {
		return &source.CredentialsRejectedError{Reason: c.safe("the OAuth token could not be refreshed: " + te.Error())}
	} else if err != nil {
		return httpx.CheckError("Klaviyo", err, c.safe, "")
	}
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	if json.Unmarshal(resp.Body, &page) != nil || page.Data == nil {
		return &source.PlatformError{Reason: "the answer is not a Klaviyo profiles listing"}
	}
	return nil
}

// safe bounds a reason and removes the keys from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.PrivateAPIKey, c.cfg.WebhookSecret)
}
