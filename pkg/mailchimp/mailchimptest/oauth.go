package mailchimptest

import (
	"net/http"
	"strings"

	"github.com/contactsync/contactsync/pkg/oauth/oauthtest"
)

// The fake's OAuth app.
const (
	OAuthClientID     = "mailchimp-app-id"
	OAuthClientSecret = "mailchimp-app-secret"
	// OAuthDC is the data centre the metadata endpoint reports.
	OAuthDC = "us6"
)

// OAuth is login.mailchimp.com's part of the fake: /oauth2/authorize,
// /oauth2/token (client id and secret in the form; tokens do not expire)
// and /oauth2/metadata (Authorization: OAuth <token>), which names this
// server as the account's api_endpoint. The API accepts issued tokens as
// Bearer tokens.
func (s *Server) OAuth() *oauthtest.Provider {
	s.oauthOnce.Do(func() {
		s.oauthApp = &oauthtest.Provider{ClientID: OAuthClientID, ClientSecret: OAuthClientSecret}
	})
	return s.oauthApp
}

// OAuthAuthorizeURL, OAuthTokenURL and OAuthMetadataURL are the app's
// endpoints on the fake.
func (s *Server) OAuthAuthorizeURL() string { return s.URL() + "/oauth2/authorize" }
func (s *Server) OAuthTokenURL() string     { return s.URL() + "/oauth2/token" }
func (s *Server) OAuthMetadataURL() string  { return s.URL() + "/oauth2/metadata" }

func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	s.OAuth().Authorize(w, r, nil)
}
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) { s.OAuth().Token(w, r) }

func (s *Server) oauthMetadata(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok || !s.OAuth().ValidAccess(tok) {
		writeJSON(w, 401, map[string]any{"error": "invalid_token", "error_description": "Invalid token"})
		return
	}
	writeJSON(w, 200, map[string]any{"dc": OAuthDC, "role": "owner", "accountname": "Fake Audience Co",
		"user_id": 1234, "login_url": "https://login.mailchimp.com", "api_endpoint": s.URL()})
}

// bearerOK reports whether r carries an access token the fake issued.
func (s *Server) bearerOK(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.OAuth().ValidAccess(tok)
}
