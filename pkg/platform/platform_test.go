package platform_test

import (
	"maps"
	"testing"

	"github.com/contactsync/contactsync/pkg/platform"
)

func TestCheckConfig(t *testing.T) {
	spec := platform.Spec{Name: "crm", Keys: []platform.Key{
		{Name: "baseUrl", Flags: platform.Required | platform.URL},
		{Name: "apiKey", Flags: platform.Required | platform.Secret | platform.OrAccessToken},
		{Name: "accessToken", Flags: platform.Secret},
		{Name: "region"},
	}, Check: func(cfg map[string]string) map[string]string {
		if cfg["region"] == "mars" {
			return map[string]string{"region": "no such region"}
		}
		return nil
	}}
	serverKey := func(k string) bool { return k == "tokenExpiry" }
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want map[string]string
	}{
		{"complete", map[string]string{"baseUrl": "https://crm.example", "apiKey": "k"}, map[string]string{}},
		{"required missing", map[string]string{"apiKey": " "}, map[string]string{"baseUrl": "required", "apiKey": "required"}},
		{"an access token stands in for the key", map[string]string{"baseUrl": "http://x", "accessToken": "t"}, map[string]string{}},
		{"not a URL", map[string]string{"baseUrl": "ftp://x", "apiKey": "k"}, map[string]string{"baseUrl": "must be an http(s) URL"}},
		{"unknown key", map[string]string{"baseUrl": "https://x", "apiKey": "k", "storeUrl": "y"}, map[string]string{"storeUrl": "unknown field for crm"}},
		{"a key known elsewhere", map[string]string{"baseUrl": "https://x", "apiKey": "k", "tokenExpiry": "y"}, map[string]string{}},
		{"the spec's own check", map[string]string{"baseUrl": "https://x", "apiKey": "k", "region": "mars"}, map[string]string{"region": "no such region"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := spec.CheckConfig(tc.cfg, serverKey); !maps.Equal(got, tc.want) {
				t.Fatalf("CheckConfig = %v, want %v", got, tc.want)
			}
		})
	}
	before, after := map[string]string{"apiKey": "a", "region": "x"}, map[string]string{"apiKey": "b", "region": "x"}
	if !spec.Changed(platform.Secret, before, after) || spec.Changed(platform.URL, before, after) {
		t.Error("Changed does not follow the keys' flags")
	}
	if got := spec.SecretValues(map[string]string{"apiKey": "k", "accessToken": "", "region": "r"}); len(got) != 1 || got[0] != "k" {
		t.Errorf("SecretValues = %v", got)
	}
	specs := platform.Specs{spec, {Name: "other"}}
	if s, ok := specs.Lookup("other"); !ok || s.Name != "other" || specs.Names() != "crm, other" {
		t.Error("Lookup or Names")
	}
	if _, ok := specs.Lookup("nope"); ok {
		t.Error("Lookup found an unknown platform")
	}
}
