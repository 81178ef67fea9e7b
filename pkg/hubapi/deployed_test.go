package hubapi_test

import (
	"net/http"
	"testing"
	"time"
)

// TestCreateConnection_AnswersStoredTimestamps: the 201 carries the stored
// connection's createdAt/updatedAt, not the zero times of the request copy.
func TestCreateConnection_AnswersStoredTimestamps(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	before := time.Now().Add(-time.Second)
	code, out := a.do("POST", "/v1/connections", key, `{"platform":"woocommerce","consentMode":"inferred","defaultRegion":"AU",
		"config":{"storeUrl":"https://shop.example.com","consumerKey":"ck","consumerSecret":"cs","webhookSecret":"wh"}}`, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	for _, f := range []string{"createdAt", "updatedAt"} {
		ts, err := time.Parse(time.RFC3339Nano, out[f].(string))
		if err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
			t.Errorf("%s = %v (%v), want the creation time", f, out[f], err)
		}
	}
	_, got := a.do("GET", "/v1/connections/"+out["id"].(string), key, "", nil)
	if got["createdAt"] != out["createdAt"] || got["updatedAt"] != out["updatedAt"] {
		t.Errorf("GET answers %v/%v, the 201 answered %v/%v", got["createdAt"], got["updatedAt"], out["createdAt"], out["updatedAt"])
	}
}

// TestCreateConnection_DisabledStartsNoInstall: enabled:false means no sync
// of any kind, the install included.
func TestCreateConnection_DisabledStartsNoInstall(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	code, out := a.do("POST", "/v1/connections", key, `{"platform":"woocommerce","consentMode":"inferred","defaultRegion":"AU","enabled":false,
		"config":{"storeUrl":"https://shop.example.com","consumerKey":"ck","consumerSecret":"cs","webhookSecret":"wh"}}`, nil)
	if code != http.StatusCreated || out["syncId"] != nil || out["enabled"] != false {
		t.Fatalf("create disabled: %d %v, want 201 without a syncId", code, out)
	}
	code, out = a.do("POST", "/v1/connections/"+out["id"].(string)+"/syncs", key, "", nil)
	if e, _ := out["error"].(map[string]any); code != http.StatusConflict || e["code"] != "connection_disabled" {
		t.Fatalf("sync now: %d %v, want 409 connection_disabled", code, out)
	}
}
