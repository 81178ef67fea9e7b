// Package platform describes a source platform as one value, its Spec,
// which the platform's own package exports (shopify.Spec(), ...): its
// name and default label, its config keys (required, secret, credential,
// URL), the checks of its config and hosts, how to build its client from
// a connection's config, how to verify and parse its webhooks, which of
// its errors no retry can fix, and how its OAuth tokens are refreshed.
//
// The list of supported platforms is pkg/connectors/platforms (one line
// per platform); pkg/connectors builds clients and webhook adapters from
// the specs and the Hub API validates configs with them, so neither has a
// per-platform branch. Optional abilities of a client (credential check,
// install options, fields, webhook subscriptions, write-back check) are
// the source interfaces it implements.
//
// The package sits below connectors and the handlers: it imports source
// and oauth only, never a handler or the store.
package platform

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/source"
)

// Spec is everything the engine knows of one source platform.
type Spec struct {
	// Name is the platform's path segment (/webhooks/{platform}/{id}) and
	// the value connections and records carry.
	Name source.Platform
	// Label is the default source label of its connections ("Shopify").
	Label string
	// Keys are the config keys a connection of the platform may hold.
	Keys []Key
	// Check, when set, checks the config beyond what its keys say (a
	// key's format); it returns a message per bad key.
	Check func(cfg map[string]string) map[string]string
	// Hosts checks the hosts the config points at (pkg/endpoints): the
	// platform's own, over https, unless allowPrivate (local fakes). It
	// returns a message per bad key.
	Hosts func(cfg map[string]string, allowPrivate bool) map[string]string
	// New builds the connection's client from its opened config.
	New func(cfg map[string]string, opts source.Options, env Env) (Client, error)
	// Permanent reports whether an error of the client is one no retry
	// can fix (refused credentials, a 4xx other than 429, an invalid
	// cursor): the pipeline then fails the page at once.
	Permanent func(err error) bool
	// Webhooks returns the platform's webhook verifier and parser; build
	// makes a client of a delivery's connection for what parsing needs to
	// read from the platform (a Shopify segment's name).
	Webhooks func(build Builder) Webhook
	// Refresh, when set, is the OAuth configuration that refreshes the
	// platform's expiring access tokens (Klaviyo); Env.Token then gives
	// a fresh one.
	Refresh func(apps oauth.Apps) *oauth2.Config
	// RotatesWebhookSecret: a new webhookSecret keeps the old one as
	// previousWebhookSecret for an hour (Shopify).
	RotatesWebhookSecret bool
	// MaxConnections is how many simultaneous connections the platform
	// allows a client (0: no limit to keep to).
	MaxConnections int
	// OAuth is the platform's OAuth install, KeyInstall its store-granted
	// keys install (nil: credentials are pasted only).
	OAuth      *OAuth
	KeyInstall *KeyInstall
}

// Key is one config key of a platform.
type Key struct {
	Name  string
	Flags Flag
}

// Flag says what a config key is.
type Flag uint

// Key flags.
const (
	// Required: a connection must set it (a draft may lack it).
	Required Flag = 1 << iota
	// Secret: sealed, never returned by the API nor shown in a reason.
	Secret
	// Credential: a change checks the credentials again and moves the
	// connection's webhook subscriptions.
	Credential
	// Resubscribe: a change moves the webhook subscriptions (a secret the
	// platform signs each subscription with: WooCommerce).
	Resubscribe
	// URL: an http(s) URL (its host is checked by Spec.Hosts).
	URL
	// OrAccessToken: a required credential an OAuth access token
	// (accessToken) stands in for.
	OrAccessToken
	// Generated: the API sets it to a random token when the connection is
	// created (Mailchimp's webhookToken, which our webhook URL carries).
	Generated
	// GeneratedIfEmpty: the API sets it to a random token when the create
	// or the OAuth grant brings none (Klaviyo's webhookSecret, the
	// secret_key of the webhooks we create); a re-authorisation keeps it.
	GeneratedIfEmpty
)

