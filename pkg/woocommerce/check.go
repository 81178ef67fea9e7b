package woocommerce

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// CheckCredentials lists one customer (GET /customers?per_page=1&role=all),
// the permission the sync needs, once and without retries: a 401/403 is
// the store refusing the keys, a 404 a URL with no WooCommerce REST API
// (source.CredentialsRejectedError, with the store's code and message); a
// transport failure, a 429 or a 5xx is a source.PlatformError.
func (c *Client) CheckCredentials(ctx context.Context) error {
	resp, err := c.api.Do(ctx, httpx.Request{Attempts: 1, Decode: decode, MaxBody: httpx.DefaultMaxBody,
		New: c.build(http.MethodGet, "/customers", url.Values{"per_page": {"1"}, "role": {"all"}}, nil)})
	if err != nil { // 401/403: the keys; 404: not WooCommerce; other refusals: a store that refuses the listing
		return httpx.CheckError("the store", err, c.safe, "no WooCommerce REST API at this store URL")
	}
	var list []json.RawMessage
	if json.Unmarshal(resp.Body, &list) != nil {
		return &source.CredentialsRejectedError{Reason: "the store URL does not answer as a WooCommerce REST API (its customers listing is not JSON)"}
	}
	return nil
}

// safe bounds a reason and removes the keys from it.
func (c *Client) safe(s string) string {
	return source.SafeReason(s, c.cfg.ConsumerKey, c.cfg.ConsumerSecret, c.cfg.WebhookSecret)
}
