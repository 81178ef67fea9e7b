package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/sandbox"
)

// oauthInstall is one store the demo installs the way a hub does: through
// the platform's consent (OAuth; WooCommerce's /wc-auth key page), then
// the install options, the choices, the activation.
type oauthInstall struct {
	label, platform, mode string
	authorize             map[string]any // POST /v1/connections/authorize's platform fields (shop, storeUrl)
	// choose picks the PATCH's config from GET /options (nil: none).
	choose func(opts installOptions) map[string]string
}

// installOptions is what the demo reads of GET /v1/connections/{id}/options.
type installOptions struct {
	Audiences, Tags, Segments, Lists, Roles, MetaKeys *struct {
		Items []struct{ ID, Name string }
	}
	Fields []struct{ Key string }
}

func (o installOptions) summary() string {
	var parts []string
	for _, c := range []struct {
		name string
		n    int
	}{{"audiences", count(o.Audiences)}, {"tags", count(o.Tags)}, {"segments", count(o.Segments)}, {"lists", count(o.Lists)},
		{"roles", count(o.Roles)}, {"meta keys", count(o.MetaKeys)}, {"fields", len(o.Fields)}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return "nothing to pick"
	}
	return strings.Join(parts, ", ")
}

func count(c *struct{ Items []struct{ ID, Name string } }) int {
	if c == nil {
		return 0
	}
	return len(c.Items)
}

// browser is the merchant's browser: it follows the platform's consent
// page (the fakes approve at once) and our callback's redirects, and stops
// on the return URL (the console), where the hub's page would show. hops
// records the paths it went through.
type browser struct {
	client    *http.Client
	returnURL string
	hops      []string
}

func newBrowser(returnURL string) *browser {
	b := &browser{returnURL: returnURL}
	b.client = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), b.returnURL) {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return fmt.Errorf("too many redirects")
		}
		b.hops = append(b.hops, hop(req.URL))
		return nil
	}}
	return b
}

// hop names a visited URL briefly: the fake's consent page or our callback.
func hop(u *url.URL) string {
	switch {
	case strings.HasPrefix(u.Path, "/oauth/"):
		return "callback " + u.Path
	case strings.HasPrefix(u.Path, "/_fakes/"):
		parts := strings.SplitN(strings.TrimPrefix(u.Path, "/_fakes/"), "/", 2)
		return parts[0] + " consent page"
	}
	return u.Path
}

// visit opens u and returns the connection id the return URL carries.
func (b *browser) visit(ctx context.Context, u string) (string, error) {
	b.hops = nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	if pu, err := url.Parse(u); err == nil {
		b.hops = append(b.hops, hop(pu))
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusFound || loc == nil {
		return "", fmt.Errorf("the browser ended on %d, not on the return URL", resp.StatusCode)
	}
	if e := loc.Query().Get("error"); e != "" {
		return "", fmt.Errorf("the return URL says error=%s", e)
	}
	id := loc.Query().Get("connection")
	if id == "" {
		return "", fmt.Errorf("the return URL carries no connection: %s", loc)
	}
	return id, nil
}

// install runs one store's install as a hub does and prints its steps:
// authorize → consent → callback (a draft) → options → PATCH → activate.
func install(ctx context.Context, api sandbox.Client, b *browser, in oauthInstall) (conn, error) {
	body := map[string]any{"platform": in.platform, "label": in.label, "returnUrl": b.returnURL}
	for k, v := range in.authorize {
		body[k] = v
	}
	var auth struct{ AuthorizeURL string }
	if err := api.Do(ctx, "POST", "/v1/connections/authorize", body, &auth); err != nil {
		return conn{}, err
	}
	id, err := b.visit(ctx, auth.AuthorizeURL)
	if err != nil {
		return conn{}, fmt.Errorf("%s: %w", in.label, err)
	}
	fmt.Printf("%-12s authorize → %s → draft %s\n", in.label, strings.Join(b.hops, " → "), id)
	var opts installOptions
	if err := api.Do(ctx, "GET", "/v1/connections/"+id+"/options", nil, &opts); err != nil {
		return conn{}, err
	}
	patch := map[string]any{"consentMode": in.mode, "defaultRegion": "AU"}
	var chosen []string
	if in.choose != nil {
		cfg := in.choose(opts)
		if len(cfg) > 0 {
			patch["config"] = cfg
		}
		for k, v := range cfg {
			chosen = append(chosen, k+"="+v)
		}
	}
	if err := api.Do(ctx, "PATCH", "/v1/connections/"+id, patch, nil); err != nil {
		return conn{}, err
	}
	var act struct{ SyncID string }
	if err := api.Do(ctx, "POST", "/v1/connections/"+id+"/activate", nil, &act); err != nil {
		return conn{}, err
	}
	var out struct {
		ID, Label, WebhookURL string
		Webhooks              *struct{ Status, Reason string }
	}
	if err := api.Do(ctx, "GET", "/v1/connections/"+id, nil, &out); err != nil {
		return conn{}, err
	}
	hooks := "webhooks: none registered"
	if out.Webhooks != nil {
		hooks = "webhooks: " + out.Webhooks.Status
		if out.Webhooks.Reason != "" {
			hooks += " (" + out.Webhooks.Reason + ")"
		}
	}
	extra := ""
	if len(chosen) > 0 {
		extra = ", " + strings.Join(chosen, ", ")
	}
	fmt.Printf("%-12s options: %s → PATCH %s, AU%s → activate: install sync %s; %s\n", "", opts.summary(), in.mode, extra, act.SyncID, hooks)
	return conn{ID: id, Label: in.label, SyncID: act.SyncID, WebhookURL: out.WebhookURL}, nil
}

// pick returns the id (or name) of the choice with id or name name,
// else the first one's.
func pick(c *struct{ Items []struct{ ID, Name string } }, name string) string {
	if c == nil || len(c.Items) == 0 {
		return ""
	}
	id := func(i int) string { // tags, roles and meta keys have a name only
		if c.Items[i].ID != "" {
			return c.Items[i].ID
		}
		return c.Items[i].Name
	}
	for i, it := range c.Items {
		if it.ID == name || it.Name == name {
			return id(i)
		}
	}
	return id(0)
}
