// Package outbox is the outbox Lambda's handler: an SQS consumer that sends
// the SMS the merge and inbound paths made due (confirmation, double opt-in
// request, opt-out confirmation, help) through the tenant's provider.
//
// At most once: each message has a reference (store.OutboxRef) and a
// marker item. The consumer leases the marker before calling the provider
// and records the outcome after, so a redelivered or concurrently consumed
// message is not sent again. The crash window — the provider accepted the
// message but we died before recording it — is closed by the lease: the
// message is sent again only after the lease lapses, and only for that
// crash; providers that take a client reference (Sinch client_reference,
// MessageMedia metadata) get the reference, so the duplicate is traceable.
//
// Before sending anything but an opt-out confirmation the number's consent
// is read again: nothing goes to a number that opted out meanwhile. Each
// sent message adds one credit to the tenant's usage.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Store is what the consumer needs.
type Store interface {
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	GetPhone(ctx context.Context, tenant, e164 string) (store.PhoneRecord, bool, error)
	LeaseOutbox(ctx context.Context, tenant, ref string, lease time.Duration) (bool, string, error)
	FinishOutbox(ctx context.Context, tenant, ref, status, detail string) error
	AddCredits(ctx context.Context, tenant string, n int) error
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
}

// WriteBacks writes opt-outs back to source platforms (connectors.Registry).
type WriteBacks interface {
	WriteBack(ctx context.Context, conn store.Connection, externalID, e164 string) error
}

// Opener opens sealed provider settings.
type Opener interface {
	Open(tenant string, sealed []byte) ([]byte, error)
}

// Deps are the consumer's collaborators.
type Deps struct {
	Store      Store
	Opener     Opener
	WriteBacks WriteBacks // nil: write-back messages fail permanently
	// HTTP is the base of the SMS providers' client, used as
	// safehttp.Harden makes it (nil: a 15 s timeout).
	HTTP *http.Client
	// AllowPrivateHosts lets SMS providers' apiBaseUrl reach private and
	// loopback hosts over http (local fakes only; see
	// safehttp.EnvAllowPrivateHosts).
	AllowPrivateHosts bool
	Log               *slog.Logger
	// Lease bounds how long a send may take before another consumer may
	// retry it (default 60 s).
	Lease time.Duration
}

// Handler consumes outbox messages.
type Handler struct{ d Deps }

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Lease == 0 {
		d.Lease = 60 * time.Second
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	d.HTTP = safehttp.Harden(d.HTTP, d.AllowPrivateHosts)
	return &Handler{d: d}
}

// errRetry marks a message to be redelivered.
var errRetry = errors.New("retry later")

// Handle sends a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		if err := h.one(ctx, rec.Body); err != nil {
			h.d.Log.WarnContext(ctx, "outbox message not sent yet", "messageId", rec.MessageId, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

func (h *Handler) one(ctx context.Context, body string) error {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.TenantID == "" || m.Ref == "" ||
		(m.Kind == KindSMS && m.SMS.Phone == "") || (m.Kind == KindWriteBack && m.WriteBack == nil) || (m.Kind != KindSMS && m.Kind != KindWriteBack) {
		h.d.Log.ErrorContext(ctx, "invalid outbox message dropped") // poison: no retry can fix it
		return nil
	}
	log := h.d.Log.With("tenant", m.TenantID, "ref", m.Ref, "purpose", string(m.SMS.Purpose))
	ok, state, err := h.d.Store.LeaseOutbox(ctx, m.TenantID, m.Ref, h.d.Lease)
	if err != nil {
		return err
	}
	if !ok {
		if state == store.OutboxSending {
			return errRetry // another consumer holds it; see later whether it finished
		}
		return nil // already sent, failed or skipped
	}
	status, detail, err := h.send(ctx, m)
	if err != nil {
		if ferr := h.d.Store.FinishOutbox(ctx, m.TenantID, m.Ref, store.OutboxPending, err.Error()); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}
	if err := h.d.Store.FinishOutbox(ctx, m.TenantID, m.Ref, status, detail); err != nil {
		return err
	}
	log.InfoContext(ctx, "outbox message done", "status", status, "to", m.SMS.Phone)
	if status == store.OutboxSent && m.Kind == KindSMS {
		return h.d.Store.AddCredits(ctx, m.TenantID, 1)
	}
	return nil
}

// send returns the final status, or an error for a retry.
func (h *Handler) send(ctx context.Context, m Message) (string, string, error) {
	if m.Kind == KindWriteBack {
		return h.writeBack(ctx, m)
	}
	if m.SMS.Purpose != consent.PurposeOptOutConfirmation && m.SMS.Purpose != consent.PurposeHelp {
		rec, _, err := h.d.Store.GetPhone(ctx, m.TenantID, m.SMS.Phone)
		if err != nil {
			return "", "", err
		}
		if rec.Ledger.Suppressed() {
			return store.OutboxSkipped, "number opted out", nil
		}
	}
	t, err := h.d.Store.GetTenant(ctx, m.TenantID)
	if err != nil {
		return "", "", err
	}
	if len(t.SMSProvider) == 0 {
		return store.OutboxFailed, "no SMS provider configured", nil
	}
	raw, err := h.d.Opener.Open(t.ID, t.SMSProvider)
	if err != nil {
		return "", "", err
	}
	var settings sms.Settings
	if err := json.Unmarshal(raw, &settings); err != nil {
		return store.OutboxFailed, "unreadable SMS provider settings", nil
	}
	text, err := settings.Templates.Render(sms.Purpose(m.SMS.Purpose), settings.CompanyName, settings.HelpText)
	if err != nil {
		return store.OutboxFailed, err.Error(), nil
	}
	sender, err := smsproviders.NewSender(settings, h.d.HTTP, h.d.AllowPrivateHosts)
	if err != nil {
		return store.OutboxFailed, err.Error(), nil
	}
	res, err := sender.Send(ctx, sms.Message{To: m.SMS.Phone, From: settings.Sender, Text: text, Purpose: sms.Purpose(m.SMS.Purpose), Reference: m.Ref})
	var se *sms.SendError
	if errors.As(err, &se) && se.Permanent {
		return store.OutboxFailed, se.Error(), nil
	}
	if err != nil {
		return "", "", fmt.Errorf("sending: %w", err)
	}
	return store.OutboxSent, res.ProviderMessageID, nil
}

// writeBack calls the source platform; a platform that cannot take the
// opt-out (Mailchimp, a guest) or refuses it is a permanent failure with its
// reason, anything else is retried.
func (h *Handler) writeBack(ctx context.Context, m Message) (string, string, error) {
	wb := m.WriteBack
	if h.d.WriteBacks == nil {
		return store.OutboxFailed, "write-back is not configured", nil
	}
	conn, err := h.d.Store.GetConnection(ctx, m.TenantID, wb.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.OutboxSkipped, "connection deleted", nil
	}
	if err != nil {
		return "", "", err
	}
	if !conn.WriteBackOptOuts {
		return store.OutboxSkipped, "write-back turned off", nil
	}
	if err := h.d.WriteBacks.WriteBack(ctx, conn, wb.ExternalID, wb.Phone); err != nil {
		if permanent(err) {
			return store.OutboxFailed, err.Error(), nil
		}
		return "", "", err
	}
	return store.OutboxSent, "written back", nil
}

// permanent reports errors no retry fixes (the connectors mark them).
func permanent(err error) bool { return errors.Is(err, source.ErrPermanent) }
