// Package oauthtest is the authorisation server the platform fakes share:
// a consent page that approves at once (302 back to redirect_uri with code
// and state), a token endpoint for the authorization-code grant (with PKCE
// S256 where the platform requires it) and the refresh grant, and the
// tokens it issued, so a fake's API can accept them. Tests control it:
// Deny makes the consent page answer error=access_denied,
// ExpireAccessTokens makes every issued access token stop working,
// RevokeRefreshTokens makes refreshes answer invalid_grant.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Provider is one platform's authorisation server.
type Provider struct {
	ClientID, ClientSecret string
	// BasicAuth: clients authenticate with HTTP Basic (Klaviyo); otherwise
	// client_id and client_secret are form parameters (Shopify, Mailchimp).
	BasicAuth bool
	// PKCE requires code_challenge (S256) and checks code_verifier.
	PKCE bool
	// AccessTTL is an access token's lifetime (expires_in); 0: tokens do
	// not expire and no expires_in is sent.
	AccessTTL time.Duration
	// Refresh issues refresh tokens and accepts the refresh grant.
	Refresh bool
	// AccessToken, when set, is the access token issued (a fake whose API
	// already has a token); otherwise a random one.
	AccessToken string

	mu        sync.Mutex
	deny      bool
	codes     map[string]grant
	access    map[string]bool // issued access tokens still valid
	refresh   map[string]bool
	revoked   bool
	refreshes int
	exchanges int
}

type grant struct {
	redirect, challenge string
}

func random() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Deny makes the consent page refuse (error=access_denied) while on.
func (p *Provider) Deny(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny = on
}

// ExpireAccessTokens invalidates every access token issued so far.
func (p *Provider) ExpireAccessTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.access = map[string]bool{}
}

// RevokeRefreshTokens makes every refresh answer invalid_grant.
func (p *Provider) RevokeRefreshTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = true
}

// Refreshes is how many refresh grants succeeded; Exchanges how many codes
// were exchanged.
func (p *Provider) Refreshes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshes
}

// Exchanges is how many codes were exchanged for tokens.
func (p *Provider) Exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges
}

// ValidAccess reports whether tok is an access token this server issued
// and has not expired.
func (p *Provider) ValidAccess(tok string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return tok != "" && p.access[tok]
}

// Grant issues an access and refresh token pair as a completed
// authorisation would (tests that start from an installed connection).
func (p *Provider) Grant() (access, refresh string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.access == nil {
		p.access, p.refresh = map[string]bool{}, map[string]bool{}
	}
	access, refresh = random(), random()
	p.access[access], p.refresh[refresh] = true, true
	return access, refresh
}

// Authorize serves the consent page: it checks the request and redirects
// to redirect_uri with code and state (or error=access_denied). decorate,
// when set, adds the platform's own parameters (Shopify's shop, timestamp
// and hmac) to the redirect's query.
func (p *Provider) Authorize(w http.ResponseWriter, r *http.Request, decorate func(url.Values)) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != p.ClientID || err != nil || redirect.Host == "" || q.Get("state") == "" {
		http.Error(w, "invalid client_id, redirect_uri or state", http.StatusBadRequest)
		return
	}
	if p.PKCE && (q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "") {
		http.Error(w, "code_challenge (S256) is required", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	p.mu.Lock()
	if p.deny {
		back.Set("error", "access_denied")
	} else {
		code := random()
		if p.codes == nil {
			p.codes = map[string]grant{}
		}
		p.codes[code] = grant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
		back.Set("code", code)
	}
	p.mu.Unlock()
	if decorate != nil {
		decorate(back)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// Token serves the token endpoint (form-encoded POST).
func (p *Provider) Token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if p.BasicAuth {
		var ok bool
		if id, secret, ok = r.BasicAuth(); !ok {
			tokenError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code", "": // Shopify's exchange sends no grant_type
		g, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code")) // single use
		if !ok || (r.PostForm.Has("redirect_uri") && r.PostForm.Get("redirect_uri") != g.redirect) {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if p.PKCE {
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
				tokenError(w, http.StatusBadRequest, "invalid_grant")
				return
			}
		}
		p.exchanges++
	case "refresh_token":
		if !p.Refresh || p.revoked || !p.refresh[r.PostForm.Get("refresh_token")] {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		p.refreshes++
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	out := map[string]any{"token_type": "Bearer", "scope": r.PostForm.Get("scope")}
	tok := p.AccessToken
	if tok == "" {
		tok = random()
	}
	if p.access == nil {
		p.access, p.refresh = map[string]bool{}, map[string]bool{}
	}
	p.access[tok] = true
	out["access_token"] = tok
	if p.AccessTTL > 0 {
		out["expires_in"] = int(p.AccessTTL / time.Second)
	}
	if p.Refresh {
		rt := random()
		p.refresh[rt] = true
		out["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
