package messages

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/store"
)

// Outbox message kinds.
const (
	KindSMS       = "sms"       // an SMS to send
	KindWriteBack = "writeback" // an opt-out to write back to a source platform
	// KindNotify is a notification to the hub (pkg/notify): one delivery
	// attempt per message, retried through the marker's index time.
	KindNotify = "notify"
)

// Outbox is one outbox-queue message.
type Outbox struct {
	Kind     string `json:"kind"`
	TenantID string `json:"tenantId"`
	// Ref is the idempotency reference (the outbox marker's key).
	Ref string `json:"ref"`
	// SMS is the due message (KindSMS).
	SMS consent.Message `json:"message,omitzero"`
	// WriteBack names the source record and number (KindWriteBack).
	WriteBack *WriteBack `json:"writeBack,omitempty"`
	// Notification is, when the message is made (NotifyMessage), the
	// notification's log item, written with the marker (Entry); the queue
	// message carries only the reference.
	Notification *store.Notification `json:"-"`
}

// WriteBack is an opt-out to write back to one source record.
type WriteBack struct {
	ConnectionID string    `json:"connectionId"`
	ExternalID   string    `json:"externalId"`
	Phone        string    `json:"phone"`
	OptOutAt     time.Time `json:"optOutAt"`
}

// SMS returns the message that sends m.
func SMS(tenant string, m consent.Message) Outbox {
	return Outbox{Kind: KindSMS, TenantID: tenant, Ref: store.OutboxRef(m), SMS: m}
}

// WriteBackMessage returns the message that writes an opt-out back to a
// source record (one per record and opt-out).
func WriteBackMessage(tenant string, t store.WriteBack, phone string, at time.Time) Outbox {
	sum := sha256.Sum256([]byte("wb|" + t.ConnectionID + "|" + t.ExternalID + "|" + phone + "|" + at.UTC().Format(time.RFC3339Nano)))
	return Outbox{Kind: KindWriteBack, TenantID: tenant, Ref: hex.EncodeToString(sum[:16]),
		WriteBack: &WriteBack{ConnectionID: t.ConnectionID, ExternalID: t.ExternalID, Phone: phone, OptOutAt: at}}
}

// SyncWriteBackMessage returns the message that writes an opt-out (in
// force since at) back to a source record during sync run runID: one per
// record, number and run, so a run writes a record back at most once and
// the next run may try again.
func SyncWriteBackMessage(tenant string, t store.WriteBack, phone, runID string, at time.Time) Outbox {
	sum := sha256.Sum256([]byte("wb|" + t.ConnectionID + "|" + t.ExternalID + "|" + phone + "|run|" + runID))
	return Outbox{Kind: KindWriteBack, TenantID: tenant, Ref: hex.EncodeToString(sum[:16]),
		WriteBack: &WriteBack{ConnectionID: t.ConnectionID, ExternalID: t.ExternalID, Phone: phone, OptOutAt: at}}
}

// RecordWriteBackMessage returns the message that writes an opt-out (in
// force since at) back to a source record that a live webhook showed
// subscribed with statement (the record's own consent and update times):
// one per record, number, opt-out and statement, so a redelivered or
// replayed webhook writes nothing twice, and a later flip back to
// subscribed is written back again.
func RecordWriteBackMessage(tenant string, t store.WriteBack, phone string, at time.Time, statement string) Outbox {
	sum := sha256.Sum256([]byte("wb|" + t.ConnectionID + "|" + t.ExternalID + "|" + phone + "|" + at.UTC().Format(time.RFC3339Nano) + "|record|" + statement))
	return Outbox{Kind: KindWriteBack, TenantID: tenant, Ref: hex.EncodeToString(sum[:16]),
		WriteBack: &WriteBack{ConnectionID: t.ConnectionID, ExternalID: t.ExternalID, Phone: phone, OptOutAt: at}}
}

// NotifyMessage is the outbox message delivering notification n; its
// Entry carries n's log item, to be written with the marker.
func NotifyMessage(n store.Notification) Outbox {
	return Outbox{Kind: KindNotify, TenantID: n.TenantID, Ref: n.ID, Notification: &n}
}

// SMSMessages converts due messages.
func SMSMessages(tenant string, due []consent.Message) []any {
	out := make([]any, len(due))
	for i, m := range due {
		out[i] = SMS(tenant, m)
	}
	return out
}

// MessageGroup is the message's SQS message group: its tenant (a fair
// queue, like the pages queue's).
func (m Outbox) MessageGroup() string { return m.TenantID }

// Entry is m as its outbox marker keeps it.
func (m Outbox) Entry() store.OutboxEntry {
	if m.Kind == KindNotify {
		if m.Notification != nil {
			return store.NotifyEntry(*m.Notification)
		}
		return store.OutboxEntry{TenantID: m.TenantID, Ref: m.Ref, Kind: store.OutboxKindNotify}
	}
	if m.Kind == KindWriteBack && m.WriteBack != nil {
		wb := m.WriteBack
		return store.OutboxEntry{TenantID: m.TenantID, Ref: m.Ref, Kind: store.OutboxKindWriteBack, Phone: wb.Phone,
			ConnectionID: wb.ConnectionID, ExternalID: wb.ExternalID, At: wb.OptOutAt}
	}
	e := store.SMSEntry(m.TenantID, m.SMS)
	e.Ref = m.Ref
	return e
}

// FromEntry is the message of an outbox marker (the sweeper enqueues it
// again).
func FromEntry(e store.OutboxEntry) Outbox {
	if e.Kind == store.OutboxKindNotify {
		return Outbox{Kind: KindNotify, TenantID: e.TenantID, Ref: e.Ref}
	}
	if e.Kind == store.OutboxKindWriteBack {
		return Outbox{Kind: KindWriteBack, TenantID: e.TenantID, Ref: e.Ref,
			WriteBack: &WriteBack{ConnectionID: e.ConnectionID, ExternalID: e.ExternalID, Phone: e.Phone, OptOutAt: e.At}}
	}
	return Outbox{Kind: KindSMS, TenantID: e.TenantID, Ref: e.Ref, SMS: e.SMS()}
}

// Entries returns the marker entries of messages.
func Entries(msgs []Outbox) []store.OutboxEntry {
	out := make([]store.OutboxEntry, len(msgs))
	for i, m := range msgs {
		out[i] = m.Entry()
	}
	return out
}

// Values returns msgs as the ...any a queue sender takes.
func Values(msgs []Outbox) []any {
	out := make([]any, len(msgs))
	for i, m := range msgs {
		out[i] = m
	}
	return out
}
