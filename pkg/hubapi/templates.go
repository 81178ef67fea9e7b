package hubapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/sms"
)

// templateOut is one message the tenant sends, as the consumer would
// receive it now and as it is billed.
type templateOut struct {
	// Text is the message with the company name and help text filled in
	// (with "{company}" left in while no SMS provider is set up).
	Text string `json:"text"`
	// Custom is true when the tenant's own template is used.
	Custom   bool   `json:"custom"`
	Encoding string `json:"encoding"`
	// Credits is what one message costs (sms.Credits: the parts billed).
	Credits int `json:"credits"`
}

// templatesOut is GET /v1/sms-provider/templates.
type templatesOut struct {
	// Configured is false while the tenant has no SMS provider settings:
	// the texts are the default ones, and nothing can be sent yet.
	Configured  bool                   `json:"configured"`
	CompanyName string                 `json:"companyName"`
	Templates   map[string]templateOut `json:"templates"`
}

// getTemplates is what the tenant's messages say and cost (the install
// wizard's consent options): its templates from PUT /v1/sms-provider
// rendered as the outbox renders them, each billed by sms.Credits as the
// dry run prices it (outbox.Prices). Credentials are never part of it.
func (h *Handler) getTemplates(ctx context.Context, c call) apigw.Response {
	t, err := h.d.Store.GetTenant(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "reading tenant", err)
	}
	out := templatesOut{Templates: map[string]templateOut{}}
	settings := SMSProvider{CompanyName: "{company}"}
	if len(t.SMSProvider) > 0 {
		s, err := OpenSMSProvider(h.d.Sealer, t)
		if err != nil {
			return h.internal(ctx, "opening sms provider settings", err)
		}
		settings, out.Configured, out.CompanyName = s, true, s.CompanyName
	}
	own := map[sms.Purpose]string{
		sms.PurposeConfirmation:        settings.Templates.Confirmation,
		sms.PurposeDoubleOptInRequest:  settings.Templates.DoubleOptInRequest,
		sms.PurposeDoubleOptInReminder: settings.Templates.DoubleOptInReminder,
		sms.PurposeOptOutConfirmation:  settings.Templates.OptOutConfirmation,
		sms.PurposeHelp:                settings.Templates.Help,
	}
	for p, tpl := range own {
		text, err := settings.Templates.Render(p, settings.CompanyName, settings.HelpText)
		if err != nil {
			return h.internal(ctx, "rendering template", err)
		}
		enc, parts := sms.Credits(text)
		out.Templates[string(p)] = templateOut{Text: text, Custom: strings.TrimSpace(tpl) != "", Encoding: enc, Credits: parts}
	}
	return apigw.JSON(http.StatusOK, out)
}
