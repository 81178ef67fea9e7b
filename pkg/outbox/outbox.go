// Package outbox is the outbox Lambda's handler: an SQS consumer that sends
// the SMS the merge and inbound paths made due (confirmation, double opt-in
// request, opt-out confirmation, help) through the tenant's provider, and
// writes opt-outs back to source platforms, and delivers notifications to
// the hub (messages.KindNotify, pkg/notify).
//
// At most once: each message has a reference (store.OutboxRef) and a
// marker item, written with the decision that made it due. The consumer
// leases the marker before calling the provider and records the outcome
// after, so a redelivered, swept (messages.Sweeper) or concurrently consumed message
// is not sent again. The SMS clients never repeat a request the provider
// may have taken (httpx.Request.Once); such a send is recorded unknown and,
// where the provider can look messages up (sms.Finder: Twilio, Sinch), reconciled
// by the next holder of the lease before anything is sent again — as is a
// lease whose holder died mid-send. Without a lookup (MessageMedia) an
// unknown send stays unknown: one missing message rather than two.
//
// Before sending anything but an opt-out confirmation the number's consent
// is read again: nothing goes to a number that opted out meanwhile. Each
// sent message adds its credits — the parts its text is billed as
// (sms.Credits: GSM-7 160/153, UCS-2 70/67) — to the tenant's usage, by
// month, connection and purpose, in the same write that marks it sent.
//
// A tenant's monthly credit cap (store.Tenant.MonthlyCreditCap) holds a
// confirmation or double opt-in request whose credits would take the
// month past it (store.OutboxHeld) instead of sending it; changing the cap
// releases held messages (store.ReleaseHeld) and they are checked again.
// Opt-out confirmations and help replies answer the number's own STOP or
// HELP and are never held (they are counted). A message reserves its
// credits before it is sent (store.ReserveCredits: from its usage shard's
// block of the month's committed credits, sent plus in flight, which the
// shard takes by conditional adds), so consumers sending at the same
// moment cannot together pass the cap; a send whose outcome is unknown
// keeps its reservation. Only a tenant with a cap writes that central item
// (a block at a time, and a sent text's credits only where they pass its
// reservation); without a cap a sent text is counted on a usage shard
// alone (store.OutboxResult.Capped), and setting a cap counts those sends
// in (store.SetCreditCap).
//
// Notifications to the hub (messages.KindNotify, pkg/notify) ride the
// same markers, leases and sweeper: notify.Notifier stores an event's log
// item with its marker and queues it; each message is one signed attempt
// through a safehttp client. A failed attempt that may be retried gives
// the lease back with the marker's index time at the next attempt
// (notify.Backoff), and the sweeper brings it back then; a queue message
// that arrives before that time changes nothing. Unlike an SMS, a
// notification may arrive twice (a lost outcome is retried): receivers
// dedupe on its webhook-id.
// A write-back calls the connection's platform (WriteBacks). Written or
// refused for good, the source record's link is marked
// (store.StaleLink), so the connection's next sync looks at the record
// again: it writes the opt-out back, or reports why not, while the record
// still shows the number subscribed. Sync runs write their own write-backs
// through the same markers and leases (pkg/bulksync); this consumer
// finishes the ones a crashed page left, as the sweeper brings them.
//
// Every message gets its own deadline (Deps.MessageTimeout, three quarters
// of the function's timeout, and never later than the invocation's deadline
// minus the time to record the outcome), so a hung provider cannot use up
// the invocation.
package outbox

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/resources"
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
	LeaseOutbox(ctx context.Context, tenant, ref string, lease time.Duration) (store.OutboxLease, error)
	FinishOutbox(ctx context.Context, tenant, ref string, r store.OutboxResult) error
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	ReserveCredits(ctx context.Context, tenant, ref, month string, credits, limit int) (bool, error)
	StaleLink(ctx context.Context, tenant, conn, externalID string) error
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
	// retry it (default 60 s; longer than MessageTimeout).
	Lease time.Duration
	// MessageTimeout is each message's deadline (default three quarters of
	// the outbox function's timeout, resources.MessageTimeout).
	MessageTimeout time.Duration
	// Now is the clock that picks the month a credit cap is checked
	// against (default time.Now; the store's clock counts the send), and
	// a notification's attempt time.
	Now func() time.Time
	// Notifications reads and records notifications to the hub (nil: the
	// Store, when it has those methods; otherwise notify messages fail).
	Notifications NotifyStore
	// NotifyHTTP is the base of the notifications' client, hardened like
	// HTTP (nil: safehttp.New with notify.Timeout).
	NotifyHTTP *http.Client
}

