package consent

// compact drops from Queued what no future event can ask for again, so a
// number that toggles STOP/START forever keeps a ledger of bounded size (a
// DynamoDB item holds at most 400 KB; past it even a STOP could not be
// written).
//
// What wasQueued must still answer (sameSlot):
//   - confirmations and double opt-in requests: one entry per (connection,
//     purpose), never more (messageDue checks wasQueued before adding), so
//     they are bounded by the number's connections and all kept;
//   - opt-out confirmations: one per opt-out, keyed by its time. One becomes
//     due only for a hub-side opt-out that record stored as the newest, so
//     its time is at least the OptOutAt held before it, and OptOutAt never
//     moves back (record and union keep the newest). A confirmation older
//     than the current OptOutAt can therefore never be asked for again;
//     only those at OptOutAt (at most one) are kept.
//
// compact replaces the slice (never writes in place): copies of the ledger
// stay intact.
func (l *Ledger) compact() {
	stale := 0
	for _, q := range l.Queued {
		if l.spent(q) {
			stale++
		}
	}
	if stale == 0 {
		return
	}
	kept := make([]Message, 0, len(l.Queued)-stale)
	for _, q := range l.Queued {
		if !l.spent(q) {
			kept = append(kept, q)
		}
	}
	l.Queued = kept
}

// spent reports whether no future event can make q's slot due again.
func (l *Ledger) spent(q Message) bool {
	return q.Purpose == PurposeOptOutConfirmation && q.At.Before(l.OptOutAt)
}
