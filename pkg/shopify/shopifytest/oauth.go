package shopifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/oauth/oauthtest"
)

// The fake's app (the Shopify app contactsync would register).
const (
	OAuthClientID     = "shopify-app-id"
	OAuthClientSecret = "shopify-app-secret"
)

// OAuth is the shop's authorisation server for the app
// (/admin/oauth/authorize and /admin/oauth/access_token): it issues the
// shop's access token (Options.AccessToken) for an offline install.
func (s *Server) OAuth() *oauthtest.Provider {
	s.oauthOnce.Do(func() {
		s.oauthApp = &oauthtest.Provider{ClientID: OAuthClientID, ClientSecret: OAuthClientSecret, AccessToken: s.opts.AccessToken}
	})
	return s.oauthApp
}

// OAuthAuthorizeURL and OAuthTokenURL are the app's endpoints on the fake,
// in oauth.App's form ({shop} is the shop domain, which the fake takes
// from the query as it serves every shop on one host).
func (s *Server) OAuthAuthorizeURL() string { return s.URL() + "/admin/oauth/authorize?shop={shop}" }
func (s *Server) OAuthTokenURL() string     { return s.URL() + "/admin/oauth/access_token?shop={shop}" }

// oauthAuthorize approves the install at once and sends the browser back
// with code, shop, state, timestamp, host and Shopify's hmac over them.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	shop := r.URL.Query().Get("shop")
	if shop == "" {
		shop = s.opts.Domain
	}
	s.OAuth().Authorize(w, r, func(q url.Values) {
		q.Set("shop", shop)
		q.Set("timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		q.Set("host", base64.RawStdEncoding.EncodeToString([]byte("admin.shopify.com/store/"+strings.TrimSuffix(shop, ".myshopify.com"))))
		q.Set("hmac", CallbackHMAC(OAuthClientSecret, q))
	})
}

// oauthToken exchanges a code; an exchange installs the app (again, after
// Uninstall): the shop's token works once more.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	before := s.OAuth().Exchanges()
	s.OAuth().Token(w, r)
	if s.OAuth().Exchanges() > before {
		s.mu.Lock()
		s.hooks.uninstalled = false
		s.mu.Unlock()
	}
}

// CallbackHMAC signs a callback query as Shopify does: hex HMAC-SHA256
// with the app's client secret over the query without hmac and signature,
// keys sorted, form-encoded.
func CallbackHMAC(secret string, q url.Values) string {
	var keys []string
	for k := range q {
		if k != "hmac" && k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(strings.Join(q[k], ","))
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(parts, "&")))
	return hex.EncodeToString(m.Sum(nil))
}
