package woocommerce

import (
	"maps"
	"testing"

	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/source"
)

// TestSpec_MaxRequestsPerSecond: a connection may set its host's request
// limit; the client paces at it (the default when unset), and a value out
// of range or not a number is refused by the config check and by the
// client's construction alike.
func TestSpec_MaxRequestsPerSecond(t *testing.T) {
	spec := Spec()
	base := map[string]string{"storeUrl": "https://shop.example", "consumerKey": "ck", "consumerSecret": "cs", "webhookSecret": "w"}
	unknown := func(string) bool { return false }
	for v, want := range map[string]float64{"": DefaultMaxRPS, "50": 50, " 2.5 ": 2.5, "100": 100, "1": 1} {
		cfg := maps.Clone(base)
		if v != "" {
			cfg["maxRequestsPerSecond"] = v
		}
		if bad := spec.CheckConfig(cfg, unknown); len(bad) != 0 {
			t.Errorf("%q: refused: %v", v, bad)
			continue
		}
		c, err := spec.New(cfg, source.Options{}, platform.Env{})
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		if got := float64(c.(*Client).limiter.Limit()); got != want {
			t.Errorf("%q: paces at %v requests/s, want %v", v, got, want)
		}
	}
	for _, v := range []string{"0", "-5", "abc", "101", "NaN", "Inf", "1e9", "0.5"} {
		cfg := maps.Clone(base)
		cfg["maxRequestsPerSecond"] = v
		if bad := spec.CheckConfig(cfg, unknown); bad["maxRequestsPerSecond"] == "" {
			t.Errorf("%q: accepted by the config check (%v)", v, bad)
		}
		if _, err := spec.New(cfg, source.Options{}, platform.Env{}); err == nil {
			t.Errorf("%q: a client was built", v)
		}
	}
}
