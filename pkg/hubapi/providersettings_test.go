package hubapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
)

// GET /v1/sms-provider (the console's Messaging page): 404 before any
// set-up; then the settings as stored, the credentials named but never
// shown, the tenant's own templates as given, and the inbound URL without
// the token a Sinch plan that does not sign gets; another tenant sees its
// own.
func TestAPI_GetSMSProvider_ShowsTheSettingsWithoutASecret(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key, other := a.tenant(), a.tenant()
	id := a.tenantID(key)
	if code, out := a.do("GET", "/v1/sms-provider", key, "", nil); code != http.StatusNotFound || errorOf(out)["code"] != "not_found" {
		t.Fatalf("before set-up: %d %v", code, out)
	}

	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sid, token := tw.Credentials()
	put := func(provider, baseURL string, creds map[string]string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"provider": provider, "sender": "+15005550006", "companyName": "Acme", "helpText": "Call 1300 000 000.",
			"apiBaseUrl": baseURL, "credentials": creds, "templates": map[string]string{"confirmation": "Hi from {company}. Reply STOP to cancel."}})
		if code, out := a.do("PUT", "/v1/sms-provider", key, string(body), nil); code != http.StatusOK {
			t.Fatalf("PUT %s: %d %v", provider, code, out)
		}
	}
	get := func() (map[string]any, string) {
		t.Helper()
		code, out := a.do("GET", "/v1/sms-provider", key, "", nil)
		if code != http.StatusOK {
			t.Fatalf("GET: %d %v", code, out)
		}
		b, _ := json.Marshal(out)
		return out, string(b)
	}
	put("twilio", tw.URL(), map[string]string{"accountSid": sid, "authToken": token})
	out, raw := get()
	if out["provider"] != "twilio" || out["sender"] != "+15005550006" || out["companyName"] != "Acme" || out["helpText"] != "Call 1300 000 000." ||
		out["apiBaseUrl"] != tw.URL() || out["inboundUrl"] != "https://hooks.example.com/sms/inbound/twilio/"+id || out["inboundUrlToken"] != false {
		t.Errorf("settings %v", out)
	}
	if set := out["credentialsSet"].([]any); !slices.Equal(set, []any{"accountSid", "authToken"}) {
		t.Errorf("credentialsSet %v, want accountSid and authToken", set)
	}
	if tpl := out["templates"].(map[string]any); tpl["confirmation"] != "Hi from {company}. Reply STOP to cancel." {
		t.Errorf("templates %v: want the tenant's own as given", tpl)
	}
	if strings.Contains(raw, token) || strings.Contains(raw, sid) {
		t.Errorf("the answer shows a credential: %s", raw)
	}

	sn := sinchtest.NewServer(sinchtest.Options{})
	defer sn.Close()
	plan, apiToken := sn.Credentials()
	put("sinch", sn.URL(), map[string]string{"servicePlanId": plan, "apiToken": apiToken})
	out, raw = get()
	if out["provider"] != "sinch" || out["inboundUrl"] != "https://hooks.example.com/sms/inbound/sinch/"+id || out["inboundUrlToken"] != true {
		t.Errorf("Sinch without a signing secret: %v; want the inbound URL without its token", out)
	}
	if set := out["credentialsSet"].([]any); !slices.Equal(set, []any{"apiToken", "servicePlanId"}) {
		t.Errorf("credentialsSet %v: want the tenant's two, not the generated token", set)
	}
	if strings.Contains(raw, apiToken) || strings.Contains(raw, "token=") {
		t.Errorf("the answer shows a secret: %s", raw)
	}
	if code, out := a.do("GET", "/v1/sms-provider", other, "", nil); code != http.StatusNotFound {
		t.Errorf("another tenant: %d %v", code, out)
	}
}
