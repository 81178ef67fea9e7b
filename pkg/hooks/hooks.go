package hooks

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// CheckEvery is how often a connection's subscriptions are checked;
// RetryFailingAfter how soon a failing one is checked again.
const (
	CheckEvery        = 24 * time.Hour
	RetryFailingAfter = time.Hour
)

// MaxChecksPerTick bounds the checks one scheduler tick makes (the rest
// are due at the next tick): checkConcurrency at a time, each within
// CallTimeout, fits the scheduler function's 60 s with room for its other
// work (3,072 connections a day at a 15-minute tick).
const (
	MaxChecksPerTick = 32
	checkConcurrency = 8
)

// CallTimeout bounds one registration, check or removal (all its platform
// calls). A registration also ends StateReserve before its caller's
// deadline (the api function's request, hubapi/deadline.go), so its
// outcome is stored in time: one that could not finish is `failing`
// ("the platform did not answer in time") and retried RetryFailingAfter
// later by the scheduler, never a failed request.
const (
	CallTimeout  = 8 * time.Second
	StateReserve = time.Second
)

// callContext bounds one registration's platform calls: CallTimeout, cut
// to StateReserve before ctx's deadline.
func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	end := time.Now().Add(CallTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-StateReserve).Before(end) {
		end = dl.Add(-StateReserve)
	}
	return context.WithDeadline(ctx, end)
}

// Store is what the keeper reads and writes.
type Store interface {
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	GetWebhookState(ctx context.Context, tenant, conn string) (store.WebhookState, error)
	PutWebhookState(ctx context.Context, st store.WebhookState, watched bool) error
	DeleteWebhookState(ctx context.Context, tenant, conn string) error
	ListWebhookChecksDue(ctx context.Context, now time.Time, limit int) ([]store.DueConnection, error)
}

// Platforms builds a connection's subscriber (connectors.Registry).
type Platforms interface {
	Subscriber(conn store.Connection) (source.Subscriber, error)
}

// Notifier emits notifications to the hub (notify.Notifier).
type Notifier interface {
	EmitLogged(ctx context.Context, tenant string, ev notify.Event)
}

// Keeper registers, checks and removes connections' webhook subscriptions.
type Keeper struct {
	Store     Store
	Platforms Platforms
	// Notify, when set, is told when a connection's webhooks turn failing.
	Notify Notifier
	// PublicBaseURL is where the platforms reach our webhook routes.
	PublicBaseURL string
	Log           *slog.Logger
}

// URL is the connection's webhook URL (ConnectionOut.WebhookURL without a
// Mailchimp token).
func URL(base string, conn store.Connection) string {
	return strings.TrimRight(base, "/") + "/webhooks/" + conn.Platform + "/" + conn.ID
}

func (k *Keeper) log() *slog.Logger {
	if k.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return k.Log
}

// kept reports whether the connection's webhooks are to be kept: enabled
// and active (not a draft, not disconnected or needing authorisation).
func kept(conn store.Connection) bool { return conn.Enabled && conn.Status == "" }

