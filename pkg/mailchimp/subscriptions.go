package mailchimp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// WebhookTopic is the one topic the connector subscribes to: Mailchimp
// keeps one list webhook per URL with every event it delivers on it, so
// pkg/hooks keeps one webhook of the audience, at the connection's URL.
const WebhookTopic = "list"

// WebhookEvents are the list-webhook events the connection's webhook is
// subscribed to: the ones ParseWebhook turns into records. cleaned (an
// email bounce) and campaign (a campaign sent) carry nothing for SMS
// contacts, so they are left off rather than delivered and ignored.
var WebhookEvents = map[string]bool{
	"subscribe": true, "unsubscribe": true, "profile": true, "upemail": true, "cleaned": false, "campaign": false,
}

// WebhookSources are the sources of change the webhook is delivered for.
// api is on: the connector writes nothing to Mailchimp (WriteBackOptOut
// is unsupported), so none of our own calls can echo back, and members
// added or changed by other integrations through the API (shop plugins,
// signup-form tools) are changes the hub must see.
var WebhookSources = map[string]bool{"user": true, "admin": true, "api": true}

// ListWebhook is a list webhook as /lists/{id}/webhooks answers it.
type ListWebhook struct {
	ID      string          `json:"id"`
	URL     string          `json:"url"`
	Events  map[string]bool `json:"events"`
	Sources map[string]bool `json:"sources"`
	ListID  string          `json:"list_id"`
}

var _ source.Subscriber = (*Client)(nil)

// WebhookTopics is the one topic, WebhookTopic.
func (c *Client) WebhookTopics() []string { return []string{WebhookTopic} }

// subscription reports w as pkg/hooks compares it: its URL without our
// token (the keeper knows the connection's URL, not its secret), and
// active only when it is exactly ours — our token, our events and
// sources. Anything else at our URL (an old token, events changed in
// Mailchimp's admin) is inactive, and Reactivate repairs it.
func (c *Client) subscription(w ListWebhook) source.Subscription {
	bare, tok := splitToken(w.URL)
	ours := tok != "" && VerifyWebhook(c.cfg.WebhookToken, tok) == nil &&
		sameFlags(w.Events, WebhookEvents) && sameFlags(w.Sources, WebhookSources)
	return source.Subscription{ID: w.ID, Topic: WebhookTopic, URL: bare, Active: ours}
}

// splitToken takes the token query parameter off u: the URL without it
// (other parameters kept) and the token.
func splitToken(u string) (bare, token string) {
	p, err := url.Parse(u)
	if err != nil {
		return u, ""
	}
	q := p.Query()
	token = q.Get("token")
	q.Del("token")
	p.RawQuery = q.Encode()
	return p.String(), token
}

