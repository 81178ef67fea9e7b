package hubapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/console"
	"github.com/contactsync/contactsync/pkg/store"
)

// The hub console (pkg/console) signs in once and then calls the Hub API
// with a session cookie instead of the API key: the key never stays in the
// browser. The cookie is HttpOnly, Secure and SameSite=Strict, its name has
// the __Host- prefix (no Domain, Path=/, Secure: no subdomain can set or
// read it), and every write through a session must also carry the
// session's CSRF token in X-CSRF-Token (the page reads it from GET
// /console/session; another origin can neither read it nor send the
// cookie). Browsers treat http://127.0.0.1 and localhost as secure
// origins, so the sandbox sets the same cookie as AWS.

const (
	// SessionCookie is the console session cookie's name.
	SessionCookie = "__Host-cs_session"
	// SessionTTL is how long a console session lasts (no sliding renewal).
	SessionTTL = 8 * time.Hour
	// LoginLinkTTL is how long a sign-in link stays valid by default, and
	// MaxLoginLinkTTL the longest a hub may ask for.
	LoginLinkTTL    = 10 * time.Minute
	MaxLoginLinkTTL = time.Hour
	// CSRFHeader carries the session's CSRF token on writes.
	CSRFHeader = "X-CSRF-Token"
)

func withConsoleHeaders(resp apigw.Response) apigw.Response {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	maps.Copy(resp.Headers, console.Headers())
	return resp
}

func asset(a console.Asset) apigw.Response {
	return withConsoleHeaders(apigw.Text(http.StatusOK, a.ContentType, string(a.Body)))
}

func (h *Handler) consolePage(_ context.Context, _ call) apigw.Response {
	return asset(console.Page())
}

func (h *Handler) consoleAsset(_ context.Context, c call) apigw.Response {
	a, ok := console.Get(c.params["asset"])
	if !ok {
		return withConsoleHeaders(notFound("asset"))
	}
	return asset(a)
}

func sessionCookie(token string, maxAge time.Duration) string {
	return SessionCookie + "=" + token + "; Path=/; Max-Age=" + strconv.Itoa(int(maxAge/time.Second)) + "; HttpOnly; Secure; SameSite=Strict"
}

