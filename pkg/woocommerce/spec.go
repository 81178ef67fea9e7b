package woocommerce

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// Spec describes WooCommerce to the engine (pkg/platform).
func Spec() platform.Spec {
	return platform.Spec{
		Name:  source.WooCommerce,
		Label: source.WooCommerce.DefaultLabel(),
		Keys: []platform.Key{
			{Name: "storeUrl", Flags: platform.Required | platform.URL | platform.Credential},
			{Name: "consumerKey", Flags: platform.Required | platform.Secret | platform.Credential},
			{Name: "consumerSecret", Flags: platform.Required | platform.Secret | platform.Credential},
			// Each webhook signs with the secret it was created with.
			{Name: "webhookSecret", Flags: platform.Required | platform.Secret | platform.Resubscribe},
			{Name: "smsConsentMetaKey"},
			{Name: "groupsMetaKey"},
			// The host's request limit, when it allows more (or less) than
			// DefaultMaxRPS: requests per second, MinRPS to MaxMaxRPS.
			{Name: "maxRequestsPerSecond"},
		},
		Check: func(cfg map[string]string) map[string]string {
			if v, ok := cfg["maxRequestsPerSecond"]; ok {
				if _, err := parseRPS(v); err != nil {
					return map[string]string{"maxRequestsPerSecond": err.Error()}
				}
			}
			return nil
		},
		Hosts: func(cfg map[string]string, allowPrivate bool) map[string]string {
			return endpoints.Connection(string(source.WooCommerce), cfg, allowPrivate)
		},
		New: func(cfg map[string]string, opts source.Options, env platform.Env) (platform.Client, error) {
			rps, err := parseRPS(cfg["maxRequestsPerSecond"])
			if err != nil {
				return nil, fmt.Errorf("%w: maxRequestsPerSecond: %v", ErrInvalidConfig, err)
			}
			return New(Config{
				StoreURL: cfg["storeUrl"], ConsumerKey: cfg["consumerKey"], ConsumerSecret: cfg["consumerSecret"],
				WebhookSecret: cfg["webhookSecret"], SMSConsentMetaKey: cfg["smsConsentMetaKey"], GroupsMetaKey: cfg["groupsMetaKey"],
				MaxRPS: rps,
			}, opts, env.HTTP)
		},
		Permanent: Permanent,
		Webhooks:  func(platform.Builder) platform.Webhook { return webhooks{} },
		KeyInstall: &platform.KeyInstall{
			URLKey: "storeUrl",
			AuthorizeURL: func(storeURL, state, redirect string) string {
				q := url.Values{"app_name": {"contactsync"}, "scope": {"read_write"}, "user_id": {state},
					"return_url": {redirect}, "callback_url": {redirect}}
				return storeURL + "/wc-auth/v1/authorize?" + q.Encode()
			},
			Keys: storeKeys,
			Credentials: func(storeURL, key, secret string, renewal bool, newToken func() string) map[string]string {
				cfg := map[string]string{"storeUrl": storeURL, "consumerKey": key, "consumerSecret": secret}
				if !renewal { // a renewal keeps the secret its webhooks sign with
					cfg["webhookSecret"] = newToken()
				}
				return cfg
			},
		},
	}
}

// The range a connection's maxRequestsPerSecond may take.
const (
	MinRPS    = 1
	MaxMaxRPS = 100
)

// parseRPS reads a connection's maxRequestsPerSecond: "" is the default
// (0, DefaultMaxRPS), else a number from MinRPS to MaxMaxRPS.
func parseRPS(v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < MinRPS || f > MaxMaxRPS {
		return 0, fmt.Errorf("requests per second from %d to %d (default %d)", MinRPS, MaxMaxRPS, DefaultMaxRPS)
	}
	return f, nil
}

// Permanent reports whether err is one no retry fixes.
func Permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidCursor) || errors.Is(err, ErrWriteBackUnsupported) ||
		errors.Is(err, ErrNotFound) || httpx.IsPermanent(err)
}

type webhooks struct{}

func (webhooks) Verify(cfg map[string]string, d source.Delivery) error {
	return VerifyWebhook(cfg["webhookSecret"], d.Header, d.Body)
}

func (webhooks) Parse(cfg map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error) {
	return ParseWebhookKeys(d.Header, d.Body, opts, Keys{Consent: cfg["smsConsentMetaKey"], Groups: cfg["groupsMetaKey"]})
}

// storeKeys reads what /wc-auth/v1/authorize POSTs to our callback_url:
// the key pair, its permissions and our state as user_id.
func storeKeys(body []byte) (platform.StoreKeys, error) {
	var in struct {
		KeyID          json.Number `json:"key_id"`
		UserID         string      `json:"user_id"`
		ConsumerKey    string      `json:"consumer_key"`
		ConsumerSecret string      `json:"consumer_secret"`
		KeyPermissions string      `json:"key_permissions"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return platform.StoreKeys{}, err
	}
	k := platform.StoreKeys{State: in.UserID, Key: in.ConsumerKey, Secret: in.ConsumerSecret}
	switch {
	case in.ConsumerKey == "" || in.ConsumerSecret == "" || len(in.ConsumerKey) > 256 || len(in.ConsumerSecret) > 256:
		k.Invalid = map[string]string{"consumer_key": "consumer_key and consumer_secret are required"}
	case in.KeyPermissions != "" && in.KeyPermissions != "read_write" && in.KeyPermissions != "write":
		k.Invalid = map[string]string{"key_permissions": "must be read_write"}
	}
	return k, nil
}