// Handler consumes outbox messages.
type Handler struct {
	d          Deps
	notifyHTTP *http.Client
}

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Lease = cmp.Or(d.Lease, 60*time.Second)
	d.MessageTimeout = cmp.Or(d.MessageTimeout, resources.MessageTimeout("outbox"))
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.HTTP = safehttp.Harden(d.HTTP, d.AllowPrivateHosts)
	return &Handler{d: d, notifyHTTP: notifyClient(d.NotifyHTTP, d.AllowPrivateHosts)}
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

// finishBudget is the time recording an outcome may take after the
// message's own deadline passed (the outcome of a send that timed out must
// still be recorded).
var finishBudget = resources.MessageReserve("outbox")

func (h *Handler) one(parent context.Context, body string) error {
	var m messages.Outbox
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.TenantID == "" || m.Ref == "" ||
		(m.Kind == messages.KindSMS && m.SMS.Phone == "") || (m.Kind == messages.KindWriteBack && m.WriteBack == nil) || (m.Kind != messages.KindSMS && m.Kind != messages.KindWriteBack && m.Kind != messages.KindNotify) {
		h.d.Log.ErrorContext(parent, "invalid outbox message dropped") // poison: no retry can fix it
		return nil
	}
	timeout := h.d.MessageTimeout
	if dl, ok := parent.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)-finishBudget), 0) // leave time to record the outcome
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	log := h.d.Log.With("tenant", m.TenantID, "ref", m.Ref, "purpose", string(m.SMS.Purpose))
	lease, err := h.d.Store.LeaseOutbox(ctx, m.TenantID, m.Ref, h.d.Lease)
	if err != nil {
		return err
	}
	if !lease.OK {
		if lease.State == store.OutboxSending {
			return errRetry // another consumer holds it; see later whether it finished
		}
		return nil // already sent, failed or skipped
	}
	res, err := h.send(ctx, m, &lease)
	// Credits reserved under the cap, by this attempt or an earlier one: a
	// sent message turns them into its credits, a failed or skipped one
	// gives them back (store.FinishOutbox).
	res.Reserved, res.ReservedMonth = lease.Reserved, lease.ReservedMonth
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(parent), finishBudget)
	defer fcancel()
	if err != nil {
		if ferr := h.d.Store.FinishOutbox(fctx, m.TenantID, m.Ref, store.OutboxResult{Status: store.OutboxPending, Detail: err.Error()}); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}
	if err := h.d.Store.FinishOutbox(fctx, m.TenantID, m.Ref, res); err != nil {
		return err
	}
	log.InfoContext(ctx, "outbox message done", "status", res.Status, "to", m.SMS.Phone)
	return nil
}

// send returns the outcome to record, or an error for a retry (nothing
// reached the provider).
func (h *Handler) send(ctx context.Context, m messages.Outbox, lease *store.OutboxLease) (store.OutboxResult, error) {
	if m.Kind == messages.KindWriteBack {
		return h.writeBack(ctx, m)
	}
	if m.Kind == messages.KindNotify {
		return h.notify(ctx, m)
	}
	if m.SMS.Purpose != consent.PurposeOptOutConfirmation && m.SMS.Purpose != consent.PurposeHelp {
		rec, _, err := h.d.Store.GetPhone(ctx, m.TenantID, m.SMS.Phone)
		if err != nil {
			return store.OutboxResult{}, err
		}
		if rec.Ledger.Suppressed() {
			return store.OutboxResult{Status: store.OutboxSkipped, Detail: "number opted out"}, nil
		}
		if m.SMS.Purpose == consent.PurposeDoubleOptInReminder && rec.Ledger.State() != consent.Pending {
			// Answered (or expired) since the reminder became due.
			return store.OutboxResult{Status: store.OutboxSkipped, Detail: "no longer pending"}, nil
		}
	}
	t, err := h.d.Store.GetTenant(ctx, m.TenantID)
	if err != nil {
		return store.OutboxResult{}, err
	}
	if len(t.SMSProvider) == 0 {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: "no SMS provider configured"}, nil
	}
	raw, err := h.d.Opener.Open(t.ID, t.SMSProvider)
	if err != nil {
		return store.OutboxResult{}, err
	}
	var settings sms.Settings
	if err := json.Unmarshal(raw, &settings); err != nil {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: "unreadable SMS provider settings"}, nil
	}
	text, err := settings.Templates.Render(sms.Purpose(m.SMS.Purpose), settings.CompanyName, settings.HelpText)
	if err != nil {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: err.Error()}, nil
	}
	sender, err := smsproviders.Default.NewSender(settings, h.d.HTTP, h.d.AllowPrivateHosts)
	if err != nil {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: err.Error()}, nil
	}
	msg := sms.Message{To: m.SMS.Phone, From: settings.Sender, Text: text, Purpose: sms.Purpose(m.SMS.Purpose), Reference: m.Ref}
	// What the provider bills the text as; recorded with the sent message.
	_, parts := sms.Credits(text)
	sent := func(id string) store.OutboxResult {
		return store.OutboxResult{Status: store.OutboxSent, Detail: id, Credits: parts, ConnectionID: m.SMS.ConnectionID, Purpose: string(m.SMS.Purpose),
			Capped: t.MonthlyCreditCap != nil}
	}
	finder, canFind := sender.(sms.Finder)
	if lease.State == store.OutboxUnknown || lease.State == store.OutboxSending {
		// An earlier attempt may have reached the provider: ask it first.
		if !canFind {
			return store.OutboxResult{Status: store.OutboxUnknown, Detail: "an earlier send may have reached the provider, which cannot look it up: not sent again"}, nil
		}
		since := lease.PrevAttempt
		if since.IsZero() {
			since = m.SMS.At
		}
		id, found, err := finder.Find(ctx, msg, since)
		if err != nil {
			return store.OutboxResult{Status: store.OutboxUnknown, Detail: "looking the earlier send up: " + err.Error(), Revisit: true}, nil
		}
		if found {
			return sent(id), nil
		}
		// The provider has no such message: the earlier attempt never
		// reached it, and this one may send.
	}
	if held, detail, err := h.overCap(ctx, t, m, lease, parts); err != nil {
		return store.OutboxResult{}, err
	} else if held {
		return store.OutboxResult{Status: store.OutboxHeld, Detail: detail, Credits: parts, ConnectionID: m.SMS.ConnectionID, Purpose: string(m.SMS.Purpose)}, nil
	}
	res, err := sender.Send(ctx, msg)
	switch {
	case errors.Is(err, sms.ErrUnknownOutcome):
		return store.OutboxResult{Status: store.OutboxUnknown, Detail: err.Error(), Revisit: canFind}, nil
	case httpx.IsPermanent(err):
		return store.OutboxResult{Status: store.OutboxFailed, Detail: err.Error()}, nil
	case err != nil:
		return store.OutboxResult{}, fmt.Errorf("sending: %w", err)
	}
	return sent(res.ProviderMessageID), nil
}