// Register subscribes the connection to every topic its connector handles
// (or checks the subscriptions it has) and stores the outcome; a platform
// without subscriptions gives ok=false and stores nothing. It never fails:
// a refusal is the state's `failing` reason.
func (k *Keeper) Register(ctx context.Context, conn store.Connection, now time.Time) (store.WebhookState, bool) {
	sub, err := k.Platforms.Subscriber(conn)
	if errors.Is(err, connectors.ErrNoSetup) {
		return store.WebhookState{}, false
	}
	prev, gerr := k.Store.GetWebhookState(ctx, conn.TenantID, conn.ID)
	if gerr != nil && !errors.Is(gerr, store.ErrNotFound) {
		k.log().ErrorContext(ctx, "reading webhook state", "tenant", conn.TenantID, "connection", conn.ID, "err", gerr)
	}
	st := store.WebhookState{TenantID: conn.TenantID, ConnectionID: conn.ID, CheckedAt: now, Subscriptions: map[string]string{}}
	repaired := false
	if err == nil {
		cctx, cancel := callContext(ctx)
		repaired, err = ensure(cctx, sub, URL(k.PublicBaseURL, conn), prev.Subscriptions, st.Subscriptions)
		cancel()
	}
	var unavailable *source.WebhooksUnavailableError
	switch {
	case errors.As(err, &unavailable):
		// Not a failure: the account may not have webhooks. Checked
		// again daily, in case it gains them.
		st.Status, st.Reason, st.NextCheckAt = store.WebhooksUnavailable, source.SafeReason(unavailable.Reason), now.Add(CheckEvery)
		clear(st.Subscriptions)
	case err != nil:
		st.Status, st.Reason, st.NextCheckAt = store.WebhooksFailing, reason(err), now.Add(RetryFailingAfter)
	case repaired:
		st.Status, st.NextCheckAt = store.WebhooksRepaired, now.Add(CheckEvery)
	default:
		st.Status, st.NextCheckAt = store.WebhooksOK, now.Add(CheckEvery)
	}
	if err := k.Store.PutWebhookState(ctx, st, true); err != nil {
		k.log().ErrorContext(ctx, "storing webhook state", "tenant", conn.TenantID, "connection", conn.ID, "err", err)
	}
	if st.Status == store.WebhooksFailing {
		k.log().WarnContext(ctx, "webhook subscriptions failing", "tenant", conn.TenantID, "connection", conn.ID, "reason", st.Reason)
		if prev.Status != store.WebhooksFailing && k.Notify != nil {
			k.Notify.EmitLogged(ctx, conn.TenantID, notify.WebhooksFailing(conn, st.Reason, now))
		}
	}
	return st, true
}

// ensure makes sub hold an active subscription of every topic at url:
// it lists, re-activates inactive ones and creates missing ones, filling
// ids (by topic). repaired is true when a topic prev had an id for had
// to be re-created or re-activated.
func ensure(ctx context.Context, sub source.Subscriber, url string, prev, ids map[string]string) (repaired bool, err error) {
	all, err := sub.Subscriptions(ctx)
	if err != nil {
		return false, err
	}
	active, inactive := map[string]string{}, map[string]string{}
	for _, s := range all {
		if s.URL != url {
			continue
		}
		if s.Active && active[s.Topic] == "" {
			active[s.Topic] = s.ID
		} else if !s.Active && inactive[s.Topic] == "" {
			inactive[s.Topic] = s.ID
		}
	}
	topics, err := offered(ctx, sub)
	if err != nil {
		return false, err
	}
	var firstErr error
	for _, topic := range topics {
		if id := active[topic]; id != "" {
			ids[topic] = id
			continue
		}
		if id := inactive[topic]; id != "" {
			if err := sub.Reactivate(ctx, id); err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			ids[topic] = id
			repaired = true
			continue
		}
		s, err := sub.Subscribe(ctx, topic, url)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		ids[topic] = s.ID
		if prev[topic] != "" {
			repaired = true
		}
	}
	return repaired, firstErr
}

// offered is sub's WebhookTopics, less those its platform does not offer
// the account (source.TopicOfferer); none offered is
// source.WebhooksUnavailableError.
func offered(ctx context.Context, sub source.Subscriber) ([]string, error) {
	topics := sub.WebhookTopics()
	o, ok := sub.(source.TopicOfferer)
	if !ok {
		return topics, nil
	}
	avail, err := o.OfferedTopics(ctx)
	if err != nil {
		return nil, err
	}
	topics = slices.DeleteFunc(topics, func(t string) bool { return !slices.Contains(avail, t) })
	if len(topics) == 0 {
		return nil, &source.WebhooksUnavailableError{Reason: "the account offers none of the webhook topics we handle"}
	}
	return topics, nil
}

