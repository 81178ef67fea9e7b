package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/store"
)

// NotifyStore is what delivering notifications needs (a *store.Store).
type NotifyStore interface {
	GetNotifyEndpoint(ctx context.Context, tenant string) (store.NotifyEndpoint, error)
	GetNotification(ctx context.Context, tenant, id string) (store.Notification, error)
	RecordNotificationAttempt(ctx context.Context, tenant, id string, a store.NotificationAttempt) (store.Notification, error)
	FailNotification(ctx context.Context, tenant, id, reason string) error
}

func (h *Handler) notifyStore() NotifyStore {
	if h.d.Notifications != nil {
		return h.d.Notifications
	}
	ns, _ := h.d.Store.(NotifyStore)
	return ns
}

// notify makes one delivery attempt of a notification, if it is due, and
// records it; a retryable failure leaves the marker pending until the next
// attempt's time (the sweeper brings it back then).
func (h *Handler) notify(ctx context.Context, m messages.Outbox) (store.OutboxResult, error) {
	ns := h.notifyStore()
	if ns == nil {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: "notifications are not configured"}, nil
	}
	n, err := ns.GetNotification(ctx, m.TenantID, m.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return store.OutboxResult{Status: store.OutboxSkipped, Detail: "no such notification"}, nil
	}
	if err != nil {
		return store.OutboxResult{}, err
	}
	switch n.Status {
	case store.NotificationDelivered:
		return store.OutboxResult{Status: store.OutboxSent, Detail: "delivered"}, nil
	case store.NotificationFailed:
		return store.OutboxResult{Status: store.OutboxFailed, Detail: n.LastError}, nil
	}
	now := h.d.Now()
	if n.NextAttemptAt.After(now) {
		// A duplicate queue message before the backoff's end: not yet.
		return store.OutboxResult{Status: store.OutboxPending, Detail: "next attempt not due", RevisitAt: n.NextAttemptAt}, nil
	}
	ep, err := ns.GetNotifyEndpoint(ctx, m.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		if err := ns.FailNotification(ctx, m.TenantID, n.ID, "no notification endpoint"); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.OutboxResult{}, err
		}
		return store.OutboxResult{Status: store.OutboxSkipped, Detail: "no notification endpoint"}, nil
	}
	if err != nil {
		return store.OutboxResult{}, err
	}
	secret, err := h.d.Opener.Open(m.TenantID, ep.Secret)
	if err != nil {
		return store.OutboxResult{}, err
	}
	r := notify.Post(ctx, h.notifyHTTP, ep.URL, string(secret), n.ID, n.Body, now)
	attempt := n.Attempts + 1
	a := store.NotificationAttempt{At: now, StatusCode: r.StatusCode, Error: r.Err}
	switch {
	case r.Delivered:
		a.Status = store.NotificationDelivered
	case r.Retry && attempt < notify.MaxAttempts:
		a.Status, a.NextAttemptAt = store.NotificationPending, now.Add(max(notify.Backoff(attempt), r.RetryAfter))
	default:
		a.Status = store.NotificationFailed
		if r.Retry {
			a.Error = fmt.Sprintf("%s (%d attempts)", r.Err, attempt)
		}
	}
	if _, err := ns.RecordNotificationAttempt(ctx, m.TenantID, n.ID, a); err != nil {
		return store.OutboxResult{}, err
	}
	h.d.Log.InfoContext(ctx, "notification attempt", "tenant", m.TenantID, "id", n.ID, "type", n.Type, "attempt", attempt,
		"statusCode", r.StatusCode, "status", a.Status, "err", r.Err)
	switch a.Status {
	case store.NotificationDelivered:
		return store.OutboxResult{Status: store.OutboxSent, Detail: "delivered"}, nil
	case store.NotificationPending:
		return store.OutboxResult{Status: store.OutboxPending, Detail: r.Err, RevisitAt: a.NextAttemptAt}, nil
	}
	return store.OutboxResult{Status: store.OutboxFailed, Detail: a.Error}, nil
}

// notifyClient is the notifications' client: public https addresses only,
// no redirects, notify.Timeout per attempt.
func notifyClient(hc *http.Client, allowPrivate bool) *http.Client {
	if hc == nil {
		return safehttp.New(safehttp.Options{AllowPrivate: allowPrivate, Timeout: notify.Timeout})
	}
	return safehttp.Harden(hc, allowPrivate)
}
