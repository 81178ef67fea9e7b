package consent

import (
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// EventKind names what happened to a number's consent.
type EventKind string

// Event kinds.
const (
	// EventSourceSignal: a source connection said something about consent.
	EventSourceSignal EventKind = "source_signal"
	// EventHubOptOut: a STOP-family reply, or an unsubscribe in the hub.
	EventHubOptOut EventKind = "hub_opt_out"
	// EventHubOptIn: a START/UNSTOP (or YES) reply, or a resubscribe in
	// the hub.
	EventHubOptIn EventKind = "hub_opt_in"
	// EventDoubleOptInYes: a YES (or Y) reply to a double opt-in request.
	EventDoubleOptInYes EventKind = "double_opt_in_yes"
	// EventContactMerge: two contacts met and the most restrictive consent
	// won (only in Changes, from Combine, which only the tests keep).
	EventContactMerge EventKind = "contact_merge"
)

// Event is one input to a Ledger. Build it with SignalEvent, OptOutEvent,
// OptInEvent or YesEvent.
//
// Store: an Event is carried inside a merge mutation and need not be
// persisted; the ledger and the Change are what is kept.
type Event struct {
	Kind EventKind
	// At is when the event happened at the hub: the reply's receipt time,
	// the hub action's time, or when a source signal was received. Hub
	// events with a zero At are ignored.
	At time.Time
	// ConnectionID, Mode and Signal describe a source signal.
	ConnectionID string
	Mode         Mode
	Signal       source.ConsentSignal
	Evidence     Evidence
	// By says who made a hub-side opt-out ("" is the person, ByConsumer);
	// HubUnsubscribeEvent sets ByHubUser.
	By Origin
}

// SignalEvent is a source connection's consent signal received at
// receivedAt. A signal with State source.SignalNone changes nothing.
func SignalEvent(connectionID string, mode Mode, sig source.ConsentSignal, receivedAt time.Time, ev Evidence) Event {
	return Event{Kind: EventSourceSignal, At: receivedAt, ConnectionID: connectionID, Mode: mode, Signal: sig, Evidence: ev}
}

// OptOutEvent is a hub-side opt-out at time at made by the person: a
// STOP-family reply (or an opt-out carried over for them). A hub user's
// unsubscribe is HubUnsubscribeEvent.
func OptOutEvent(at time.Time, ev Evidence) Event {
	return Event{Kind: EventHubOptOut, At: at, Evidence: ev}
}

// OptInEvent is a hub-side opt-in at time at: a START/UNSTOP/YES reply or a
// resubscribe in the hub.
func OptInEvent(at time.Time, ev Evidence) Event {
	return Event{Kind: EventHubOptIn, At: at, Evidence: ev}
}

// YesEvent is a YES reply to a pending double opt-in request at time at.
func YesEvent(at time.Time, ev Evidence) Event {
	return Event{Kind: EventDoubleOptInYes, At: at, Evidence: ev}
}

// Change describes what Apply did. The zero Change means the ledger did not
// change (nothing to write).
//
// Store: when !IsZero, write the new ledger; when StateChanged, also write
// one consent-history item (From, To, Kind, At, ConnectionID, SourceAt,
// Evidence; one-year TTL); queue MessagesDue idempotently.
type Change struct {
	From, To     State
	Kind         EventKind
	At           time.Time // the event's hub time
	ConnectionID string    // source signals
	SourceAt     time.Time // the source's own consent timestamp (source signals)
	Evidence     Evidence
	// MessagesDue lists the messages this event made due (already recorded
	// in the returned ledger's Queued).
	MessagesDue []Message
}

// IsZero reports whether the change is empty (the ledger did not change).
func (c Change) IsZero() bool { return c.Kind == "" }

// StateChanged reports whether the number's state changed.
func (c Change) StateChanged() bool { return c.From != c.To }
