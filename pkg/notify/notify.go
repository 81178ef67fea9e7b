package notify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

// Event types.
const (
	ConnectionActivated            = "connection.activated"
	SyncCompleted                  = "sync.completed"
	SyncFailed                     = "sync.failed"
	ConnectionNeedsReauthorization = "connection.needs_reauthorization"
	ConnectionWebhooksFailing      = "connection.webhooks_failing"
	ContactUnsubscribed            = "contact.unsubscribed"
)

// Event is one thing to tell the hub.
type Event struct {
	Type string
	// At is when it happened (the body's timestamp, and the id's time).
	At time.Time
	// Key makes the id deterministic: the same type, time and key give the
	// same id, so an event made twice is stored and sent once ("" : a
	// random id).
	Key  string
	Data any
}

// ID returns the event's webhook-id: "msg_", the time in milliseconds (13
// digits, so ids sort by time) and 16 hex characters.
func (e Event) ID() string {
	var tail string
	if e.Key == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		tail = hex.EncodeToString(b)
	} else {
		sum := sha256.Sum256([]byte(e.Type + "|" + e.Key))
		tail = hex.EncodeToString(sum[:8])
	}
	return fmt.Sprintf("msg_%013d%s", e.At.UnixMilli(), tail)
}

// Body is the JSON the hub receives.
func (e Event) Body() ([]byte, error) {
	return json.Marshal(struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      any    `json:"data"`
	}{e.Type, e.At.UTC().Format(time.RFC3339Nano), e.Data})
}

// Notification is the stored event of e for tenant (store.PutNotification).
func (e Event) Notification(tenant string) (store.Notification, error) {
	body, err := e.Body()
	if err != nil {
		return store.Notification{}, err
	}
	return store.Notification{TenantID: tenant, ID: e.ID(), Type: e.Type, Body: body, CreatedAt: e.At}, nil
}

// ConnectionData is the data of the connection.* events.
type ConnectionData struct {
	ConnectionID string `json:"connectionId"`
	Platform     string `json:"platform"`
	Label        string `json:"label,omitempty"`
	// SyncID is the install run (connection.activated).
	SyncID string `json:"syncId,omitempty"`
	// Reason says why (needs_reauthorization, webhooks_failing).
	Reason string `json:"reason,omitempty"`
}

// Activated is connection.activated: conn's install run started.
func Activated(conn store.Connection, run store.Run) Event {
	return Event{Type: ConnectionActivated, At: run.StartedAt, Key: run.ID,
		Data: ConnectionData{ConnectionID: conn.ID, Platform: conn.Platform, Label: conn.Label, SyncID: run.ID}}
}

// NeedsReauthorization is connection.needs_reauthorization (the token
// refresh failed: the hub user must authorise again).
func NeedsReauthorization(conn store.Connection, reason string, at time.Time) Event {
	return Event{Type: ConnectionNeedsReauthorization, At: at, Key: conn.ID + "|" + at.UTC().Format(time.RFC3339Nano),
		Data: ConnectionData{ConnectionID: conn.ID, Platform: conn.Platform, Label: conn.Label, Reason: reason}}
}

// WebhooksFailing is connection.webhooks_failing (the daily check could not
// repair the connection's platform webhooks).
func WebhooksFailing(conn store.Connection, reason string, at time.Time) Event {
	return Event{Type: ConnectionWebhooksFailing, At: at, Key: conn.ID + "|" + at.UTC().Format(time.RFC3339Nano),
		Data: ConnectionData{ConnectionID: conn.ID, Platform: conn.Platform, Label: conn.Label, Reason: reason}}
}

// SyncData is the data of sync.completed and sync.failed: the run as GET
// /v1/syncs/{id} shows it.
type SyncData struct {
	SyncID       string       `json:"syncId"`
	ConnectionID string       `json:"connectionId"`
	Trigger      string       `json:"trigger"`
	Incremental  bool         `json:"incremental"`
	Counts       store.Counts `json:"counts"`
	StartedAt    time.Time    `json:"startedAt"`
	FinishedAt   time.Time    `json:"finishedAt"`
	Reason       string       `json:"reason,omitempty"`
	// DryRun: the run only reported what it would do (its counts say how
	// many messages and credits a real one would spend).
	DryRun bool `json:"dryRun,omitempty"`
}

// RunFinished is sync.completed or sync.failed for a finished run (ok
// false: the run is not finished).
func RunFinished(run store.Run) (Event, bool) {
	typ := SyncCompleted
	switch run.Status {
	case store.RunCompleted:
	case store.RunFailed:
		typ = SyncFailed
	default:
		return Event{}, false
	}
	return Event{Type: typ, At: run.FinishedAt, Key: run.ID, Data: SyncData{
		SyncID: run.ID, ConnectionID: run.ConnectionID, Trigger: run.Trigger, Incremental: run.Incremental,
		Counts: run.Counts, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Reason: run.Error, DryRun: run.DryRun,
	}}, true
}

// Unsubscribe sources (contact.unsubscribed's data.source).
const (
	SourceSMSStop = "sms_stop"
	SourceHub     = "hub"
)

// UnsubscribedData is contact.unsubscribed's data.
type UnsubscribedData struct {
	ContactID string    `json:"contactId,omitempty"`
	Phone     string    `json:"phone"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
}

// Unsubscribed is contact.unsubscribed; key names what caused it (the
// reply's message id, the API request's id).
func Unsubscribed(contactID, e164, source, key string, at time.Time) Event {
	return Event{Type: ContactUnsubscribed, At: at, Key: source + "|" + e164 + "|" + key,
		Data: UnsubscribedData{ContactID: contactID, Phone: e164, Source: source, At: at}}
}
