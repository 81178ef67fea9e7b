package klaviyotest

import (
	"net/http"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/oauth/oauthtest"
)

// The fake's OAuth app.
const (
	OAuthClientID     = "klaviyo-app-id"
	OAuthClientSecret = "klaviyo-app-secret"
)

// OAuth is the account's authorisation server: /oauth/authorize (PKCE
// S256 required) and /oauth/token (HTTP Basic client authentication; the
// code grant and the refresh grant). Access tokens last an hour and come
// with refresh tokens; the API accepts them as Bearer tokens. Tests revoke
// refresh tokens or expire access tokens through it.
func (s *Server) OAuth() *oauthtest.Provider {
	s.oauthOnce.Do(func() {
		s.oauthApp = &oauthtest.Provider{ClientID: OAuthClientID, ClientSecret: OAuthClientSecret, BasicAuth: true, PKCE: true,
			AccessTTL: time.Hour, Refresh: true}
	})
	return s.oauthApp
}

// OAuthAuthorizeURL and OAuthTokenURL are the app's endpoints on the fake.
func (s *Server) OAuthAuthorizeURL() string { return s.URL() + "/oauth/authorize" }
func (s *Server) OAuthTokenURL() string     { return s.URL() + "/oauth/token" }

// serveOAuth serves the OAuth endpoints (outside the API's auth and
// limits) and reports whether r was one of them.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/oauth/authorize":
		s.OAuth().Authorize(w, r, nil)
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		s.OAuth().Token(w, r)
	default:
		return false
	}
	return true
}

// bearerOK reports whether r carries an access token the fake issued.
func (s *Server) bearerOK(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.OAuth().ValidAccess(tok)
}