// reason is an error's text as the API may show it: bounded, key-like
// strings removed (the clients' errors carry statuses and codes only).
func reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the platform did not answer in time"
	}
	return source.SafeReason(err.Error())
}

// Remove deletes every subscription at the connection's URL. forget also
// deletes its webhook state (a deleted connection); otherwise the state
// stays, out of the daily check (a disabled one). Errors are logged: a
// delete or disable goes ahead regardless.
func (k *Keeper) Remove(ctx context.Context, conn store.Connection, forget bool) {
	err := k.remove(ctx, conn)
	var unavailable *source.WebhooksUnavailableError
	if err != nil && !errors.As(err, &unavailable) { // an account without webhooks has none to remove
		k.log().WarnContext(ctx, "removing webhook subscriptions", "tenant", conn.TenantID, "connection", conn.ID, "err", err)
	}
	if forget {
		if derr := k.Store.DeleteWebhookState(ctx, conn.TenantID, conn.ID); derr != nil {
			k.log().ErrorContext(ctx, "deleting webhook state", "tenant", conn.TenantID, "connection", conn.ID, "err", derr)
		}
		return
	}
	prev, gerr := k.Store.GetWebhookState(ctx, conn.TenantID, conn.ID)
	if gerr == nil {
		prev.Subscriptions = nil
		if perr := k.Store.PutWebhookState(ctx, prev, false); perr != nil {
			k.log().ErrorContext(ctx, "storing webhook state", "tenant", conn.TenantID, "connection", conn.ID, "err", perr)
		}
	}
}

func (k *Keeper) remove(ctx context.Context, conn store.Connection) error {
	sub, err := k.Platforms.Subscriber(conn)
	if errors.Is(err, connectors.ErrNoSetup) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	all, err := sub.Subscriptions(ctx)
	if err != nil {
		return err
	}
	url := URL(k.PublicBaseURL, conn)
	var firstErr error
	for _, s := range all {
		if s.URL == url {
			firstErr = cmp.Or(firstErr, sub.Unsubscribe(ctx, s.ID))
		}
	}
	return firstErr
}

// Summary is what one CheckDue did.
type Summary struct {
	Checked, Repaired, Failing int
}

// CheckDue checks the subscriptions of at most MaxChecksPerTick
// connections whose check is due at now, a few at a time. A connection no
// longer kept (deleted, disabled, disconnected) leaves the check.
func (k *Keeper) CheckDue(ctx context.Context, now time.Time) (Summary, error) {
	due, err := k.Store.ListWebhookChecksDue(ctx, now, MaxChecksPerTick)
	var (
		mu  sync.Mutex
		sum Summary
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, checkConcurrency)
	for _, d := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, gerr := k.Store.GetConnection(ctx, d.TenantID, d.ConnectionID)
			if errors.Is(gerr, store.ErrNotFound) {
				if derr := k.Store.DeleteWebhookState(ctx, d.TenantID, d.ConnectionID); derr != nil {
					k.log().ErrorContext(ctx, "deleting webhook state", "tenant", d.TenantID, "connection", d.ConnectionID, "err", derr)
				}
				return
			}
			if gerr != nil {
				k.log().ErrorContext(ctx, "reading connection for its webhook check", "tenant", d.TenantID, "connection", d.ConnectionID, "err", gerr)
				return
			}
			if !kept(conn) {
				if st, err := k.Store.GetWebhookState(ctx, d.TenantID, d.ConnectionID); err == nil {
					if perr := k.Store.PutWebhookState(ctx, st, false); perr != nil {
						k.log().ErrorContext(ctx, "storing webhook state", "tenant", d.TenantID, "connection", d.ConnectionID, "err", perr)
					}
				}
				return
			}
			st, ok := k.Register(ctx, conn, now)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				sum.Checked++
			}
			switch st.Status {
			case store.WebhooksRepaired:
				sum.Repaired++
			case store.WebhooksFailing:
				sum.Failing++
			}
		}()
	}
	wg.Wait()
	return sum, err
}