// Env is what the registry gives a platform's constructor.
type Env struct {
	// HTTP is the hardened outbound client (pkg/safehttp).
	HTTP *http.Client
	// Token gives the connection's OAuth access token, refreshed when it
	// has expired (Spec.Refresh); nil when the spec has no Refresh or the
	// config no access token.
	Token func(ctx context.Context) (string, error)
	// PlanWait is how long a plan step may wait for an export the
	// platform prepares (a Shopify bulk operation); 0: the spec's default.
	PlanWait time.Duration
}

// Client is what every platform client offers: bulk and incremental
// listings (source.Source) and the write-back of an opt-out.
type Client interface {
	PlanBulk(ctx context.Context) (source.Plan, error)
	PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error)
	FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error)
	WriteBackOptOut(ctx context.Context, externalID, e164 string) error
}

// Builder builds a client of a connection's opened config, after the
// same host checks as every client.
type Builder func(cfg map[string]string, opts source.Options) (Client, error)

// Webhook verifies and parses one platform's webhook deliveries. One may
// also be a source.WriteBackChecker (a platform that cannot take an
// opt-out back) or an Uninstaller.
type Webhook interface {
	// Verify checks the delivery's authentication against the
	// connection's opened config.
	Verify(cfg map[string]string, d source.Delivery) error
	// Parse turns a verified delivery into records.
	Parse(cfg map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error)
}

// Uninstaller is a Webhook whose platform says when the app was
// uninstalled (Shopify app/uninstalled of the connection's own shop).
type Uninstaller interface {
	Uninstalled(cfg map[string]string, d source.Delivery) (bool, error)
}

// Specs is the list of supported platforms, in the order they are named.
type Specs []Spec

// Lookup returns the spec named name.
func (s Specs) Lookup(name string) (Spec, bool) {
	i := slices.IndexFunc(s, func(sp Spec) bool { return string(sp.Name) == name })
	if i < 0 {
		return Spec{}, false
	}
	return s[i], true
}

// Names lists the platforms' names, comma separated.
func (s Specs) Names() string {
	names := make([]string, len(s))
	for i, sp := range s {
		names[i] = string(sp.Name)
	}
	return strings.Join(names, ", ")
}

// Has reports whether the spec has a key named k with every flag of f.
func (s Spec) Has(k string, f Flag) bool {
	return slices.ContainsFunc(s.Keys, func(key Key) bool { return key.Name == k && key.Flags&f == f })
}

// KeysWith lists the spec's keys that have every flag of f.
func (s Spec) KeysWith(f Flag) []string {
	var out []string
	for _, k := range s.Keys {
		if k.Flags&f == f {
			out = append(out, k.Name)
		}
	}
	return out
}

// SecretValues returns the values of cfg's secret keys (for
// source.SafeReason).
func (s Spec) SecretValues(cfg map[string]string) []string {
	var out []string
	for _, k := range s.KeysWith(Secret) {
		if v := cfg[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Changed reports whether a key with every flag of f differs between
// before and after.
func (s Spec) Changed(f Flag, before, after map[string]string) bool {
	return slices.ContainsFunc(s.KeysWith(f), func(k string) bool { return before[k] != after[k] })
}

// CheckConfig checks cfg against the spec: keys it does not know (unless
// alsoKnown says so), required keys left empty (an OrAccessToken key is
// not needed when an accessToken stands in for it), URL keys that are not
// http(s) URLs, and the spec's own Check. It returns a message per bad
// key.
func (s Spec) CheckConfig(cfg map[string]string, alsoKnown func(k string) bool) map[string]string {
	bad := map[string]string{}
	for k := range cfg {
		if !slices.ContainsFunc(s.Keys, func(key Key) bool { return key.Name == k }) && !alsoKnown(k) {
			bad[k] = "unknown field for " + string(s.Name)
		}
	}
	for _, k := range s.Keys {
		v := cfg[k.Name]
		switch {
		case k.Flags&Required != 0 && strings.TrimSpace(v) == "" && (k.Flags&OrAccessToken == 0 || cfg["accessToken"] == ""):
			bad[k.Name] = "required"
		case k.Flags&URL != 0 && v != "" && !httpURL(v):
			bad[k.Name] = "must be an http(s) URL"
		}
	}
	if s.Check != nil {
		maps.Copy(bad, s.Check(cfg))
	}
	return bad
}

func httpURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