// sameFlags reports whether got sets every flag of want as want does (a
// flag Mailchimp leaves out is false).
func sameFlags(got, want map[string]bool) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// hookURL is the connection's webhook URL with our token.
func (c *Client) hookURL(bare string) (string, error) {
	if c.cfg.WebhookToken == "" {
		return "", fmt.Errorf("%w: no webhook token for the webhook URL", ErrInvalidConfig)
	}
	p, err := url.Parse(bare)
	if err != nil {
		return "", fmt.Errorf("%w: webhook URL does not parse", ErrInvalidConfig)
	}
	q := p.Query()
	q.Set("token", c.cfg.WebhookToken)
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// Subscriptions lists the audience's webhooks (GET
// /lists/{id}/webhooks: the listing is not paged; at most
// source.MaxSubscriptions are read).
func (c *Client) Subscriptions(ctx context.Context) ([]source.Subscription, error) {
	var p struct {
		Webhooks []ListWebhook `json:"webhooks"`
	}
	if err := c.getPath(ctx, "/webhooks", url.Values{}, &p); err != nil {
		return nil, c.hookErr("listing the audience's webhooks", err)
	}
	out := make([]source.Subscription, 0, min(len(p.Webhooks), source.MaxSubscriptions))
	for _, w := range p.Webhooks[:min(len(p.Webhooks), source.MaxSubscriptions)] {
		out = append(out, c.subscription(w))
	}
	return out, nil
}

// Subscribe creates the audience's webhook at bare with our token, events
// and sources. Mailchimp GETs the URL first and refuses the webhook
// unless it answers 200 (our webhook route does).
func (c *Client) Subscribe(ctx context.Context, topic, bare string) (source.Subscription, error) {
	if topic != WebhookTopic {
		return source.Subscription{}, fmt.Errorf("%w: unknown webhook topic %q", ErrInvalidConfig, topic)
	}
	u, err := c.hookURL(bare)
	if err != nil {
		return source.Subscription{}, err
	}
	var w ListWebhook
	if err := c.write(ctx, http.MethodPost, "", map[string]any{"url": u, "events": WebhookEvents, "sources": WebhookSources}, &w); err != nil {
		return source.Subscription{}, c.hookErr("creating the audience's webhook", err)
	}
	if w.ID == "" {
		return source.Subscription{}, errors.New("mailchimp: creating a webhook returned no id")
	}
	return c.subscription(w), nil
}

// Reactivate repairs a webhook at our URL that is not exactly ours (an
// old token, other events or sources): it reads it and PATCHes our URL,
// events and sources onto it.
func (c *Client) Reactivate(ctx context.Context, id string) error {
	var w ListWebhook
	path := "/webhooks/" + url.PathEscape(id)
	if err := c.getPath(ctx, path, url.Values{}, &w); err != nil {
		return c.hookErr("reading the audience's webhook", err)
	}
	bare, _ := splitToken(w.URL)
	u, err := c.hookURL(bare)
	if err != nil {
		return err
	}
	if err := c.write(ctx, http.MethodPatch, "/"+url.PathEscape(id), map[string]any{"url": u, "events": WebhookEvents, "sources": WebhookSources}, nil); err != nil {
		return c.hookErr("updating the audience's webhook", err)
	}
	return nil
}

// Unsubscribe deletes a webhook; one already gone is no error.
func (c *Client) Unsubscribe(ctx context.Context, id string) error {
	err := c.write(ctx, http.MethodDelete, "/"+url.PathEscape(id), nil, nil)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return c.hookErr("deleting the audience's webhook", err)
	}
	return nil
}

// hookErr names what failed and keeps Mailchimp's words (its title,
// detail and field errors, which say why a webhook was refused: the URL
// did not answer the check) without our secrets: the text is shown as
// the connection's webhooks reason.
func (c *Client) hookErr(what string, err error) error {
	var he *httpx.Error
	if errors.As(err, &he) && he.Reason != "" {
		return &hookError{msg: fmt.Sprintf("mailchimp: %s: HTTP %d: %s", what, he.Status, c.safe(he.Reason)), err: err}
	}
	return fmt.Errorf("mailchimp: %s: %w", what, err)
}

// hookError is a refused webhook call: what failed and Mailchimp's words;
// it unwraps to the *httpx.Error.
type hookError struct {
	msg string
	err error
}

func (e *hookError) Error() string { return e.msg }
func (e *hookError) Unwrap() error { return e.err }

// problem is Mailchimp's error document (application/problem+json).
type problem struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// String is what says why: the field errors when there are some (the
// URL failed the check), else the title and detail.
func (p problem) String() string {
	var parts []string
	for _, e := range p.Errors {
		if m := strings.TrimSpace(e.Message); m != "" {
			parts = append(parts, strings.TrimSpace(e.Field+": "+m))
		}
	}
	if len(parts) == 0 {
		for _, s := range []string{p.Title, p.Detail} {
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, "; ")
}

// write sends one webhook write (POST, PATCH or DELETE under
// /lists/{id}/webhooks) once: a refusal is an *httpx.Error whose Reason
// is Mailchimp's words (401/403 ErrUnauthorized).
func (c *Client) write(ctx context.Context, method, path string, body, out any) error {
	if c.cfg.AudienceID == "" {
		return errNoAudience
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	u := c.base + "/lists/" + url.PathEscape(c.cfg.AudienceID) + "/webhooks" + path
	resp, err := c.api.Do(ctx, httpx.Request{Attempts: 1, MaxBody: httpx.DefaultMaxBody, Decode: decode, New: httpx.Build(method, u, payload, "application/json", c.auth)})
	if err != nil {
		return known(err)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("mailchimp: decoding the webhook: %w", err)
		}
	}
	return nil
}
