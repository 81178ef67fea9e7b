// Package inbound is the inbound-SMS Lambda's handler: POST
// /sms/inbound/{provider}/{tenantId}. It verifies the provider's signature,
// deduplicates by the provider's message id, classifies the text and acts:
//
//   - opt-out (STOP family, or a revocation in a sentence): the number is
//     unsubscribed before the handler returns, with evidence (text, message
//     id, provider, time), and one opt-out confirmation is queued; a number
//     no contact holds is recorded too (a suppression a later sync
//     respects);
//   - YES / Y to a pending double opt-in: subscribed; START / UNSTOP / YES
//     otherwise: re-subscribed, but only where the number has a consent
//     record (we never subscribe a stranger by keyword);
//   - HELP / INFO: the tenant's help text is queued;
//   - anything else: kept in the number's history, nothing changes.
//
// Answers: 200 with what the provider expects (Twilio: empty TwiML), also
// for duplicates; 401 bad signature (or a signed timestamp, Sinch's or
// MessageMedia's Date, outside the provider's replay window of the receipt
// time, Deps.Now); 404 for any method but POST, whatever the tenant; 404 unknown tenant or provider; 400
// malformed; 413 oversized.
package inbound

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/routes"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
	"github.com/contactsync/contactsync/pkg/store"
)

// MaxBody bounds an inbound request.
const MaxBody = 64 << 10

// Store is what the handler needs.
type Store interface {
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	ClaimIdempotency(ctx context.Context, tenant string, scope store.IdempotencyScope, key string, inProgressFor, keepFor time.Duration) (store.Claim, string, error)
	CompleteIdempotency(ctx context.Context, tenant string, scope store.IdempotencyScope, key, result string, keepFor time.Duration) error
	ReleaseIdempotency(ctx context.Context, tenant string, scope store.IdempotencyScope, key string) error
	UpdateLedger(ctx context.Context, tenant, e164 string, fn func(store.PhoneRecord) (store.LedgerUpdate, error)) (store.PhoneRecord, error)
	AppendHistory(ctx context.Context, tenant, subject string, e store.HistoryEntry) error
	WriteBackTargets(ctx context.Context, tenant, e164 string) ([]store.WriteBack, error)
	PutOutbox(ctx context.Context, entries ...store.OutboxEntry) error
}

// Opener opens the tenant's sealed provider settings.
type Opener interface {
	Open(tenant string, sealed []byte) ([]byte, error)
}

// Outbox enqueues messages to send.
type Outbox interface {
	Send(ctx context.Context, messages ...any) error
}

// Deps are the handler's collaborators.
type Deps struct {
	Store         Store
	Opener        Opener
	Outbox        Outbox
	PublicBaseURL string
	Now           func() time.Time
	Log           *slog.Logger
	// Notify tells the hub of STOP replies (contact.unsubscribed; nil:
	// nothing is told).
	Notify *notify.Notifier
}

// Handler handles inbound SMS.
type Handler struct{ d Deps }

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.PublicBaseURL = strings.TrimRight(d.PublicBaseURL, "/")
	return &Handler{d: d}
}

// Handle serves one API Gateway request.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	params, ok := apigw.Match(routes.InboundPath, apigw.Path(req))
	if !ok || apigw.Method(req) != http.MethodPost {
		return apigw.Error(http.StatusNotFound, "not_found", "no such route"), nil
	}
	provider, tenantID := sms.Provider(params["provider"]), params["tenantId"]
	settings, err := h.settings(ctx, tenantID)
	if err != nil || settings.Provider != provider {
		return apigw.Error(http.StatusNotFound, "not_found", "unknown tenant or provider"), nil
	}
	body, err := apigw.Body(req, MaxBody)
	if errors.Is(err, apigw.ErrTooLarge) {
		return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", "body too large"), nil
	}
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "malformed", "body is not decodable"), nil
	}
	publicURL := h.d.PublicBaseURL + apigw.Path(req)
	if req.RawQueryString != "" {
		publicURL += "?" + req.RawQueryString
	}
	log := h.d.Log.With("tenant", tenantID, "provider", string(provider))
	received := h.d.Now()
	in, err := smsproviders.Default.ParseInbound(settings, sms.Request{URL: publicURL, Header: apigw.HTTPHeader(req), Body: body, At: received})
	switch {
	case errors.Is(err, sms.ErrInvalidSignature):
		log.WarnContext(ctx, "inbound signature rejected")
		return apigw.Error(http.StatusUnauthorized, "invalid_signature", "signature verification failed"), nil
	case errors.Is(err, sms.ErrUnsupported):
		return answer(provider), nil // e.g. a binary MO: acknowledged, ignored
	case err != nil:
		return apigw.Error(http.StatusBadRequest, "malformed", "the message could not be parsed"), nil
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = received
	}
	key := string(provider) + ":" + in.MessageID
	claim, _, err := h.d.Store.ClaimIdempotency(ctx, tenantID, store.ScopeInbound, key, 10*time.Second, 7*24*time.Hour)
	if err != nil {
		return h.internal(ctx, log, "claiming message", err), nil
	}
	switch claim {
	case store.ClaimCompleted:
		return answer(provider), nil
	case store.ClaimInProgress:
		resp := apigw.Error(http.StatusConflict, "in_progress", "this message is being processed; retry later")
		resp.Headers["Retry-After"] = "5"
		return resp, nil
	}
	kind, err := h.act(ctx, tenantID, settings, in)
	if err != nil {
		if rerr := h.d.Store.ReleaseIdempotency(ctx, tenantID, store.ScopeInbound, key); rerr != nil {
			log.ErrorContext(ctx, "releasing message claim", "err", rerr)
		}
		return h.internal(ctx, log, "handling reply", err), nil
	}
	if err := h.d.Store.CompleteIdempotency(ctx, tenantID, store.ScopeInbound, key, string(kind), 7*24*time.Hour); err != nil {
		log.ErrorContext(ctx, "completing message claim", "err", err)
	}
	log.InfoContext(ctx, "inbound reply handled", "keyword", string(kind), "from", in.From)
	return answer(provider), nil
}

