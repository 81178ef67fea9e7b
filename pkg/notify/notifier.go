package notify

import (
	"context"
	"errors"
	"log/slog"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/store"
)

// Notifier makes notifications: it stores each event with its outbox
// marker and queues its delivery. A nil *Notifier makes none.
type Notifier struct {
	Store interface {
		GetNotifyEndpoint(ctx context.Context, tenant string) (store.NotifyEndpoint, error)
		PutNotification(ctx context.Context, n store.Notification) (bool, error)
	}
	// Queue is the outbox queue.
	Queue interface {
		Send(ctx context.Context, msgs ...any) error
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
func (n *Notifier) Emit(ctx context.Context, tenant string, ev Event) error {
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
	if err := n.Queue.Send(ctx, messages.NotifyMessage(note)); err != nil && n.Log != nil {
		n.Log.WarnContext(ctx, "notification not enqueued: left to the outbox sweeper", "tenant", tenant, "id", note.ID, "err", err)
	}
	return nil
}

// EmitLogged is Emit for callers whose own work must not fail with it: an
// error is logged.
func (n *Notifier) EmitLogged(ctx context.Context, tenant string, ev Event) {
	if err := n.Emit(ctx, tenant, ev); err != nil && n.Log != nil {
		n.Log.ErrorContext(ctx, "notification not made", "tenant", tenant, "type", ev.Type, "err", err)
	}
}
