package hubapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia/messagemediatest"
	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/smsproviders"
)

// providerJSON is a PUT /v1/sms-provider body.
func providerJSON(provider, sender, baseURL string, creds map[string]string) string {
	b, _ := json.Marshal(map[string]any{"provider": provider, "sender": sender, "companyName": "Acme", "apiBaseUrl": baseURL, "credentials": creds})
	return string(b)
}

// tenantID returns the id of the tenant an API key belongs to.
func (a *api) tenantID(key string) string {
	a.t.Helper()
	id, err := a.st.Authenticate(context.Background(), key)
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}

// storedProvider reports whether the tenant has SMS provider settings.
func (a *api) storedProvider(id string) bool {
	a.t.Helper()
	t, err := a.st.GetTenant(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return len(t.SMSProvider) > 0
}

// inboundOf returns the "inbound" object of a PUT answer.
func inboundOf(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	in, ok := out["inbound"].(map[string]any)
	if !ok {
		t.Fatalf("no inbound in %v", out)
	}
	return in
}

func TestAPI_SMSProviderTwilio_ChecksCredentialsAndPointsTheNumberAtOurInboundURL(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	id := a.tenantID(key)
	const sender = "+15005550006"
	tw := twiliotest.NewServer(twiliotest.Options{Numbers: []string{sender}})
	defer tw.Close()
	sid, token := tw.Credentials()
	want := "https://hooks.example.com/sms/inbound/twilio/" + id

	// Bad credentials: 422 with Twilio's reason, nothing stored or changed.
	code, out := a.do("PUT", "/v1/sms-provider", key, providerJSON("twilio", sender, tw.URL(), map[string]string{"accountSid": sid, "authToken": "wrong_token_1234"}), nil)
	if code != http.StatusUnprocessableEntity || errorOf(out)["code"] != "credentials_rejected" {
		t.Fatalf("bad token: %d %v", code, out)
	}
	if r, _ := errorOf(out)["reason"].(string); !strings.Contains(r, "Authenticate") || strings.Contains(r, "wrong_token_1234") {
		t.Errorf("reason %q: want Twilio's words without the token", r)
	}
	if a.storedProvider(id) {
		t.Error("rejected credentials were stored")
	}
	if u, _, _ := tw.SMSURL(sender); u != "" {
		t.Errorf("the number was changed with rejected credentials: %q", u)
	}

	// Good credentials: stored, and the number's SmsUrl is ours.
	code, out = a.do("PUT", "/v1/sms-provider", key, providerJSON("twilio", sender, tw.URL(), map[string]string{"accountSid": sid, "authToken": token}), nil)
	if code != http.StatusOK {
		t.Fatalf("good credentials: %d %v", code, out)
	}
	if in := inboundOf(t, out); in["configured"] != true || in["how"] == "" {
		t.Errorf("inbound = %v, want configured", in)
	}
	if u, m, _ := tw.SMSURL(sender); u != want || m != http.MethodPost {
		t.Errorf("the number's SmsUrl = %q %s, want %q POST", u, m, want)
	}
	if out["inboundUrl"] != want || !a.storedProvider(id) {
		t.Errorf("inboundUrl %v (want %q), stored %v", out["inboundUrl"], want, a.storedProvider(id))
	}

	// A failed update after the check: stored, the answer names the manual
	// step and why.
	tw.FailUpdates(1)
	code, out = a.do("PUT", "/v1/sms-provider", key, providerJSON("twilio", sender, tw.URL(), map[string]string{"accountSid": sid, "authToken": token}), nil)
	if in := inboundOf(t, out); code != http.StatusOK || in["configured"] != false || !strings.Contains(in["manualStep"].(string), "Twilio Console") ||
		!strings.Contains(in["reason"].(string), "HTTP 500") {
		t.Errorf("a failed number update: %d %v", code, out)
	}

	// A Messaging Service sender: its InboundRequestUrl is set.
	mg := tw.AddService()
	code, out = a.do("PUT", "/v1/sms-provider", key, providerJSON("twilio", mg, tw.URL(), map[string]string{"accountSid": sid, "authToken": token}), nil)
	if code != http.StatusOK || inboundOf(t, out)["configured"] != true {
		t.Fatalf("messaging service: %d %v", code, out)
	}
	if u, m := tw.ServiceInboundURL(mg); u != want || m != http.MethodPost {
		t.Errorf("the service's InboundRequestUrl = %q %s, want %q POST", u, m, want)
	}

	// Senders we cannot point: stored, and the answer names the manual step.
	app := tw.AddNumber("+15005550010", "AP00000000000000000000000000000001")
	for _, tc := range []struct{ sender, says string }{
		{"+15005550009", "is not a phone number of this Twilio account"},
		{"+15005550010", "TwiML app"},
	} {
		code, out = a.do("PUT", "/v1/sms-provider", key, providerJSON("twilio", tc.sender, tw.URL(), map[string]string{"accountSid": sid, "authToken": token}), nil)
		in := inboundOf(t, out)
		step, _ := in["manualStep"].(string)
		if code != http.StatusOK || in["configured"] != false || !strings.Contains(step, tc.says) || !strings.Contains(step, want) {
			t.Errorf("sender %s: %d inbound %v", tc.sender, code, in)
		}
	}
	if u, _, _ := tw.SMSURL("+15005550010"); u != "" {
		t.Errorf("the TwiML-app number %s was changed: %q", app, u)
	}
}

func TestAPI_SMSProviderUnreachableIs502AndStoresNothing(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	tw := twiliotest.NewServer(twiliotest.Options{})
	sid, token := tw.Credentials()
	tw.Close() // nothing answers there now
	code, out := a.do("PUT", "/v1/sms-provider", key, providerJSON("twilio", "+15005550006", tw.URL(), map[string]string{"accountSid": sid, "authToken": token}), nil)
	if code != http.StatusBadGateway || errorOf(out)["code"] != "provider_unreachable" {
		t.Fatalf("unreachable provider: %d %v", code, out)
	}
	if a.storedProvider(a.tenantID(key)) {
		t.Error("settings were stored without a check")
	}
}

func TestAPI_SMSProviderSinch_ChecksCredentialsAndNamesTheManualStep(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	id := a.tenantID(key)
	sn := sinchtest.NewServer(sinchtest.Options{})
	defer sn.Close()
	plan, token := sn.Credentials()

	code, out := a.do("PUT", "/v1/sms-provider", key, providerJSON("sinch", "+15005550006", sn.URL(), map[string]string{"servicePlanId": plan, "apiToken": "not_the_token_5678"}), nil)
	if code != http.StatusUnprocessableEntity || errorOf(out)["code"] != "credentials_rejected" {
		t.Fatalf("bad token: %d %v", code, out)
	}
	if r, _ := errorOf(out)["reason"].(string); r == "" || strings.Contains(r, "not_the_token_5678") {
		t.Errorf("reason %q: want Sinch's words without the token", r)
	}
	if a.storedProvider(id) {
		t.Error("rejected credentials were stored")
	}

	code, out = a.do("PUT", "/v1/sms-provider", key, providerJSON("sinch", "+15005550006", sn.URL(), map[string]string{"servicePlanId": plan, "apiToken": token}), nil)
	if code != http.StatusOK || !a.storedProvider(id) {
		t.Fatalf("good credentials: %d %v", code, out)
	}
	in := inboundOf(t, out)
	step, _ := in["manualStep"].(string)
	inboundURL, _ := out["inboundUrl"].(string)
	if in["configured"] != false || !strings.Contains(step, "Sinch Build Dashboard") || !strings.Contains(step, inboundURL) ||
		!strings.HasPrefix(inboundURL, "https://hooks.example.com/sms/inbound/sinch/"+id+"?token=") {
		t.Errorf("inbound %v, inboundUrl %q: want the manual step with our URL", in, inboundURL)
	}
}

func TestAPI_SMSProviderMessageMedia_ChecksCredentialsAndSendsWithOurCallbackURL(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key := a.tenant()
	id := a.tenantID(key)
	mm := messagemediatest.NewServer(messagemediatest.Options{})
	defer mm.Close()
	apiKey, secret := mm.Credentials()

	code, out := a.do("PUT", "/v1/sms-provider", key, providerJSON("messagemedia", "+61491570006", mm.URL(), map[string]string{"apiKey": apiKey, "apiSecret": "bad_secret_9012"}), nil)
	if code != http.StatusUnprocessableEntity || errorOf(out)["code"] != "credentials_rejected" {
		t.Fatalf("bad secret: %d %v", code, out)
	}
	if a.storedProvider(id) {
		t.Error("rejected credentials were stored")
	}

	code, out = a.do("PUT", "/v1/sms-provider", key, providerJSON("messagemedia", "+61491570006", mm.URL(), map[string]string{"apiKey": apiKey, "apiSecret": secret}), nil)
	if code != http.StatusOK {
		t.Fatalf("good credentials: %d %v", code, out)
	}
	if in := inboundOf(t, out); in["configured"] != true || !strings.Contains(in["how"].(string), "callback_url") {
		t.Errorf("inbound = %v, want configured by callback_url", in)
	}
	// What the outbox sends with the stored settings carries our URL.
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := a.st.GetTenant(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	settings, err := hubapi.OpenSMSProvider(sealer, tenant)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := smsproviders.Default.NewSender(settings, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(context.Background(), sms.Message{To: "+61491570156", From: settings.Sender, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if cb := mm.CallbackURLs(); len(cb) != 1 || cb[0] != out["inboundUrl"] || !strings.Contains(cb[0], "?token=") {
		t.Errorf("callback_url of the sent message = %v, want %v", cb, out["inboundUrl"])
	}
}
