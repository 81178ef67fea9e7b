package hubapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/sms"
)

// providerSettingsOut is GET /v1/sms-provider: the tenant's settings as
// PUT /v1/sms-provider stored them, without a secret. Credentials are
// named, never shown; the inbound URL's token (Sinch without a signing
// secret, MessageMedia without a signing key) is left out of the URL and
// only said to be there: the full URL is in the answer of the PUT that
// made it.
type providerSettingsOut struct {
	Provider    string `json:"provider"`
	Sender      string `json:"sender"`
	CompanyName string `json:"companyName"`
	HelpText    string `json:"helpText,omitempty"`
	APIBaseURL  string `json:"apiBaseUrl,omitempty"`
	// CredentialsSet names the credential fields that hold a value, sorted.
	CredentialsSet []string `json:"credentialsSet"`
	// Templates are the tenant's own texts as given (empty: the default).
	Templates       sms.Templates `json:"templates"`
	InboundURL      string        `json:"inboundUrl"`
	InboundURLToken bool          `json:"inboundUrlToken"`
}

// generatedCredentials are credential entries the API makes itself rather
// than takes from the tenant (provider.go): not the tenant's to see listed.
var generatedCredentials = map[string]bool{"webhookToken": true}

// getSMSProvider shows the tenant's SMS provider settings (the console's
// Messaging page), or 404 not_found before any set-up.
func (h *Handler) getSMSProvider(ctx context.Context, c call) apigw.Response {
	t, err := h.d.Store.GetTenant(ctx, c.tenant)
	if err != nil {
		return h.storeError(ctx, "tenant", "reading tenant", err)
	}
	s, err := OpenSMSProvider(h.d.Sealer, t)
	if err != nil {
		return h.storeError(ctx, "sms provider", "opening sms provider settings", err)
	}
	out := providerSettingsOut{Provider: string(s.Provider), Sender: s.Sender, CompanyName: s.CompanyName, HelpText: s.HelpText,
		APIBaseURL: s.APIBaseURL, CredentialsSet: []string{}, Templates: s.Templates}
	for k, v := range s.Credentials {
		if v != "" && !generatedCredentials[k] {
			out.CredentialsSet = append(out.CredentialsSet, k)
		}
	}
	slices.Sort(out.CredentialsSet)
	out.InboundURL, out.InboundURLToken = withoutToken(s.InboundURL)
	return apigw.JSON(http.StatusOK, out)
}

// withoutToken returns the inbound URL without its query (where the token
// is), and whether it had a token.
func withoutToken(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", raw != ""
	}
	token := u.Query().Get("token") != ""
	u.RawQuery, u.ForceQuery = "", false
	return u.String(), token
}