// sessionOut is what the page learns about its session.
type sessionOut struct {
	TenantID  string    `json:"tenantId"`
	CSRF      string    `json:"csrfToken"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// signIn is POST /console/session {"apiKey"}: the key is checked once and
// exchanged for a session cookie.
func (h *Handler) signIn(ctx context.Context, c call) apigw.Response {
	var in struct {
		APIKey string `json:"apiKey"`
	}
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	if in.APIKey == "" {
		return apigw.Invalid(map[string]string{"apiKey": "required"})
	}
	tenant, err := h.d.Store.Authenticate(ctx, strings.TrimSpace(in.APIKey))
	if errors.Is(err, store.ErrNotFound) {
		return apigw.Error(http.StatusUnauthorized, "unauthorized", "that API key is not valid")
	}
	if err != nil {
		return h.internal(ctx, "authenticating", err)
	}
	return h.startSession(ctx, tenant, func(token string, s store.Session) apigw.Response {
		resp := apigw.JSON(http.StatusCreated, sessionOut{TenantID: s.TenantID, CSRF: s.CSRF, ExpiresAt: s.ExpiresAt})
		resp.Cookies = []string{sessionCookie(token, SessionTTL)}
		return resp
	})
}

func (h *Handler) startSession(ctx context.Context, tenant string, answer func(string, store.Session) apigw.Response) apigw.Response {
	token, s, err := h.d.Store.CreateSession(ctx, tenant, SessionTTL)
	if err != nil {
		return h.internal(ctx, "creating session", err)
	}
	return withConsoleHeaders(answer(token, s))
}

// signInWithLink is GET /console/login?token=: a single-use link a hub
// made (POST /v1/console/links) becomes a session, and the browser goes to
// the console. A used, expired or unknown link goes to the sign-in form
// with a message instead.
func (h *Handler) signInWithLink(ctx context.Context, c call) apigw.Response {
	tenant, err := h.d.Store.RedeemLoginLink(ctx, c.req.QueryStringParameters["token"])
	if errors.Is(err, store.ErrNotFound) {
		return withConsoleHeaders(seeOther("/console#/signin/link-invalid"))
	}
	if err != nil {
		return h.internal(ctx, "redeeming sign-in link", err)
	}
	return h.startSession(ctx, tenant, func(token string, _ store.Session) apigw.Response {
		resp := seeOther("/console#/")
		resp.Cookies = []string{sessionCookie(token, SessionTTL)}
		return resp
	})
}

func seeOther(to string) apigw.Response {
	return apigw.Response{StatusCode: http.StatusSeeOther, Headers: map[string]string{"Location": to, "Content-Type": "text/plain; charset=utf-8"}, Body: "see " + to}
}

// getSession is GET /console/session: the session's tenant and CSRF token.
func (h *Handler) getSession(_ context.Context, c call) apigw.Response {
	if c.session == nil {
		return apigw.Error(http.StatusBadRequest, "no_session", "this call is authenticated by an API key, not a console session")
	}
	return withConsoleHeaders(apigw.JSON(http.StatusOK, sessionOut{TenantID: c.session.TenantID, CSRF: c.session.CSRF, ExpiresAt: c.session.ExpiresAt}))
}

// signOut is DELETE /console/session.
func (h *Handler) signOut(ctx context.Context, c call) apigw.Response {
	if token := cookieValue(c.req.Cookies, SessionCookie); token != "" {
		if err := h.d.Store.DeleteSession(ctx, token); err != nil {
			return h.internal(ctx, "deleting session", err)
		}
	}
	resp := apigw.Response{StatusCode: http.StatusNoContent, Headers: map[string]string{}}
	resp.Cookies = []string{sessionCookie("", 0)}
	return withConsoleHeaders(resp)
}

// createConsoleLink is POST /v1/console/links {"ttlSeconds"?}: a
// single-use sign-in link for the tenant, so a hub can open the console for
// its user without showing the API key.
func (h *Handler) createConsoleLink(ctx context.Context, c call) apigw.Response {
	var in struct {
		TTLSeconds int `json:"ttlSeconds"`
	}
	if len(c.body) > 0 {
		if resp, ok := decode(c.body, &in); !ok {
			return resp
		}
	}
	ttl := LoginLinkTTL
	if in.TTLSeconds != 0 {
		ttl = time.Duration(in.TTLSeconds) * time.Second
		if ttl < time.Minute || ttl > MaxLoginLinkTTL {
			return apigw.Invalid(map[string]string{"ttlSeconds": "must be from 60 to 3600"})
		}
	}
	token, exp, err := h.d.Store.CreateLoginLink(ctx, c.tenant, ttl)
	if err != nil {
		return h.internal(ctx, "creating sign-in link", err)
	}
	return apigw.JSON(http.StatusCreated, map[string]any{"url": h.d.PublicBaseURL + "/console/login?token=" + url.QueryEscape(token), "expiresAt": exp})
}

// sessionAuth authenticates a request by its console session cookie; a
// write must also carry the session's CSRF token. ok false: resp is the
// answer (401 without a live session, 403 without the token).
func (h *Handler) sessionAuth(ctx context.Context, req apigw.Request) (store.Session, apigw.Response, bool) {
	token := cookieValue(req.Cookies, SessionCookie)
	if token == "" {
		return store.Session{}, unauthorized(), false
	}
	s, err := h.d.Store.GetSession(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, unauthorized(), false
	}
	if err != nil {
		return store.Session{}, h.internal(ctx, "reading session", err), false
	}
	switch apigw.Method(req) {
	case http.MethodGet, http.MethodHead:
	default:
		got := apigw.Header(req, CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
			return store.Session{}, apigw.Error(http.StatusForbidden, "csrf_failed", "a write through the console needs the session's "+CSRFHeader+" header"), false
		}
	}
	return s, apigw.Response{}, true
}

// cookieValue finds a cookie in API Gateway's cookies list ("name=value"
// strings; payload 2.0 moves the Cookie header there).
func cookieValue(cookies []string, name string) string {
	for _, c := range cookies {
		for _, part := range strings.Split(c, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				return v
			}
		}
	}
	return ""
}
