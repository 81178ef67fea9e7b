package hubapi

import (
	"time"

	"github.com/contactsync/contactsync/pkg/platform"
)

// Config keys of a webhook-secret rotation. previousWebhookSecret is
// accepted for an hour after rotation (shopify.SecretRotationWindow);
// webhookSecretRotatedAt is when that hour started. The server sets it,
// never a caller: a caller-chosen time could keep the old secret alive
// forever.
const (
	cfgWebhookSecret   = "webhookSecret"
	cfgPreviousSecret  = "previousWebhookSecret"
	cfgSecretRotatedAt = "webhookSecretRotatedAt"
)

// serverManaged are config keys a caller may not send.
var serverManaged = map[string]bool{cfgSecretRotatedAt: true,
	// An OAuth install's refresh token and its access token's expiry
	// (pkg/connectors refreshes and stores them).
	"refreshToken": true, "tokenExpiry": true}

// rejectServerManaged names the server-managed keys a request's config
// carries.
func rejectServerManaged(in map[string]string) map[string]string {
	bad := map[string]string{}
	for k := range in {
		if serverManaged[k] {
			bad["config."+k] = "set by the server"
		}
	}
	return bad
}

// recordRotation updates cfg (the config after applying the request's
// config in) for a webhook-secret rotation at now. before is the stored
// config (nil on create). A connection whose webhookSecret changes
// of a platform that rotates them (Shopify) keeps the old one as
// previousWebhookSecret, unless the request names the
// previous secret itself; either way the rotation time is now. A request
// that clears previousWebhookSecret ends the window at once.
func recordRotation(spec platform.Spec, before, in, cfg map[string]string, now time.Time) {
	if !spec.RotatesWebhookSecret {
		return
	}
	prev, namedPrev := in[cfgPreviousSecret]
	newSecret, changed := in[cfgWebhookSecret]
	switch {
	case namedPrev && prev == "":
		delete(cfg, cfgPreviousSecret)
		delete(cfg, cfgSecretRotatedAt)
	case namedPrev:
		cfg[cfgSecretRotatedAt] = now.UTC().Format(time.RFC3339Nano)
	case changed && before != nil && before[cfgWebhookSecret] != "" && newSecret != before[cfgWebhookSecret]:
		cfg[cfgPreviousSecret] = before[cfgWebhookSecret]
		cfg[cfgSecretRotatedAt] = now.UTC().Format(time.RFC3339Nano)
	}
}
