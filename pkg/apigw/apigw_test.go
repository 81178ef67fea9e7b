package apigw

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		ok            bool
		id            string
	}{
		{"/v1/connections/{id}/syncs", "/v1/connections/c1/syncs", true, "c1"},
		{"/v1/connections/{id}", "/v1/connections/c1/syncs", false, ""},
		{"/v1/connections/{id}", "/v1/connections/", false, ""},
		{"/v1/groups", "/v1/groups", true, ""},
	}
	for _, tt := range tests {
		params, ok := Match(tt.pattern, tt.path)
		if ok != tt.ok || params["id"] != tt.id {
			t.Errorf("Match(%q, %q) = %v %v", tt.pattern, tt.path, params, ok)
		}
	}
}

func TestBody_LimitsAndBase64(t *testing.T) {
	if _, err := Body(Request{Body: strings.Repeat("x", 11)}, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("plain oversized: %v", err)
	}
	enc := base64.StdEncoding.EncodeToString([]byte("hello"))
	if b, err := Body(Request{Body: enc, IsBase64Encoded: true}, 10); err != nil || string(b) != "hello" {
		t.Errorf("base64 = %q %v", b, err)
	}
	if _, err := Body(Request{Body: base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 20))), IsBase64Encoded: true}, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("base64 oversized: %v", err)
	}
	if _, err := Body(Request{Body: "%%%", IsBase64Encoded: true}, 10); !errors.Is(err, ErrBadBody) {
		t.Errorf("bad base64: %v", err)
	}
}

func TestHeader_CaseInsensitive(t *testing.T) {
	req := Request{Headers: map[string]string{"X-Shopify-Topic": "customers/create"}}
	if got := Header(req, "x-shopify-topic"); got != "customers/create" {
		t.Errorf("Header = %q", got)
	}
}
