package webhook

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/routes"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// MaxBody is the largest webhook body accepted.
const MaxBody = 1 << 20

// Store is what the handler needs from the store.
type Store interface {
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	ClaimIdempotency(ctx context.Context, tenant string, scope store.IdempotencyScope, key string, inProgressFor, keepFor time.Duration) (store.Claim, string, error)
	CompleteIdempotency(ctx context.Context, tenant string, scope store.IdempotencyScope, key, result string, keepFor time.Duration) error
	ReleaseIdempotency(ctx context.Context, tenant string, scope store.IdempotencyScope, key string) error
	ApplyRecords(ctx context.Context, t store.Target, recs []source.Record, now time.Time) ([]store.Applied, error)
	ForgetSourceRecord(ctx context.Context, t store.Target, externalID string, now time.Time) error
	PutOutbox(ctx context.Context, entries ...store.OutboxEntry) error
	MarkDisconnected(ctx context.Context, tenant, id string) (bool, error)
}

// Opener opens a connection's sealed config.
type Opener interface {
	Open(tenant string, sealed []byte) ([]byte, error)
}

// Outbox enqueues due messages for the outbox consumer.
type Outbox interface {
	Send(ctx context.Context, messages ...any) error
}

// Deps are the handler's collaborators.
type Deps struct {
	Store         Store
	Opener        Opener
	Connectors    map[source.Platform]source.WebhookConnector
	Outbox        Outbox
	PublicBaseURL string
	Now           func() time.Time
	Log           *slog.Logger
	// KeepDeliveries is how long delivery ids are remembered (default
	// 72 h: Shopify retries for 4 h, Sinch for ~22 h).
	KeepDeliveries time.Duration
	// ConnectionTTL is how long a warm container keeps an active
	// connection it read (default DefaultConnectionTTL; negative: never).
	ConnectionTTL time.Duration
}

// Handler handles platform webhooks.
type Handler struct {
	d     Deps
	conns *connCache
}

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.KeepDeliveries == 0 {
		d.KeepDeliveries = 72 * time.Hour
	}
	if d.ConnectionTTL == 0 {
		d.ConnectionTTL = DefaultConnectionTTL
	}
	d.PublicBaseURL = strings.TrimRight(d.PublicBaseURL, "/")
	return &Handler{d: d, conns: newConnCache(d.ConnectionTTL)}
}

