package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/store"
)

// KindNotify is a notification to the hub (pkg/notify): one delivery
// attempt per message, retried through the marker's index time.
const KindNotify = "notify"

// NotifyMessage is the outbox message delivering notification n; its
// Entry carries n's log item, to be written with the marker.
func NotifyMessage(n store.Notification) Message {
	return Message{Kind: KindNotify, TenantID: n.TenantID, Ref: n.ID, Notification: &n}
}

// NotifyStore is what delivering notifications needs (a *store.Store).
type NotifyStore interface {
	GetNotifyEndpoint(ctx context.Context, tenant string) (store.NotifyEndpoint, error)
	GetNotification(ctx context.Context, tenant, id string) (store.Notification, error)
	RecordNotificationAttempt(ctx context.Context, tenant, id string, a store.NotificationAttempt) (store.Notification, error)
	FailNotification(ctx context.Context, tenant, id, reason string) error
}

// Notifier makes notifications: it stores each event with its outbox
// marker and queues its delivery. A nil *Notifier makes none.
type Notifier struct {
	Store interface {
		GetNotifyEndpoint(ctx context.Context, tenant string) (store.NotifyEndpoint, error)
		PutNotification(ctx context.Context, n store.Notification) (bool, error)
	}
	// Queue is the outbox queue.
	Queue interface {
		Send(ctx context.Context, messages ...any) error
	}
	Log *slog.Logger
}

// Enabled reports whether tenant registered a notification endpoint
// (nothing is made for a tenant without one).
func (n *Notifier) Enabled(ctx context.Context, tenant string) (bool, error) {
	if n == nil || n.Store == nil {
		return false, nil
	}
	_, err := n.Store.GetNotifyEndpoint(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Emit stores ev for tenant and queues its delivery; an event stored before
// (the same id) is left to its first delivery. A failed enqueue is not an
// error: the outbox sweeper finds the marker.
func (n *Notifier) Emit(ctx context.Context, tenant string, ev notify.Event) error {
	ok, err := n.Enabled(ctx, tenant)
	if err != nil || !ok {
		return err
	}
	note, err := ev.Notification(tenant)
	if err != nil {
		return err
	}
	created, err := n.Store.PutNotification(ctx, note)
	if err != nil || !created {
		return err
	}
	if err := n.Queue.Send(ctx, NotifyMessage(note)); err != nil && n.Log != nil {
		n.Log.WarnContext(ctx, "notification not enqueued: left to the outbox sweeper", "tenant", tenant, "id", note.ID, "err", err)
	}
	return nil
}

// EmitLogged is Emit for callers whose own work must not fail with it: an
// error is logged.
func (n *Notifier) EmitLogged(ctx context.Context, tenant string, ev notify.Event) {
	if err := n.Emit(ctx, tenant, ev); err != nil && n.Log != nil {
		n.Log.ErrorContext(ctx, "notification not made", "tenant", tenant, "type", ev.Type, "err", err)
	}
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
func (h *Handler) notify(ctx context.Context, m Message) (store.OutboxResult, error) {
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
