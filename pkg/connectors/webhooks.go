package connectors

import (
	"fmt"

	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// Webhooks returns the webhook adapters of every supported platform.
// Shopify's segment topics resolve the segment's name with a call to the
// shop through a Registry with no private hosts (WebhooksFor takes one).
func Webhooks() map[source.Platform]source.WebhookConnector {
	return WebhooksFor(nil)
}

// WebhooksFor is Webhooks with r's platforms and outbound HTTP settings
// (hardening, AllowPrivateHosts) for the calls a webhook needs (the name
// of a segment a Shopify delivery names by id); nil is a default Registry.
func WebhooksFor(r *Registry) map[source.Platform]source.WebhookConnector {
	if r == nil {
		r = &Registry{}
	}
	out := map[source.Platform]source.WebhookConnector{}
	for _, spec := range r.specs() {
		if spec.Webhooks != nil {
			out[spec.Name] = webhookAdapter{spec.Webhooks(r.builder(spec))}
		}
	}
	return out
}

// builder builds uncached clients of spec's platform for its webhooks,
// after the same host checks as every client.
func (r *Registry) builder(spec platform.Spec) platform.Builder {
	return func(cfg map[string]string, opts source.Options) (platform.Client, error) {
		if badHosts(spec, cfg, r.AllowPrivateHosts) != "" {
			return nil, ErrForbiddenHost
		}
		r.mu.Lock()
		hc := r.httpClient()
		r.mu.Unlock()
		return spec.New(cfg, opts, platform.Env{HTTP: hc, PlanWait: r.ShopifyBulkWait})
	}
}

// webhookAdapter is a platform's webhooks as pkg/webhook takes them: its
// errors wrap source.ErrSignature or source.ErrMalformed; it is a
// source.Uninstaller and a source.WriteBackChecker, answering as the
// platform's webhooks do (not uninstalled, can write back when they do
// not say).
type webhookAdapter struct{ w platform.Webhook }

func (a webhookAdapter) Verify(cfg map[string]string, d source.Delivery) error {
	if err := a.w.Verify(cfg, d); err != nil {
		return fmt.Errorf("%w: %w", source.ErrSignature, err)
	}
	return nil
}

func (a webhookAdapter) Parse(cfg map[string]string, d source.Delivery, opts source.Options) (source.Webhook, error) {
	wh, err := a.w.Parse(cfg, d, opts)
	if err != nil {
		return source.Webhook{}, fmt.Errorf("%w: %w", source.ErrMalformed, err)
	}
	return wh, nil
}

func (a webhookAdapter) Uninstalled(cfg map[string]string, d source.Delivery) (bool, error) {
	u, ok := a.w.(platform.Uninstaller)
	if !ok {
		return false, nil
	}
	gone, err := u.Uninstalled(cfg, d)
	if err != nil {
		return false, fmt.Errorf("%w: %w", source.ErrMalformed, err)
	}
	return gone, nil
}

func (a webhookAdapter) CanWriteBack() error {
	if c, ok := a.w.(source.WriteBackChecker); ok {
		return c.CanWriteBack()
	}
	return nil
}
