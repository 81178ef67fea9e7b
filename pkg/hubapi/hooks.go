package hubapi

import (
	"context"
	"errors"
	"time"

	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/store"
)

// Webhooks registers and removes connections' platform webhook
// subscriptions (hooks.Keeper).
type Webhooks interface {
	Register(ctx context.Context, conn store.Connection, now time.Time) (store.WebhookState, bool)
	Remove(ctx context.Context, conn store.Connection, forget bool)
}

// WebhooksOut is the state of a connection's platform webhook
// subscriptions: ok, repaired (the daily check re-created or re-activated
// some), failing (with the reason) or unavailable (the platform offers the
// account no webhooks, with the reason: Klaviyo without Advanced KDP), as
// of CheckedAt.
type WebhooksOut struct {
	Status    string    `json:"status"`
	CheckedAt time.Time `json:"checkedAt"`
	Reason    string    `json:"reason,omitempty"`
}

func webhooksOut(st store.WebhookState) *WebhooksOut {
	if st.Status == "" {
		return nil
	}
	return &WebhooksOut{Status: st.Status, CheckedAt: st.CheckedAt, Reason: st.Reason}
}

// registerWebhooks subscribes an activated (or re-enabled) connection to
// its platform's webhooks; a refusal is shown on the connection, never an
// error of the request.
func (h *Handler) registerWebhooks(ctx context.Context, conn store.Connection, out *ConnectionOut) {
	if h.d.Webhooks == nil {
		return
	}
	if st, ok := h.d.Webhooks.Register(ctx, conn, h.d.Now()); ok && out != nil {
		out.Webhooks = webhooksOut(st)
	}
}

// removeWebhooks deletes a connection's subscriptions (forget: and its
// webhook state) before a delete or a disable.
func (h *Handler) removeWebhooks(ctx context.Context, conn store.Connection, forget bool) {
	if h.d.Webhooks == nil {
		return
	}
	h.d.Webhooks.Remove(ctx, conn, forget) // failures are logged by the keeper; the delete or disable goes ahead
}

// withWebhooks adds the connection's webhook state to out.
func (h *Handler) withWebhooks(ctx context.Context, tenant string, out *ConnectionOut) {
	st, err := h.d.Store.GetWebhookState(ctx, tenant, out.ID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.d.Log.ErrorContext(ctx, "reading webhook state", "connection", out.ID, "err", err)
		}
		return
	}
	out.Webhooks = webhooksOut(st)
}

// removeWebhookState forgets a connection's webhook state without calling
// its platform.
func (h *Handler) removeWebhookState(ctx context.Context, conn store.Connection) {
	if err := h.d.Store.DeleteWebhookState(ctx, conn.TenantID, conn.ID); err != nil {
		h.d.Log.ErrorContext(ctx, "deleting webhook state", "connection", conn.ID, "err", err)
	}
}

// webhooksMoved reports whether a config change moves the connection's
// subscriptions: other credentials (another store or shop, other keys) or,
// on WooCommerce, a new webhook secret (each webhook signs with its own).
func webhooksMoved(spec platform.Spec, before, after map[string]string) bool {
	return spec.Changed(platform.Credential, before, after) || spec.Changed(platform.Resubscribe, before, after)
}