func answer(p sms.Provider) apigw.Response {
	a := smsproviders.Default.Answer(p)
	return apigw.Text(a.Status, a.ContentType, a.Body)
}

// act applies the reply to the number's consent and queues what is due.
// The due messages' outbox markers are written with the ledger (a HELP's
// on its own before the enqueue), so a failed enqueue is not a lost
// message: the outbox sweeper finds the marker.
func (h *Handler) act(ctx context.Context, tenant string, settings sms.Settings, in sms.Inbound) (consent.Keyword, error) {
	kind := consent.Classify(in.Text)
	ev := consent.Evidence{Text: truncate(in.Text, 160), MessageID: in.MessageID, Provider: string(in.Provider)}
	var msgs []messages.Outbox
	switch kind {
	case consent.OptOut, consent.OptIn:
		var targets []store.WriteBack
		notifyOn := false
		if kind == consent.OptOut && h.d.Outbox != nil {
			// Write the opt-out back to the sources that asked for it.
			var err error
			if targets, err = h.d.Store.WriteBackTargets(ctx, tenant, in.From); err != nil {
				return kind, err
			}
			// Tell the hub, if it listens.
			if notifyOn, err = h.d.Notify.Enabled(ctx, tenant); err != nil {
				return kind, err
			}
		}
		_, err := h.d.Store.UpdateLedger(ctx, tenant, in.From, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
			msgs = nil
			var event consent.Event
			switch {
			case kind == consent.OptOut:
				event = consent.OptOutEvent(in.ReceivedAt, ev)
			case r.Version == 0:
				return store.LedgerUpdate{}, nil // a stranger's START/YES subscribes nothing
			case r.Ledger.State() == consent.Pending && isYes(in.Text):
				event = consent.YesEvent(in.ReceivedAt, ev)
			default:
				event = consent.OptInEvent(in.ReceivedAt, ev)
			}
			l, ch := r.Ledger.Apply(event)
			l.Phone = cmp.Or(l.Phone, in.From)
			upd := store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}
			if ch.StateChanged() {
				upd.History = append(upd.History, store.HistoryEntry{At: in.ReceivedAt, EventID: string(ch.Kind) + "-" + in.MessageID, Kind: "consent_change",
					Detail: map[string]string{"from": string(ch.From), "to": string(ch.To), "event": string(ch.Kind), "text": ev.Text, "messageId": in.MessageID, "provider": ev.Provider}})
			}
			if len(ch.MessagesDue) > 0 && h.d.Outbox != nil {
				for _, m := range ch.MessagesDue {
					msgs = append(msgs, messages.SMS(tenant, m))
				}
				for _, t := range targets {
					msgs = append(msgs, messages.WriteBackMessage(tenant, t, in.From, in.ReceivedAt))
				}
			}
			if notifyOn && ch.StateChanged() && ch.To == consent.Unsubscribed {
				// The hub hears of the STOP (contact.unsubscribed) from
				// the same transaction.
				n, err := notify.Unsubscribed(r.ContactID, in.From, notify.SourceSMSStop, string(in.Provider)+":"+in.MessageID, in.ReceivedAt).Notification(tenant)
				if err != nil {
					return store.LedgerUpdate{}, err
				}
				msgs = append(msgs, messages.NotifyMessage(n))
			}
			if len(msgs) > 0 {
				upd.Outbox = messages.Entries(msgs)
			}
			return upd, nil
		})
		if err != nil {
			return kind, err
		}
	case consent.Help:
		if h.d.Outbox != nil {
			msgs = []messages.Outbox{messages.SMS(tenant, consent.Message{Phone: in.From, Purpose: consent.PurposeHelp, At: in.ReceivedAt})}
			if err := h.d.Store.PutOutbox(ctx, messages.Entries(msgs)...); err != nil {
				return kind, err
			}
		}
	default:
		if err := h.d.Store.AppendHistory(ctx, tenant, in.From, store.HistoryEntry{At: in.ReceivedAt, EventID: "reply-" + in.MessageID, Kind: "reply",
			Detail: map[string]string{"text": truncate(in.Text, 500), "messageId": in.MessageID, "provider": string(in.Provider)}}); err != nil {
			return kind, err
		}
	}
	if len(msgs) == 0 {
		return kind, nil
	}
	return kind, h.d.Outbox.Send(ctx, messages.Values(msgs)...)
}

func isYes(text string) bool {
	t := strings.ToUpper(strings.Trim(strings.TrimSpace(text), ".!?, "))
	return t == "YES" || t == "Y"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (h *Handler) settings(ctx context.Context, tenantID string) (sms.Settings, error) {
	t, err := h.d.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return sms.Settings{}, err
	}
	if len(t.SMSProvider) == 0 {
		return sms.Settings{}, store.ErrNotFound
	}
	raw, err := h.d.Opener.Open(t.ID, t.SMSProvider)
	if err != nil {
		return sms.Settings{}, err
	}
	return decodeSettings(raw)
}

func (h *Handler) internal(ctx context.Context, log *slog.Logger, doing string, err error) apigw.Response {
	log.ErrorContext(ctx, "inbound error", "doing", doing, "err", err)
	return apigw.Error(http.StatusInternalServerError, "internal", "internal error")
}