// Handle serves one API Gateway request.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	params, ok := apigw.Match(routes.WebhookPath, apigw.Path(req))
	if !ok {
		return apigw.Error(http.StatusNotFound, "not_found", "no such route"), nil
	}
	// Anything but a POST gets the same answer whether or not the
	// connection exists, before it is looked up: an unauthenticated probe
	// must not learn which connection ids are live.
	if resp, ok := notPost(apigw.Method(req)); ok {
		return resp, nil
	}
	platform := source.Platform(params["platform"])
	ent, cached, status := h.connection(ctx, platform, params["connectionId"], false)
	if status != 0 {
		return apigw.Error(status, "not_found", "unknown connection"), nil
	}
	conn := ent.conn
	body, err := apigw.Body(req, MaxBody)
	if errors.Is(err, apigw.ErrTooLarge) {
		return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", "webhook body over 1 MiB"), nil
	}
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "malformed", "body is not decodable"), nil
	}
	log := h.d.Log.With("tenant", conn.TenantID, "connection", conn.ID, "platform", string(platform))
	cfg, err := h.config(ent)
	if err != nil {
		return h.internal(ctx, log, "opening connection config", err), nil
	}
	d := source.Delivery{Header: apigw.HTTPHeader(req), Body: body, URL: h.d.PublicBaseURL + apigw.Path(req), Query: req.QueryStringParameters, At: h.d.Now()}
	if req.RawQueryString != "" {
		d.URL += "?" + req.RawQueryString
	}
	cn := h.d.Connectors[platform]
	err = cn.Verify(cfg, d)
	if err != nil && cached {
		// The entry may predate a new webhook secret: read the connection
		// again, once, before refusing.
		if ent, _, status = h.connection(ctx, platform, params["connectionId"], true); status != 0 {
			return apigw.Error(status, "not_found", "unknown connection"), nil
		}
		conn = ent.conn
		if cfg, err = h.config(ent); err != nil {
			return h.internal(ctx, log, "opening connection config", err), nil
		}
		err = cn.Verify(cfg, d)
	}
	if err != nil {
		log.WarnContext(ctx, "webhook signature rejected")
		return apigw.Error(http.StatusUnauthorized, "invalid_signature", "signature verification failed"), nil
	}
	if u, ok := cn.(source.Uninstaller); ok {
		gone, err := u.Uninstalled(cfg, d)
		if err != nil {
			log.InfoContext(ctx, "webhook rejected", "err", err)
			return apigw.Error(http.StatusBadRequest, "malformed", "the delivery could not be parsed"), nil
		}
		if gone {
			// The app was uninstalled: its token no longer works. The
			// connection is disconnected (data kept, no more calls), in
			// whatever state it was; a repeat changes nothing.
			h.conns.drop(cacheKey(conn.TenantID, conn.ID))
			changed, err := h.d.Store.MarkDisconnected(ctx, conn.TenantID, conn.ID)
			if err != nil {
				return h.internal(ctx, log, "marking connection disconnected", err), nil
			}
			if changed {
				log.InfoContext(ctx, "connection disconnected: the app was uninstalled")
			}
			return apigw.JSON(http.StatusOK, map[string]string{"status": "disconnected"}), nil
		}
	}
	if conn.Status == store.StatusDisconnected {
		// Uninstalled: nothing more is taken in.
		log.InfoContext(ctx, "webhook ignored: connection disconnected")
		return apigw.JSON(http.StatusOK, map[string]string{"status": "ignored", "reason": "connection_disconnected"}), nil
	}
	if !conn.Enabled {
		// A disabled connection takes nothing in; 200 so the platform does
		// not retry (or disable the webhook) meanwhile.
		log.InfoContext(ctx, "webhook ignored: connection disabled")
		return apigw.JSON(http.StatusOK, map[string]string{"status": "ignored", "reason": "connection_disabled"}), nil
	}
	if conn.Status == store.StatusDraft {
		// A draft (authorised, not activated) syncs nothing yet; its
		// install sync will read the record.
		log.InfoContext(ctx, "webhook ignored: connection is a draft")
		return apigw.JSON(http.StatusOK, map[string]string{"status": "ignored", "reason": "connection_draft"}), nil
	}
	wh, err := cn.Parse(cfg, d, source.Options{ConnectionID: conn.ID, Label: conn.Label, SelectedTags: conn.SelectedTags, FieldMap: conn.FieldMap})
	if err != nil {
		log.InfoContext(ctx, "webhook rejected", "err", err)
		return apigw.Error(http.StatusBadRequest, "malformed", "the delivery could not be parsed"), nil
	}
	if wh.Ping {
		return apigw.JSON(http.StatusOK, map[string]string{"status": "ok"}), nil
	}
	key := string(platform) + ":" + conn.ID + ":" + wh.DeliveryID
	if wh.Privacy != "" {
		return h.privacy(ctx, log, conn, wh, key), nil
	}
	outcomes, duplicate, err := h.apply(ctx, conn, wh, key)
	switch {
	case errors.Is(err, store.ErrDeliveryInProgress):
		return retryLater(), nil
	case err != nil:
		return h.internal(ctx, log, "applying webhook", err), nil
	case duplicate:
		return apigw.JSON(http.StatusOK, map[string]string{"status": "duplicate"}), nil
	}
	log.InfoContext(ctx, "webhook applied", "topic", wh.Topic, "records", len(wh.Records), "outcomes", strings.Join(outcomes, ","))
	return apigw.JSON(http.StatusOK, map[string]any{"status": "ok", "outcomes": outcomes}), nil
}

