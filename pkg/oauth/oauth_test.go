package oauth_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
)

// Shopify's published callback example (client secret "hush").
const shopifyExample = "code=0907a61c0c8d55e99db179b68161bc00&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"

func TestVerifyShopifyHMAC_PublishedExample(t *testing.T) {
	q, err := url.ParseQuery(shopifyExample)
	if err != nil {
		t.Fatal(err)
	}
	if !oauth.VerifyShopifyHMAC("hush", q) {
		t.Fatal("Shopify's published example does not verify")
	}
	if oauth.VerifyShopifyHMAC("hush2", q) || oauth.VerifyShopifyHMAC("", q) {
		t.Fatal("verified with the wrong secret")
	}
	for _, change := range []func(url.Values){
		func(q url.Values) { q.Set("shop", "other-shop.myshopify.com") },
		func(q url.Values) { q.Set("extra", "1") },
		func(q url.Values) { q.Del("timestamp") },
		func(q url.Values) { q.Set("hmac", strings.ToUpper(q.Get("hmac"))[:63]) },
		func(q url.Values) { q.Add("hmac", q.Get("hmac")) },
	} {
		c, _ := url.ParseQuery(shopifyExample)
		change(c)
		if oauth.VerifyShopifyHMAC("hush", c) {
			t.Fatalf("a changed query verified: %v", c)
		}
	}
	// The signature field is left out like hmac; upper-case hex is accepted.
	c, _ := url.ParseQuery(shopifyExample)
	c.Set("signature", "anything")
	c.Set("hmac", strings.ToUpper(c.Get("hmac")))
	if !oauth.VerifyShopifyHMAC("hush", c) {
		t.Fatal("signature is not excluded, or upper-case hex refused")
	}
}

func TestValidShop(t *testing.T) {
	for shop, want := range map[string]bool{
		"acme.myshopify.com": true, "a-1.myshopify.com": true,
		"": false, "acme.myshopify.com.evil.com": false, "evil.com/acme.myshopify.com": false, "-acme.myshopify.com": false,
		"acme.shopify.com": false, "acme.myshopify.com/": false, "acme.myshopify.com:443": false, "ac me.myshopify.com": false,
	} {
		if oauth.ValidShop(shop) != want {
			t.Errorf("ValidShop(%q) = %v, want %v", shop, !want, want)
		}
	}
}

func TestState_SealedToItsTenant(t *testing.T) {
	s, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	valid := func(t string) bool { return strings.HasPrefix(t, "t_") }
	st := oauth.State{Tenant: "t_abc", Nonce: oauth.NewNonce(), Platform: "klaviyo", Expires: time.Now().Add(time.Minute).Round(0)}
	tok := st.Token(s)
	if len(tok) > oauth.MaxStateLen {
		t.Fatalf("state of %d characters", len(tok))
	}
	got, err := oauth.ParseState(s, tok, valid)
	if err != nil || got.Nonce != st.Nonce || got.Tenant != st.Tenant || got.Platform != st.Platform || !got.Expires.Equal(st.Expires) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	_, payload, _ := strings.Cut(tok, ".")
	other, _ := seal.New([]byte(strings.Repeat("o", 32)))
	for name, bad := range map[string]string{
		"another tenant": "t_other." + payload,
		"altered":        tok[:len(tok)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(tok, "AAA")],
		"no tenant":      payload,
		"another key":    st.Token(other),
		"too long":       tok + strings.Repeat("A", oauth.MaxStateLen),
		"empty":          "",
	} {
		if _, err := oauth.ParseState(s, bad, valid); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestFromEnv_OverridesEndpointsAndCredentials(t *testing.T) {
	env := map[string]string{
		"CONTACTSYNC_OAUTH_KLAVIYO_CLIENT_ID": "id", "CONTACTSYNC_OAUTH_KLAVIYO_CLIENT_SECRET": "secret",
		"CONTACTSYNC_OAUTH_KLAVIYO_TOKEN_URL": "http://127.0.0.1:1/oauth/token", "CONTACTSYNC_OAUTH_SHOPIFY_SCOPES": "read_customers",
	}
	a := oauth.FromEnv(func(k string) string { return env[k] })
	if !a.Klaviyo.Configured() || a.Klaviyo.TokenURL != "http://127.0.0.1:1/oauth/token" || a.Klaviyo.AuthURL != "https://www.klaviyo.com/oauth/authorize" {
		t.Fatalf("klaviyo: %+v", a.Klaviyo)
	}
	if a.Shopify.Configured() || len(a.Shopify.Scopes) != 1 || a.Mailchimp.MetadataURL != "https://login.mailchimp.com/oauth2/metadata" {
		t.Fatalf("shopify %+v mailchimp %+v", a.Shopify, a.Mailchimp)
	}
	if got := a.ShopifyConfig("acme.myshopify.com", "https://x/cb").Endpoint.TokenURL; got != "https://acme.myshopify.com/admin/oauth/access_token" {
		t.Fatalf("shopify token URL %s", got)
	}
}
