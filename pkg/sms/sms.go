// Package sms holds what every SMS provider package shares: the inbound
// message and outbound message values, send errors, and the message
// templates (issue 6: confirmation, double opt-in request, opt-out
// confirmation, help), configurable per tenant.
//
// Provider packages (pkg/sms/twilio, ...) verify and parse their inbound
// webhooks into Inbound and send Message over their real HTTP APIs; each
// exports its Spec (spec.go: credentials, hosts, inbound, sender, set-up),
// is one line of smsproviders.All, and has a fake server
// (pkg/sms/<provider>/<provider>test).
package sms

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Provider names an SMS provider (the {provider} of /sms/inbound/{provider}/{tenantId}).
type Provider string

// Providers.
const (
	Twilio       Provider = "twilio"
	MessageMedia Provider = "messagemedia"
	Sinch        Provider = "sinch"
)

// Inbound is a reply a provider posted to us.
type Inbound struct {
	Provider   Provider
	MessageID  string // the provider's id: dedup key
	From, To   string // E.164 with '+'
	Text       string
	ReceivedAt time.Time // zero when the provider gives none
}

// Purpose says why a message is sent.
type Purpose string

// Purposes (the values of consent.Purpose).
const (
	PurposeConfirmation       Purpose = "confirmation"
	PurposeDoubleOptInRequest Purpose = "double_opt_in_request"
	PurposeOptOutConfirmation Purpose = "opt_out_confirmation"
	PurposeHelp               Purpose = "help"
	// PurposeDoubleOptInReminder: the one reminder of an unanswered double
	// opt-in request.
	PurposeDoubleOptInReminder Purpose = "double_opt_in_reminder"
)

// Message is one outbound SMS.
type Message struct {
	To, From string
	Text     string
	Purpose  Purpose
	// Reference is our idempotency key for the message; providers that carry
	// a client reference get it (Sinch client_reference, MessageMedia
	// metadata), so a send after a crash can be recognised.
	Reference string
}

// SendResult is what a provider returned for an accepted message.
type SendResult struct {
	ProviderMessageID string
}

// Errors callers branch on.
var (
	ErrInvalidSignature = errors.New("sms: invalid signature")
	ErrMalformed        = errors.New("sms: malformed inbound message")
	ErrUnsupported      = errors.New("sms: unsupported inbound message type")
)

// Templates are a tenant's message texts; "{company}" and "{help}" are
// replaced when rendering.
type Templates struct {
	Confirmation        string `json:"confirmation,omitempty"`
	DoubleOptInRequest  string `json:"doubleOptInRequest,omitempty"`
	OptOutConfirmation  string `json:"optOutConfirmation,omitempty"`
	Help                string `json:"help,omitempty"`
	DoubleOptInReminder string `json:"doubleOptInReminder,omitempty"`
}

// DefaultTemplates are the texts of issue 6, each within one SMS segment.
func DefaultTemplates() Templates {
	return Templates{
		Confirmation:        "You are subscribed to receive messages from {company}. Reply STOP to cancel.",
		DoubleOptInRequest:  "Reply Y or YES to confirm that you want to receive SMS messages from {company}.",
		OptOutConfirmation:  "You have been unsubscribed from {company} messages. No more messages will be sent.",
		Help:                "{company}: {help} Reply STOP to unsubscribe.",
		DoubleOptInReminder: "Reminder: reply Y or YES to confirm that you want to receive SMS messages from {company}.",
	}
}

// Render returns the text for purpose, with defaults for empty templates.
func (t Templates) Render(p Purpose, company, help string) (string, error) {
	d := DefaultTemplates()
	pick := func(own, def string) string {
		if strings.TrimSpace(own) != "" {
			return own
		}
		return def
	}
	var tpl string
	switch p {
	case PurposeConfirmation:
		tpl = pick(t.Confirmation, d.Confirmation)
	case PurposeDoubleOptInRequest:
		tpl = pick(t.DoubleOptInRequest, d.DoubleOptInRequest)
	case PurposeOptOutConfirmation:
		tpl = pick(t.OptOutConfirmation, d.OptOutConfirmation)
	case PurposeHelp:
		tpl = pick(t.Help, d.Help)
	case PurposeDoubleOptInReminder:
		tpl = pick(t.DoubleOptInReminder, d.DoubleOptInReminder)
	default:
		return "", fmt.Errorf("sms: no template for purpose %q", p)
	}
	help = cmp.Or(help, "Msg&data rates may apply.")
	return strings.TrimSpace(strings.NewReplacer("{company}", company, "{help}", help).Replace(tpl)), nil
}

// Settings are a tenant's SMS provider settings (PUT /v1/sms-provider).
// Credentials are secrets: stored sealed, never returned.
type Settings struct {
	Provider    Provider          `json:"provider"`
	Sender      string            `json:"sender"`
	CompanyName string            `json:"companyName"`
	HelpText    string            `json:"helpText,omitempty"`
	APIBaseURL  string            `json:"apiBaseUrl,omitempty"`
	Credentials map[string]string `json:"credentials"`
	Templates   Templates         `json:"templates,omitzero"`
	// InboundURL is our inbound URL for the tenant (with its token where
	// the provider does not sign), set by the API when the settings are
	// stored, never taken from a request: MessageMedia sends carry it as
	// callback_url.
	InboundURL string `json:"inboundUrl,omitempty"`
}

// InboundSetup says how a provider's inbound messages reach our inbound
// URL (the "inbound" of PUT /v1/sms-provider's answer): Configured when we
// pointed them there through the provider's API, How says how; otherwise
// ManualStep is what the hub user does, and Reason why we could not.
type InboundSetup struct {
	Configured bool   `json:"configured"`
	How        string `json:"how,omitempty"`
	ManualStep string `json:"manualStep,omitempty"`
	Reason     string `json:"reason,omitempty"`
}