// privacy handles a privacy webhook (Shopify's customers/redact,
// shop/redact, customers/data_request) under a claimed idempotency key: a
// copy in flight is told to retry later, a later one is acknowledged.
func (h *Handler) privacy(ctx context.Context, log *slog.Logger, conn store.Connection, wh source.Webhook, key string) apigw.Response {
	claim, _, err := h.d.Store.ClaimIdempotency(ctx, conn.TenantID, store.ScopeWebhook, key, 30*time.Second, h.d.KeepDeliveries)
	if err != nil {
		return h.internal(ctx, log, "claiming delivery", err)
	}
	switch claim {
	case store.ClaimCompleted:
		return apigw.JSON(http.StatusOK, map[string]string{"status": "duplicate"})
	case store.ClaimInProgress:
		return retryLater()
	}
	outcomes, err := h.forget(ctx, conn, wh)
	if err != nil {
		if rerr := h.d.Store.ReleaseIdempotency(ctx, conn.TenantID, store.ScopeWebhook, key); rerr != nil {
			log.ErrorContext(ctx, "releasing delivery claim", "err", rerr)
		}
		return h.internal(ctx, log, "applying webhook", err)
	}
	if err := h.d.Store.CompleteIdempotency(ctx, conn.TenantID, store.ScopeWebhook, key, "ok", h.d.KeepDeliveries); err != nil {
		log.ErrorContext(ctx, "completing delivery claim", "err", err) // the work is done; a duplicate would redo it harmlessly
	}
	log.InfoContext(ctx, "webhook applied", "topic", wh.Topic, "records", len(wh.Records), "outcomes", strings.Join(outcomes, ","))
	return apigw.JSON(http.StatusOK, map[string]any{"status": "ok", "outcomes": outcomes})
}

func retryLater() apigw.Response {
	resp := apigw.Error(http.StatusConflict, "in_progress", "this delivery is being processed; retry later")
	resp.Headers["Retry-After"] = "5"
	return resp
}

// connection finds the connection of a webhook URL: from the container's
// cache unless fresh, else from the store (an active one is then kept).
// cached says the entry came from the cache.
func (h *Handler) connection(ctx context.Context, platform source.Platform, id string, fresh bool) (cachedConn, bool, int) {
	tenant, ok := store.TenantOfConnection(id)
	if !ok || h.d.Connectors[platform] == nil {
		return cachedConn{}, false, http.StatusNotFound
	}
	key := cacheKey(tenant, id)
	if e, ok := h.conns.get(key, h.d.Now()); ok && !fresh {
		if e.conn.Platform != string(platform) {
			return cachedConn{}, false, http.StatusNotFound
		}
		return e, true, 0
	}
	conn, err := h.d.Store.GetConnection(ctx, tenant, id)
	if err != nil || conn.Platform != string(platform) {
		h.conns.drop(key)
		return cachedConn{}, false, http.StatusNotFound
	}
	return cachedConn{conn: conn, at: h.d.Now()}, false, 0
}

// config opens the entry's config; an active connection read from the
// store is then kept, config included. Only an active one: a draft,
// disabled or disconnected connection takes nothing in, and its
// activation must count at once.
func (h *Handler) config(e cachedConn) (map[string]string, error) {
	if e.cfg != nil {
		return maps.Clone(e.cfg), nil // the connectors get their own copy
	}
	cfg, err := h.openConfig(e.conn)
	if err != nil {
		return nil, err
	}
	key := cacheKey(e.conn.TenantID, e.conn.ID)
	if e.conn.Enabled && e.conn.Status == "" {
		e.cfg = cfg
		h.conns.put(key, e)
	} else {
		h.conns.drop(key)
	}
	return cfg, nil
}

