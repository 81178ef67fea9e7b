package hubapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
)

// GET /v1/sms-provider/templates: the defaults (with "{company}") until
// the tenant sets up its provider, then its own texts rendered and priced
// as the outbox sends and bills them; another tenant sees its own.
func TestAPI_TemplatesAreTheTenantsOwnRenderedAndPriced(t *testing.T) {
	t.Parallel()
	a := composedAPI(t)
	key, other := a.tenant(), a.tenant()
	msgs := func(key string) (bool, map[string]any) {
		t.Helper()
		code, out := a.do("GET", "/v1/sms-provider/templates", key, "", nil)
		if code != http.StatusOK {
			t.Fatalf("templates: %d %v", code, out)
		}
		return out["configured"] == true, out["templates"].(map[string]any)
	}
	configured, tpl := msgs(key)
	confirm := tpl["confirmation"].(map[string]any)
	if configured || confirm["text"] != "You are subscribed to receive messages from {company}. Reply STOP to cancel." || confirm["credits"] != 1.0 || confirm["custom"] != false {
		t.Fatalf("before set-up: configured %v, confirmation %v", configured, confirm)
	}

	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sid, token := tw.Credentials()
	own := "Welcome to {company} texts! " + strings.Repeat("News and offers, ", 10) + "Reply STOP to cancel."
	body, _ := json.Marshal(map[string]any{"provider": "twilio", "sender": "+15005550006", "companyName": "Acme", "apiBaseUrl": tw.URL(),
		"credentials": map[string]string{"accountSid": sid, "authToken": token},
		"templates":   map[string]string{"confirmation": own, "doubleOptInRequest": "Répondez OUI pour {company} 📱"}})
	if code, out := a.do("PUT", "/v1/sms-provider", key, string(body), nil); code != http.StatusOK {
		t.Fatalf("sms provider: %d %v", code, out)
	}
	configured, tpl = msgs(key)
	confirm, doi := tpl["confirmation"].(map[string]any), tpl["double_opt_in_request"].(map[string]any)
	if want := strings.ReplaceAll(own, "{company}", "Acme"); !configured || confirm["text"] != want || confirm["credits"] != 2.0 || confirm["encoding"] != "GSM-7" || confirm["custom"] != true {
		t.Errorf("confirmation %v, want %q in 2 GSM-7 parts", confirm, want)
	}
	if doi["text"] != "Répondez OUI pour Acme 📱" || doi["encoding"] != "UCS-2" || doi["credits"] != 1.0 {
		t.Errorf("double opt-in request %v", doi)
	}
	if opt := tpl["opt_out_confirmation"].(map[string]any); opt["custom"] != false || !strings.Contains(opt["text"].(string), "Acme") {
		t.Errorf("opt-out confirmation %v: want the default with the company", opt)
	}
	if b, _ := json.Marshal(tpl); strings.Contains(string(b), token) {
		t.Error("the answer holds the provider's token")
	}
	if configured, tpl := msgs(other); configured || tpl["confirmation"].(map[string]any)["custom"] != false {
		t.Errorf("another tenant sees configured=%v %v", configured, tpl["confirmation"])
	}
}
