package inbound_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/store"
)

// The derived Sinch vector (the SDK's MO fixture signed with
// sinch_heldout_secret, ../../../shared/fixtures/sinch/hmac-vectors.md) is
// accepted by the handler whose clock is at its timestamp, and refused
// (401, nothing recorded) by one whose clock is past the replay window: a
// captured signed STOP/START used to replay forever.
func TestSinch_SignedCallbackOutsideTheReplayWindowIsRefused(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Sinch, Sender: "+61400000000", CompanyName: "Acme",
		Credentials: map[string]string{"servicePlanId": "plan", "apiToken": "tok", "webhookSecret": "sinch_heldout_secret"}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../sms/sinch/testdata/sms-inbound-mo-text.sdk.json")
	if err != nil {
		t.Fatal(err)
	}
	const ts = 1736760161
	path := "/sms/inbound/sinch/" + tenant.ID
	req := apigw.Request{RawPath: path, Body: string(body),
		Headers: map[string]string{"content-type": "application/json", sinch.HeaderNonce: "01JHFFHWYY7HSS4FWTMDTQEK8V", sinch.HeaderTimestamp: "1736760161",
			"x-sinch-webhook-signature-algorithm": "HmacSHA256", sinch.HeaderSignature: "ZnYsG2C61AHpQ8jkfSDjpzEGiQrdspc/yRsyBiBp1HM="},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}}}
	handle := func(now time.Time) int {
		t.Helper()
		h := inbound.New(inbound.Deps{Store: st, Opener: sealer, Now: func() time.Time { return now }})
		resp, err := h.Handle(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	at := time.Unix(ts, 0)
	if code := handle(at.Add(sinch.ReplayWindow + time.Second)); code != http.StatusUnauthorized {
		t.Fatalf("replayed past the window: %d, want 401", code)
	}
	if code := handle(at.Add(-sinch.ReplayWindow - time.Second)); code != http.StatusUnauthorized {
		t.Fatalf("timestamp in the future beyond the window: %d, want 401", code)
	}
	var mo struct{ From string }
	_ = json.Unmarshal(body, &mo)
	if _, ok, err := st.GetPhone(ctx, tenant.ID, "+"+mo.From); err != nil || ok {
		t.Fatalf("a refused callback recorded the number: %v %v", ok, err)
	}
	if code := handle(at); code != http.StatusOK {
		t.Fatalf("at its timestamp: %d, want 200", code)
	}
}