// writeBack calls the source platform; a platform that cannot take the
// opt-out (Mailchimp, a guest) or refuses it is a permanent failure with its
// reason, anything else is retried.
func (h *Handler) writeBack(ctx context.Context, m messages.Outbox) (store.OutboxResult, error) {
	wb := m.WriteBack
	if h.d.WriteBacks == nil {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: "write-back is not configured"}, nil
	}
	conn, err := h.d.Store.GetConnection(ctx, m.TenantID, wb.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.OutboxResult{Status: store.OutboxSkipped, Detail: "connection deleted"}, nil
	}
	if err != nil {
		return store.OutboxResult{}, err
	}
	if !conn.WriteBackOptOuts {
		return store.OutboxResult{Status: store.OutboxSkipped, Detail: "write-back turned off"}, nil
	}
	err = h.d.WriteBacks.WriteBack(ctx, conn, wb.ExternalID, wb.Phone)
	if err != nil && !permanent(err) {
		return store.OutboxResult{}, err
	}
	if err == nil || !errors.Is(err, source.ErrWriteBackUnsupported) {
		// Written or refused, the source record is not what its link
		// remembers (or still shows the number subscribed): the
		// connection's next sync looks at it again, and writes the
		// opt-out back (or reports why not) if it still shows the number
		// subscribed.
		if serr := h.d.Store.StaleLink(ctx, m.TenantID, wb.ConnectionID, wb.ExternalID); serr != nil {
			return store.OutboxResult{}, serr
		}
	}
	if err != nil {
		return store.OutboxResult{Status: store.OutboxFailed, Detail: err.Error()}, nil
	}
	return store.OutboxResult{Status: store.OutboxSent, Detail: "written back"}, nil
}

// permanent reports errors no retry fixes (the connectors mark them).
func permanent(err error) bool { return errors.Is(err, source.ErrPermanent) }

// overCap reserves the credits of message m (parts) under the tenant's
// monthly credit cap, or reports that the cap holds it, with the reason. A
// message that holds a reservation from an earlier attempt keeps it.
func (h *Handler) overCap(ctx context.Context, t store.Tenant, m messages.Outbox, lease *store.OutboxLease, parts int) (bool, string, error) {
	if t.MonthlyCreditCap == nil || lease.Reserved > 0 || m.SMS.Purpose == consent.PurposeOptOutConfirmation || m.SMS.Purpose == consent.PurposeHelp {
		return false, "", nil
	}
	month, limit := store.UsageMonth(h.d.Now()), *t.MonthlyCreditCap
	ok, err := h.d.Store.ReserveCredits(ctx, m.TenantID, m.Ref, month, parts, limit)
	if err != nil {
		return false, "", err
	}
	if !ok {
		return true, fmt.Sprintf("monthly credit cap %d: this message needs %d more", limit, parts), nil
	}
	lease.Reserved, lease.ReservedMonth = parts, month
	return false, "", nil
}
