package inbound_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/store"
)

// A request that is not a POST answers the same for a tenant with that
// provider, a tenant with another provider and an unknown tenant.
func TestInbound_NonPostAnswersAlikeForKnownAndUnknownTenants(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme",
		Credentials: map[string]string{"accountSid": "AC1", "authToken": "tok"}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	h := inbound.New(inbound.Deps{Store: st, Opener: sealer})
	paths := map[string]string{
		"known":          "/sms/inbound/twilio/" + tenant.ID,
		"other provider": "/sms/inbound/sinch/" + tenant.ID,
		"unknown tenant": "/sms/inbound/twilio/t_00000000000000000000",
		"no provider":    "/sms/inbound/nosuch/" + tenant.ID,
	}
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		got := map[string]apigw.Response{}
		for name, path := range paths {
			resp, err := h.Handle(ctx, apigw.Request{RawPath: path,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}})
			if err != nil {
				t.Fatal(err)
			}
			got[name] = resp
		}
		for name, resp := range got {
			if resp.StatusCode != got["known"].StatusCode || resp.Body != got["known"].Body {
				t.Errorf("%s %s: %d %s; known tenant: %d %s", method, name, resp.StatusCode, resp.Body, got["known"].StatusCode, got["known"].Body)
			}
		}
	}
}
