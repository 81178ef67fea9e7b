package consent

import "github.com/contactsync/contactsync/pkg/source"

// WriteBackDue reports whether the number's opt-out must be written back to
// a source record that shows it as shown (the record's own consent signal):
// the number is unsubscribed — its newest opt-out stands, no newer explicit
// opt-in lifted it (a START or YES reply, a hub resubscribe, a source's
// dated opt-in ordered after it, see State) — and the record still says
// subscribed.
//
// l is the ledger with the record's own signal already applied: a record
// whose dated opt-in is newer than the opt-out lifts it, and is then never
// overwritten; one without a date, or dated before the opt-out (or dated
// in the future but received before it), does not lift it and is
// corrected. A record that says nothing (SignalNone), "never asked" or
// "unsubscribed" needs no write-back.
func (l Ledger) WriteBackDue(shown source.SignalState) bool {
	return shown == source.SignalSubscribed && l.state() == Unsubscribed
}
