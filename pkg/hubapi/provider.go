package hubapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// SMSProvider is the body of PUT /v1/sms-provider (credentials write-only).
type SMSProvider = sms.Settings

func (h *Handler) putSMSProvider(ctx context.Context, c call) apigw.Response {
	var in SMSProvider
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	bad := map[string]string{}
	spec, ok := h.d.SMSProviders.Lookup(in.Provider)
	if !ok {
		bad["provider"] = "must be one of " + h.d.SMSProviders.Names()
	}
	if strings.TrimSpace(in.Sender) == "" {
		bad["sender"] = "required"
	}
	if strings.TrimSpace(in.CompanyName) == "" {
		bad["companyName"] = "required"
	}
	if ok {
		// The host the outbox will send through: the provider's own, over https.
		if err := spec.CheckBase(in.APIBaseURL, h.d.AllowPrivateHosts); err != nil {
			bad["apiBaseUrl"] = err.Error()
		}
		for k, msg := range spec.CheckCredentials(in.Credentials) {
			bad["credentials."+k] = msg
		}
	}
	maps.Copy(bad, providerBounds(in))
	if len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	// Providers that do not sign callbacks authenticate them by a token in
	// the inbound URL (spec.URLToken: Sinch without an HMAC secret,
	// MessageMedia without a public key).
	in.InboundURL = h.d.PublicBaseURL + "/sms/inbound/" + string(in.Provider) + "/" + c.tenant
	if spec.URLToken != nil && spec.URLToken(in.Credentials) {
		if in.Credentials == nil {
			in.Credentials = map[string]string{}
		}
		in.Credentials["webhookToken"] = randomToken()
		in.InboundURL += "?token=" + in.Credentials["webhookToken"]
	}
	inbound, errResp := h.setUpSMSProvider(ctx, in)
	if errResp != nil {
		return *errResp
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return h.internal(ctx, "encoding provider", err)
	}
	if err := h.d.Store.SetSMSProvider(ctx, c.tenant, h.d.Sealer.Seal(c.tenant, raw)); err != nil {
		return h.storeError(ctx, "tenant", "storing provider", err)
	}
	return apigw.JSON(http.StatusOK, providerOut{Provider: string(in.Provider), Sender: in.Sender, CompanyName: in.CompanyName,
		InboundURL: in.InboundURL, Inbound: inbound})
}

// providerOut is PUT /v1/sms-provider's answer.
type providerOut struct {
	Provider    string           `json:"provider"`
	Sender      string           `json:"sender"`
	CompanyName string           `json:"companyName"`
	InboundURL  string           `json:"inboundUrl"`
	Inbound     sms.InboundSetup `json:"inbound"`
}

// SMSSetupTimeout bounds the provider calls of PUT /v1/sms-provider (the
// credential check and the inbound set-up), cut to the request's deadline
// (deadline.go).
const SMSSetupTimeout = 20 * time.Second

// setUpSMSProvider checks the settings' credentials with the provider and
// points the sender's inbound messages at in.InboundURL where the
// provider's API allows (Deps.SMSSetup). A refusal is 422
// credentials_rejected with the provider's reason, a provider that could
// not tell is 502 provider_unreachable; nothing is stored then. Without
// Deps.SMSSetup (tests of the API alone) nothing is called and the answer
// is the manual step.
func (h *Handler) setUpSMSProvider(ctx context.Context, in SMSProvider) (sms.InboundSetup, *apigw.Response) {
	if h.d.SMSSetup == nil {
		return sms.InboundSetup{ManualStep: "Point the sender's inbound messages at " + in.InboundURL + " (HTTP POST) in the provider's console."}, nil
	}
	sctx, cancel := stepContext(ctx, SMSSetupTimeout, StoreReserve)
	defer cancel()
	inbound, err := h.d.SMSSetup(sctx, in)
	if err == nil {
		return inbound, nil
	}
	var rej *source.CredentialsRejectedError
	if errors.As(err, &rej) {
		resp := errorWithReason(http.StatusUnprocessableEntity, "credentials_rejected",
			"the SMS provider refused these credentials; nothing was stored", rej.Reason)
		return sms.InboundSetup{}, &resp
	}
	h.d.Log.WarnContext(ctx, "sms provider check failed", "provider", string(in.Provider), "err", err)
	resp := errorWithReason(http.StatusBadGateway, "provider_unreachable",
		"the SMS provider could not check these credentials; nothing was stored", platformReason(sctx, err))
	return sms.InboundSetup{}, &resp
}

// OpenSMSProvider returns a tenant's SMS provider settings, or ErrNotFound.
func OpenSMSProvider(s interface {
	Open(string, []byte) ([]byte, error)
}, t store.Tenant) (SMSProvider, error) {
	if len(t.SMSProvider) == 0 {
		return SMSProvider{}, store.ErrNotFound
	}
	raw, err := s.Open(t.ID, t.SMSProvider)
	if err != nil {
		return SMSProvider{}, err
	}
	var p SMSProvider
	return p, json.Unmarshal(raw, &p)
}
