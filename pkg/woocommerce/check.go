package woocommerce

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// checkBody caps the check's answer (one customer, or an error).
const checkBody = 1 << 20

// CheckCredentials lists one customer (GET /customers?per_page=1&role=all),
// the permission the sync needs, once and without retries: a 401/403 is
// the store refusing the keys, a 404 a URL with no WooCommerce REST API
// (source.CredentialsRejectedError, with the store's code and message); a
// transport failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	status, body, err := c.once(ctx, "/customers", url.Values{"per_page": {"1"}, "role": {"all"}})
	if err != nil {
		return &source.PlatformError{Reason: c.safe("the store could not be reached: " + err.Error())}
	}
	var ae apiError
	_ = json.Unmarshal(body, &ae) // best effort: the status decides
	reason := ae.Code
	if ae.Message != "" {
		reason += ": " + ae.Message
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &source.CredentialsRejectedError{Reason: c.safe(cmp.Or(reason, "HTTP "+strconv.Itoa(status)))}
	case status == http.StatusNotFound:
		return &source.CredentialsRejectedError{Reason: c.safe("no WooCommerce REST API at this store URL (" + cmp.Or(reason, "HTTP 404") + ")")}
	case status == http.StatusTooManyRequests || status >= 500:
		return &source.PlatformError{Reason: c.safe("the store answered HTTP " + strconv.Itoa(status))}
	case status >= 300:
		return &source.CredentialsRejectedError{Reason: c.safe(cmp.Or(reason, "HTTP "+strconv.Itoa(status)))}
	}
	var list []json.RawMessage
	if json.Unmarshal(body, &list) != nil {
		return &source.CredentialsRejectedError{Reason: "the store URL does not answer as a WooCommerce REST API (its customers listing is not JSON)"}
	}
	return nil
}

// safe bounds a reason and removes the keys from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.ConsumerKey, c.cfg.ConsumerSecret, c.cfg.WebhookSecret)
}

// once makes one GET (no retry, no pacing) and returns the status and
// the body (capped); transport errors come without the query string,
// which holds the keys over plain http.
func (c *Client) once(ctx context.Context, path string, q url.Values) (int, []byte, error) {
	u := *c.base
	u.Path = c.base.Path + "/wp-json/wc/v3" + path
	if u.Scheme == "http" {
		q.Set("consumer_key", c.cfg.ConsumerKey)
		q.Set("consumer_secret", c.cfg.ConsumerSecret)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, fmt.Errorf("building the request: %w", redact(err))
	}
	if u.Scheme == "https" {
		req.SetBasicAuth(c.cfg.ConsumerKey, c.cfg.ConsumerSecret)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, redact(err)
	}
	defer resp.Body.Close()
	body, err := safehttp.ReadResponse(resp, checkBody)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}
