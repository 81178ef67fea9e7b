// Package webhook is the webhook Lambda's handler: POST
// /webhooks/{platform}/{connectionId} from Shopify, WooCommerce, Mailchimp
// and Klaviyo. It finds the connection, verifies the platform's signature
// over the raw body, deduplicates by delivery id, merges and writes every
// record at once, and answers fast (Shopify allows 5 s). A record that
// shows an opted-out number subscribed, on a connection with
// writeBackOptOuts, has the opt-out's write-back queued at once.
//
// A connector that is a source.Uninstaller (Shopify) reports
// app/uninstalled of the connection's own shop: the connection is marked
// disconnected (data kept, out of the scheduler, "sync now" refused),
// whatever its state, and a disconnected connection's later deliveries are
// acknowledged without effect (connection_disconnected), as a draft's are.
//
// Answers: 200 for a processed, duplicate or ping delivery; 401 for a bad
// signature (or a signed timestamp outside its replay window:
// source.Delivery.At is the receipt time, from Deps.Now); any other method
// than POST gets the same answer for every webhook URL, connection or not
// (GET and HEAD 200, others 405); 404 for an unknown connection or a
// platform that does not match it; 400 for a malformed body or an
// unsupported topic; 413 over MaxBody; 409 with Retry-After while the same
// delivery is being processed (the platform retries). Internal errors
// answer 500 so the platform retries; nothing internal is echoed.
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
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
	ApplyRecord(ctx context.Context, t store.Target, rec source.Record, now time.Time) (store.Applied, error)
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
}

// Handler handles platform webhooks.
type Handler struct{ d Deps }

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
	d.PublicBaseURL = strings.TrimRight(d.PublicBaseURL, "/")
	return &Handler{d: d}
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
	conn, status := h.connection(ctx, platform, params["connectionId"])
	if status != 0 {
		return apigw.Error(status, "not_found", "unknown connection"), nil
	}
	body, err := apigw.Body(req, MaxBody)
	if errors.Is(err, apigw.ErrTooLarge) {
		return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", "webhook body over 1 MiB"), nil
	}
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "malformed", "body is not decodable"), nil
	}
	log := h.d.Log.With("tenant", conn.TenantID, "connection", conn.ID, "platform", string(platform))
	cfg, err := h.openConfig(conn)
	if err != nil {
		return h.internal(ctx, log, "opening connection config", err), nil
	}
	d := source.Delivery{Header: apigw.HTTPHeader(req), Body: body, URL: h.d.PublicBaseURL + apigw.Path(req), Query: req.QueryStringParameters, At: h.d.Now()}
	if req.RawQueryString != "" {
		d.URL += "?" + req.RawQueryString
	}
	cn := h.d.Connectors[platform]
	if err := cn.Verify(cfg, d); err != nil {
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
	claim, _, err := h.d.Store.ClaimIdempotency(ctx, conn.TenantID, store.ScopeWebhook, key, 30*time.Second, h.d.KeepDeliveries)
	if err != nil {
		return h.internal(ctx, log, "claiming delivery", err), nil
	}
	switch claim {
	case store.ClaimCompleted:
		return apigw.JSON(http.StatusOK, map[string]string{"status": "duplicate"}), nil
	case store.ClaimInProgress:
		resp := apigw.Error(http.StatusConflict, "in_progress", "this delivery is being processed; retry later")
		resp.Headers["Retry-After"] = "5"
		return resp, nil
	}
	outcomes, err := h.apply(ctx, conn, wh)
	if err != nil {
		if rerr := h.d.Store.ReleaseIdempotency(ctx, conn.TenantID, store.ScopeWebhook, key); rerr != nil {
			log.ErrorContext(ctx, "releasing delivery claim", "err", rerr)
		}
		return h.internal(ctx, log, "applying webhook", err), nil
	}
	if err := h.d.Store.CompleteIdempotency(ctx, conn.TenantID, store.ScopeWebhook, key, "ok", h.d.KeepDeliveries); err != nil {
		log.ErrorContext(ctx, "completing delivery claim", "err", err) // the work is done; a duplicate would be a no-op merge
	}
	log.InfoContext(ctx, "webhook applied", "topic", wh.Topic, "records", len(wh.Records), "outcomes", strings.Join(outcomes, ","))
	return apigw.JSON(http.StatusOK, map[string]any{"status": "ok", "outcomes": outcomes}), nil
}

func (h *Handler) connection(ctx context.Context, platform source.Platform, id string) (store.Connection, int) {
	tenant, ok := store.TenantOfConnection(id)
	if !ok || h.d.Connectors[platform] == nil {
		return store.Connection{}, http.StatusNotFound
	}
	conn, err := h.d.Store.GetConnection(ctx, tenant, id)
	if err != nil || conn.Platform != string(platform) {
		return store.Connection{}, http.StatusNotFound
	}
	return conn, 0
}

// apply merges every record of the delivery; it returns their outcomes.
func (h *Handler) apply(ctx context.Context, conn store.Connection, wh source.Webhook) ([]string, error) {
	now := h.d.Now()
	target := store.Target{TenantID: conn.TenantID, Conn: store.MergeConnection(conn), WriteBack: conn.WriteBackOptOuts}
	var outcomes []string
	for _, rec := range wh.Records {
		if wh.Privacy == source.PrivacyRedactCustomer || wh.Privacy == source.PrivacyRedactShop {
			if err := h.d.Store.ForgetSourceRecord(ctx, target, rec.ExternalID, now); err != nil {
				return nil, err
			}
			outcomes = append(outcomes, "redacted")
			continue
		}
		if wh.Privacy == source.PrivacyDataRequest {
			outcomes = append(outcomes, "data_request_logged")
			continue
		}
		a, err := h.d.Store.ApplyRecord(ctx, target, rec, now)
		if err != nil {
			return nil, err
		}
		outcomes = append(outcomes, string(a.Decision.Outcome))
		if err := h.enqueue(ctx, conn.TenantID, a.Messages); err != nil {
			return nil, err
		}
		if err := h.writeBack(ctx, conn, rec, a); err != nil {
			return nil, err
		}
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
