package consent

// State is the SMS consent state of a phone number. The values are the
// strings the Hub API shows as a contact's status.
type State string

// Consent states (design.md §4).
const (
	Subscribed    State = "subscribed"
	NotSubscribed State = "not_subscribed"
	Unsubscribed  State = "unsubscribed" // opted out
	Pending       State = "pending"      // double opt-in request sent, no YES yet
)

// rank orders the non-opted-out states by how much they permit.
func (s State) rank() int {
	switch s {
	case Subscribed:
		return 3
	case Pending:
		return 2
	case NotSubscribed:
		return 1
	}
	return 0
}

// Mode is a connection's consent mode (design.md §4 table).
type Mode string

// Consent modes.
const (
	// Explicit: only a source "subscribed" subscribes; never asked stays
	// not_subscribed; no message.
	Explicit Mode = "explicit"
	// Inferred: never asked counts as subscribed (the contact has a phone);
	// no message.
	Inferred Mode = "inferred"
	// Confirmation: like Inferred, plus one "subscribed, reply STOP to
	// cancel" message per number per connection.
	Confirmation Mode = "confirmation"
	// DoubleOptIn: subscribed and never asked are pending until the number
	// replies YES; one "reply Y or YES to confirm" message per number per
	// connection.
	DoubleOptIn Mode = "double_opt_in"
)

// Valid reports whether m is one of the four modes.
func (m Mode) Valid() bool {
	switch m {
	case Explicit, Inferred, Confirmation, DoubleOptIn:
		return true
	}
	return false
}

// Purpose names why an outbound message is due.
type Purpose string

// Message purposes.
const (
	PurposeConfirmation       Purpose = "confirmation"          // confirmation mode: "subscribed, reply STOP to cancel"
	PurposeDoubleOptInRequest Purpose = "double_opt_in_request" // double opt-in: "reply Y or YES to confirm"
	PurposeOptOutConfirmation Purpose = "opt_out_confirmation"  // the single text confirming an opt-out
	PurposeHelp               Purpose = "help"                  // the HELP/INFO answer (sent by the inbound handler)
)
