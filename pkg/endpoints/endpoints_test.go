package endpoints

import "testing"

func TestConnection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		platform string
		cfg      map[string]string
		allow    bool
		badKey   string // "" = valid
	}{
		{"shop domain", "shopify", map[string]string{"shopDomain": "acme.myshopify.com"}, false, ""},
		{"shop domain elsewhere", "shopify", map[string]string{"shopDomain": "acme.example.com"}, false, "shopDomain"},
		{"shop domain an address", "shopify", map[string]string{"shopDomain": "127.0.0.1"}, false, "shopDomain"},
		{"shop domain with a path", "shopify", map[string]string{"shopDomain": "evil.com/x.myshopify.com"}, false, "shopDomain"},
		{"shop domain checked with fakes too", "shopify", map[string]string{"shopDomain": "169.254.169.254"}, true, "shopDomain"},
		{"shopify base", "shopify", map[string]string{"shopDomain": "a.myshopify.com", "apiBaseUrl": "https://a.myshopify.com"}, false, ""},
		{"shopify base loopback", "shopify", map[string]string{"shopDomain": "a.myshopify.com", "apiBaseUrl": "http://127.0.0.1:9"}, false, "apiBaseUrl"},
		{"shopify base metadata", "shopify", map[string]string{"shopDomain": "a.myshopify.com", "apiBaseUrl": "https://169.254.169.254"}, false, "apiBaseUrl"},
		{"shopify base elsewhere", "shopify", map[string]string{"shopDomain": "a.myshopify.com", "apiBaseUrl": "https://evil.example.com"}, false, "apiBaseUrl"},
		{"shopify base fake", "shopify", map[string]string{"shopDomain": "a.myshopify.com", "apiBaseUrl": "http://127.0.0.1:9"}, true, ""},
		{"woo public", "woocommerce", map[string]string{"storeUrl": "https://shop.example.com/wp"}, false, ""},
		{"woo http", "woocommerce", map[string]string{"storeUrl": "http://shop.example.com"}, false, "storeUrl"},
		{"woo loopback", "woocommerce", map[string]string{"storeUrl": "https://127.0.0.1"}, false, "storeUrl"},
		{"woo ipv6 loopback", "woocommerce", map[string]string{"storeUrl": "https://[::1]"}, false, "storeUrl"},
		{"woo mapped", "woocommerce", map[string]string{"storeUrl": "https://[::ffff:169.254.169.254]"}, false, "storeUrl"},
		{"woo localhost", "woocommerce", map[string]string{"storeUrl": "https://localhost"}, false, "storeUrl"},
		{"woo fake", "woocommerce", map[string]string{"storeUrl": "http://127.0.0.1:8080/woo"}, true, ""},
		{"mailchimp key", "mailchimp", map[string]string{"apiKey": "abc-us6"}, false, ""},
		{"mailchimp key host injection", "mailchimp", map[string]string{"apiKey": "abc-169.254.169.254/x"}, false, "apiKey"},
		{"mailchimp key dc with dots", "mailchimp", map[string]string{"apiKey": "abc-us6.evil.com#"}, true, "apiKey"},
		{"mailchimp base", "mailchimp", map[string]string{"apiKey": "abc-us6", "apiBaseUrl": "https://us6.api.mailchimp.com"}, false, ""},
		{"mailchimp base elsewhere", "mailchimp", map[string]string{"apiKey": "abc-us6", "apiBaseUrl": "https://us6.api.mailchimp.com.evil.io"}, false, "apiBaseUrl"},
		{"klaviyo base", "klaviyo", map[string]string{"apiBaseUrl": "https://a.klaviyo.com"}, false, ""},
		{"klaviyo base elsewhere", "klaviyo", map[string]string{"apiBaseUrl": "https://b.klaviyo.com"}, false, "apiBaseUrl"},
		{"klaviyo base http", "klaviyo", map[string]string{"apiBaseUrl": "http://a.klaviyo.com"}, false, "apiBaseUrl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := Connection(tc.platform, tc.cfg, tc.allow)
			if tc.badKey == "" && len(bad) > 0 {
				t.Fatalf("refused: %v", bad)
			}
			if tc.badKey != "" && (len(bad) != 1 || bad[tc.badKey] == "") {
				t.Fatalf("got %v, want one message on %s", bad, tc.badKey)
			}
		})
	}
}