// apply merges every record of the delivery at once, its idempotency key
// folded into the store's reads and writes (store.Delivery); it returns
// their outcomes, or duplicate when the delivery was applied before.
func (h *Handler) apply(ctx context.Context, conn store.Connection, wh source.Webhook, key string) ([]string, bool, error) {
	target := store.Target{TenantID: conn.TenantID, Conn: store.MergeConnection(conn), WriteBack: conn.WriteBackOptOuts,
		Delivery: &store.Delivery{Scope: store.ScopeWebhook, Key: key, KeepFor: h.d.KeepDeliveries}}
	recs := slices.Clone(wh.Records)
	applied, err := h.d.Store.ApplyRecords(ctx, target, recs, h.d.Now())
	if err != nil {
		return nil, false, err
	}
	if len(applied) > 0 && applied[0].Duplicate {
		return nil, true, nil
	}
	outcomes := make([]string, 0, len(applied))
	for i, a := range applied {
		outcomes = append(outcomes, string(a.Decision.Outcome))
		if err := h.enqueue(ctx, conn.TenantID, a.Messages); err != nil {
			return nil, false, err
		}
		if err := h.writeBack(ctx, conn, wh.Records[i], a); err != nil {
			return nil, false, err
		}
	}
	return outcomes, false, nil
}

// forget applies a privacy webhook: a redaction forgets each record's
// source data; a data request is logged.
func (h *Handler) forget(ctx context.Context, conn store.Connection, wh source.Webhook) ([]string, error) {
	now := h.d.Now()
	target := store.Target{TenantID: conn.TenantID, Conn: store.MergeConnection(conn), WriteBack: conn.WriteBackOptOuts}
	var outcomes []string
	for _, rec := range wh.Records {
		if wh.Privacy == source.PrivacyDataRequest {
			outcomes = append(outcomes, "data_request_logged")
			continue
		}
		if err := h.d.Store.ForgetSourceRecord(ctx, target, rec.ExternalID, now); err != nil {
			return nil, err
		}
		outcomes = append(outcomes, "redacted")
	}
	return outcomes, nil
}

// writeBack queues the opt-out's write-back to a record that still shows
// an unsubscribed number subscribed (store.Applied.WriteBack): one marker
// per record, opt-out and statement (messages.RecordWriteBackMessage: a
// replayed delivery writes nothing twice), written before the enqueue so
// the sweeper finds it if the enqueue is lost. A platform that cannot
// write back (Mailchimp) gets none; its syncs count it.
func (h *Handler) writeBack(ctx context.Context, conn store.Connection, rec source.Record, a store.Applied) error {
	if !a.WriteBack || h.d.Outbox == nil {
		return nil
	}
	if c, ok := h.d.Connectors[source.Platform(conn.Platform)].(source.WriteBackChecker); ok && c.CanWriteBack() != nil {
		return nil
	}
	statement := rec.Consent.At.UTC().Format(time.RFC3339Nano) + "|" + rec.UpdatedAt.UTC().Format(time.RFC3339Nano)
	msg := messages.RecordWriteBackMessage(conn.TenantID, store.WriteBack{ConnectionID: conn.ID, ExternalID: rec.ExternalID}, a.Identity.Phone, a.OptedOutAt, statement)
	if err := h.d.Store.PutOutbox(ctx, msg.Entry()); err != nil {
		return err
	}
	return h.d.Outbox.Send(ctx, msg)
}

func (h *Handler) enqueue(ctx context.Context, tenant string, msgs []consent.Message) error {
	if len(msgs) == 0 || h.d.Outbox == nil {
		return nil
	}
	return h.d.Outbox.Send(ctx, messages.SMSMessages(tenant, msgs)...)
}

func (h *Handler) openConfig(conn store.Connection) (map[string]string, error) {
	raw, err := h.d.Opener.Open(conn.TenantID, conn.Config)
	if err != nil {
		return nil, err
	}
	return decodeConfig(raw)
}

func (h *Handler) internal(ctx context.Context, log *slog.Logger, doing string, err error) apigw.Response {
	log.ErrorContext(ctx, "webhook error", "doing", doing, "err", err)
	return apigw.Error(http.StatusInternalServerError, "internal", "internal error")
}
