package hubapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/schedule"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

func statusOut(s string) string {
	return cmp.Or(s, "active")
}

// draftTolerated drops what a draft may still lack (it is configured with
// PATCH before activation): settings not given yet. Activation checks the
// whole connection.
func draftTolerated(bad map[string]string, conn store.Connection) map[string]string {
	if conn.Status != store.StatusDraft {
		return bad
	}
	for k, v := range bad {
		switch {
		case k == "consentMode" && conn.ConsentMode == "", k == "defaultRegion" && conn.DefaultRegion == "":
			delete(bad, k)
		case strings.HasPrefix(k, "config.") && v == "required":
			delete(bad, k)
		}
	}
	return bad
}

// notSyncable answers 409 for a connection that may not sync: a draft
// (activate it) or one whose authorisation must be renewed.
func notSyncable(conn store.Connection) (apigw.Response, bool) {
	switch conn.Status {
	case store.StatusDraft:
		return apigw.Error(http.StatusConflict, "connection_draft", "the connection is a draft; activate it to sync"), false
	case store.StatusNeedsReauthorization:
		return apigw.Error(http.StatusConflict, "needs_reauthorization", "the platform refused the connection's token; authorise it again"), false
	case store.StatusDisconnected:
		return apigw.Error(http.StatusConflict, "connection_disconnected", "the app was uninstalled from the platform; authorise it again"), false
	}
	return apigw.Response{}, true
}

// clearReauthorization: new pasted credentials (a private key) end a
// needs_reauthorization status; the connection is due at the next tick.
func (h *Handler) clearReauthorization(conn *store.Connection, in map[string]string) {
	if conn.Status != store.StatusNeedsReauthorization {
		return
	}
	spec, _ := h.spec(conn.Platform)
	for k, v := range in {
		if spec.Has(k, platform.Secret) && v != "" {
			conn.Status = ""
			conn.NextSyncAt = h.d.Now()
			return
		}
	}
}

// maxURLLen bounds the URLs a request may carry (return and store URLs).
const maxURLLen = 2048

// checkReturnURL checks a return URL: https, a host, no credentials.
func checkReturnURL(raw string) (*url.URL, bool) {
	if len(raw) > maxURLLen {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, false
	}
	return u, true
}

// consoleURL reports whether raw is the console's own page on this
// installation's public origin (PublicBaseURL + "/console", no query or
// fragment): the install wizard's return URL, allowed whatever the
// tenant's settings say, and on the scheme PublicBaseURL has.
func (h *Handler) consoleURL(raw string) bool {
	return h.d.PublicBaseURL != "" && raw == h.d.PublicBaseURL+"/console"
}

// SettingsOut are the tenant's settings.
type SettingsOut struct {
	// ReturnURL is where the browser lands after an OAuth install, with
	// ?connection=<id> or ?error=<code>.
	ReturnURL string `json:"returnUrl,omitempty"`
}

func (h *Handler) getSettings(ctx context.Context, c call) apigw.Response {
	t, err := h.d.Store.GetTenant(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "reading tenant", err)
	}
	return apigw.JSON(http.StatusOK, SettingsOut{ReturnURL: t.ReturnURL})
}

func (h *Handler) putSettings(ctx context.Context, c call) apigw.Response {
	var in struct {
		ReturnURL *string `json:"returnUrl"`
	}
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	if in.ReturnURL != nil {
		if *in.ReturnURL != "" {
			if _, ok := checkReturnURL(*in.ReturnURL); !ok {
				return apigw.Invalid(map[string]string{"returnUrl": "must be an https URL without credentials or fragment, at most 2048 characters"})
			}
		}
		if err := h.d.Store.SetReturnURL(ctx, c.tenant, *in.ReturnURL); err != nil {
			return h.internal(ctx, "storing settings", err)
		}
	}
	return h.getSettings(ctx, c)
}

// redirectURI is our callback for platform.
func (h *Handler) redirectURI(platform string) string {
	return h.d.PublicBaseURL + "/oauth/" + platform + "/callback"
}

type authorizeIn struct {
	Platform   string  `json:"platform"`
	Label      *string `json:"label"`
	Shop       string  `json:"shop"`
	ShopDomain string  `json:"shopDomain"`
	StoreURL   string  `json:"storeUrl"`
	ReturnURL  string  `json:"returnUrl"`
	// ConnectionID renews the authorisation of an existing connection
	// (one that needs_reauthorization, or new credentials for a draft).
	ConnectionID string `json:"connectionId"`
}

// authorize starts an OAuth install: it stores the attempt under a new
// nonce and answers the platform URL the hub sends the merchant to.
func (h *Handler) authorize(ctx context.Context, c call) apigw.Response {
	var in authorizeIn
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	now := h.d.Now()
	a := store.OAuthAttempt{TenantID: c.tenant, Nonce: oauth.NewNonce(), Platform: in.Platform, Expires: now.Add(h.d.OAuth.TTL())}
	bad := map[string]string{}
	spec, ok := h.spec(in.Platform)
	if !ok || (spec.OAuth == nil && spec.KeyInstall == nil) {
		return apigw.Invalid(map[string]string{"platform": "must be one of " + h.installable(func(s platform.Spec) bool { return s.OAuth != nil || s.KeyInstall != nil })})
	}
	a.Label = spec.Label
	if in.Label != nil {
		if strings.TrimSpace(*in.Label) == "" || !boundedText(*in.Label, maxLabelRunes) {
			bad["label"] = fmt.Sprintf("must be 1-%d characters", maxLabelRunes)
		}
		a.Label = *in.Label
	}
	o, keys := spec.OAuth, spec.KeyInstall
	if o != nil && o.Shop {
		a.Shop = strings.ToLower(strings.TrimSpace(in.Shop + in.ShopDomain))
		if in.Shop != "" && in.ShopDomain != "" || !oauth.ValidShop(a.Shop) {
			bad["shop"] = "must be the shop's <name>.myshopify.com domain"
		}
	}
	if keys != nil {
		a.StoreURL = strings.TrimRight(strings.TrimSpace(in.StoreURL), "/")
		if u, err := url.Parse(a.StoreURL); a.StoreURL == "" || len(a.StoreURL) > maxURLLen || err != nil || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			bad["storeUrl"] = "required: the store's URL, without query, fragment or credentials"
		} else if msg, ok := spec.Hosts(map[string]string{keys.URLKey: a.StoreURL}, h.d.AllowPrivateHosts)[keys.URLKey]; ok {
			bad["storeUrl"] = msg
		}
	}
	if o != nil && !o.App(h.d.OAuth).Configured() {
		return apigw.Error(http.StatusConflict, "oauth_not_configured", "OAuth installs of "+in.Platform+" are not configured here; paste the credentials with POST /v1/connections")
	}
	if (o == nil || !o.Shop) && (in.Shop != "" || in.ShopDomain != "") {
		bad["shop"] = "only for " + h.installable(func(s platform.Spec) bool { return s.OAuth != nil && s.OAuth.Shop })
	}
	if keys == nil && in.StoreURL != "" {
		bad["storeUrl"] = "only for " + h.installable(func(s platform.Spec) bool { return s.KeyInstall != nil })
	}
	tenant, err := h.d.Store.GetTenant(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "reading tenant", err)
	}
	a.ReturnURL = tenant.ReturnURL
	if in.ReturnURL != "" && h.consoleURL(in.ReturnURL) {
		// The console's install wizard comes back to itself.
		a.ReturnURL = in.ReturnURL
	} else if in.ReturnURL != "" {
		u, ok := checkReturnURL(in.ReturnURL)
		switch {
		case !ok:
			bad["returnUrl"] = "must be an https URL without credentials or fragment"
		case tenant.ReturnURL != "" && !sameOrigin(u, tenant.ReturnURL):
			bad["returnUrl"] = "must be on the origin of the return URL in the settings (PUT /v1/settings)"
		default:
			a.ReturnURL = in.ReturnURL
		}
	} else if a.ReturnURL == "" {
		bad["returnUrl"] = "required: no return URL in the settings (PUT /v1/settings)"
	}
	if in.ConnectionID != "" {
		conn, err := h.d.Store.GetConnection(ctx, c.tenant, in.ConnectionID)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && conn.Platform != in.Platform):
			bad["connectionId"] = "no such connection of this platform"
		case err != nil:
			return h.internal(ctx, "reading connection", err)
		}
		a.ReauthorizeID = in.ConnectionID
	}
	if len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	state := oauth.State{Tenant: c.tenant, Nonce: a.Nonce, Platform: in.Platform, Expires: a.Expires}.Token(h.d.Sealer)
	var authURL string
	redirect := h.redirectURI(in.Platform)
	if o != nil {
		var opts []oauth2.AuthCodeOption
		if o.PKCE {
			verifier := oauth2.GenerateVerifier()
			a.Verifier = h.d.Sealer.Seal(c.tenant, []byte(verifier))
			opts = append(opts, oauth2.S256ChallengeOption(verifier))
		}
		authURL = o.Config(h.d.OAuth, a.Shop, redirect).AuthCodeURL(state, opts...)
	} else {
		authURL = keys.AuthorizeURL(a.StoreURL, state, redirect)
	}
	if err := h.d.Store.PutOAuthAttempt(ctx, a); err != nil {
		return h.internal(ctx, "storing OAuth attempt", err)
	}
	return apigw.JSON(http.StatusOK, map[string]string{"authorizeUrl": authURL})
}

func sameOrigin(u *url.URL, other string) bool {
	o, err := url.Parse(other)
	return err == nil && strings.EqualFold(u.Scheme, o.Scheme) && strings.EqualFold(u.Host, o.Host)
}

// redirect sends the browser to the attempt's return URL with params.
func redirect(returnURL string, params url.Values) apigw.Response {
	u, err := url.Parse(returnURL)
	if err != nil { // checked when stored
		return apigw.Error(http.StatusBadRequest, "invalid_return_url", "the return URL is not valid")
	}
	q := u.Query()
	maps.Copy(q, params)
	u.RawQuery = q.Encode()
	return apigw.Response{StatusCode: http.StatusFound, Headers: map[string]string{
		"Location": u.String(), "Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8"}, Body: "redirecting\n"}
}

func fail(returnURL, code string) apigw.Response {
	return redirect(returnURL, url.Values{"error": {code}})
}

// takeState opens the state parameter and takes its stored attempt (once).
// Every failure is a JSON 400: without a valid state there is no tenant
// and no return URL to send the browser to.
func (h *Handler) takeState(ctx context.Context, platform, raw string) (store.OAuthAttempt, *apigw.Response) {
	st, err := oauth.ParseState(h.d.Sealer, raw, store.ValidTenantID)
	if err != nil || st.Platform != platform {
		resp := apigw.Error(http.StatusBadRequest, "invalid_state", "unknown, altered or used state")
		return store.OAuthAttempt{}, &resp
	}
	a, err := h.d.Store.TakeOAuthAttempt(ctx, st.Tenant, st.Nonce)
	if errors.Is(err, store.ErrNotFound) {
		resp := apigw.Error(http.StatusBadRequest, "invalid_state", "unknown, altered or used state")
		return a, &resp
	}
	if err != nil {
		resp := h.internal(ctx, "taking OAuth attempt", err)
		return a, &resp
	}
	if a.Platform != platform || !h.d.Now().Before(a.Expires) || !h.d.Now().Before(st.Expires) {
		resp := apigw.Error(http.StatusBadRequest, "state_expired", "the authorisation took too long; start again")
		return a, &resp
	}
	return a, nil
}

// maxCallbackQuery bounds a callback's query string.
const maxCallbackQuery = 4096

// TokenExchangeTimeout bounds a callback's token exchange (and Mailchimp's
// metadata call), cut to the request's deadline (deadline.go).
const TokenExchangeTimeout = 20 * time.Second

// oauthCallback is the browser's return from the platform (GET).
func (h *Handler) oauthCallback(ctx context.Context, c call) apigw.Response {
	name := c.params["platform"]
	spec, ok := h.spec(name)
	if !ok || (spec.OAuth == nil && spec.KeyInstall == nil) {
		return notFound("platform")
	}
	if len(c.req.RawQueryString) > maxCallbackQuery {
		return apigw.Error(http.StatusBadRequest, "bad_query", "query string too long")
	}
	q, err := url.ParseQuery(c.req.RawQueryString)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "bad_query", "query string is not decodable")
	}
	o := spec.OAuth
	if o == nil {
		return h.keysReturn(ctx, name, q)
	}
	if o.VerifyCallback != nil && !o.VerifyCallback(o.App(h.d.OAuth), q) {
		return apigw.Error(http.StatusUnauthorized, "bad_signature", "the callback's hmac does not verify")
	}
	if o.Shop && !oauth.ValidShop(q.Get("shop")) {
		return apigw.Error(http.StatusBadRequest, "invalid_shop", "shop must be a <name>.myshopify.com domain")
	}
	a, errResp := h.takeState(ctx, name, q.Get("state"))
	if errResp != nil {
		return *errResp
	}
	if o.Shop && !strings.EqualFold(q.Get("shop"), a.Shop) {
		return apigw.Error(http.StatusBadRequest, "invalid_shop", "the callback's shop is not the one being installed")
	}
	if e := q.Get("error"); e != "" {
		if e != "access_denied" {
			e = "authorization_failed"
		}
		return fail(a.ReturnURL, e)
	}
	code := q.Get("code")
	if code == "" || len(code) > 1024 {
		return fail(a.ReturnURL, "missing_code")
	}
	xctx, cancel := stepContext(context.WithValue(ctx, oauth2.HTTPClient, h.d.OAuthHTTP), TokenExchangeTimeout, StoreReserve)
	defer cancel()
	var opts []oauth2.AuthCodeOption
	if o.PKCE {
		verifier, err := h.d.Sealer.Open(a.TenantID, a.Verifier)
		if err != nil {
			return h.internal(ctx, "opening PKCE verifier", err)
		}
		opts = append(opts, oauth2.VerifierOption(string(verifier)))
	}
	tok, err := o.Config(h.d.OAuth, a.Shop, h.redirectURI(name)).Exchange(xctx, code, opts...)
	if err != nil {
		h.d.Log.WarnContext(ctx, name+" token exchange failed", "tenant", a.TenantID, "code", oauth.ErrorCode(err))
		return fail(a.ReturnURL, "token_exchange_failed")
	}
	cfg, err := o.Credentials(xctx, platform.Grant{Token: tok, Apps: h.d.OAuth, Shop: a.Shop, HTTP: h.d.OAuthHTTP,
		AllowPrivate: h.d.AllowPrivateHosts, NewToken: randomToken})
	if err != nil {
		h.d.Log.WarnContext(ctx, name+" credentials failed", "tenant", a.TenantID, "err", err)
		ce := &platform.CredentialsError{Code: "token_exchange_failed"}
		errors.As(err, &ce)
		return fail(a.ReturnURL, ce.Code)
	}
	id, err := h.saveAuthorized(ctx, a, cfg)
	if err != nil {
		h.d.Log.WarnContext(ctx, "storing an authorised connection failed", "tenant", a.TenantID, "err", err)
		return fail(a.ReturnURL, "connection_not_saved")
	}
	return redirect(a.ReturnURL, url.Values{"connection": {id}})
}

// saveAuthorized stores what an authorisation granted: a new draft
// connection, or the renewed credentials of the connection the attempt
// names (which leaves needs_reauthorization).
func (h *Handler) saveAuthorized(ctx context.Context, a store.OAuthAttempt, creds map[string]string) (string, error) {
	if a.ReauthorizeID != "" {
		for attempt := 0; ; attempt++ {
			conn, err := h.d.Store.GetConnection(ctx, a.TenantID, a.ReauthorizeID)
			if err != nil {
				return "", err
			}
			cfg, err := OpenConfig(h.d.Sealer, conn)
			if err != nil {
				return "", err
			}
			spec, _ := h.spec(conn.Platform)
			if spec.OAuth != nil {
				for _, k := range spec.OAuth.Replaces {
					delete(cfg, k)
				}
			}
			delete(cfg, "tokenExpiry")
			for k, v := range creds {
				// Kept: tokens the server generated (the URL token
				// Mailchimp calls with, the secret Klaviyo's webhooks sign
				// with): the platform's subscriptions hold them.
				if !(spec.Has(k, platform.Generated) || spec.Has(k, platform.GeneratedIfEmpty)) || cfg[k] == "" {
					cfg[k] = v
				}
			}
			reinstalled := conn.Status == store.StatusDisconnected
			if conn.Status == store.StatusNeedsReauthorization || reinstalled {
				conn.Status = ""
				conn.NextSyncAt = h.d.Now()
			}
			if err := h.sealConfig(&conn, cfg); err != nil {
				return "", err
			}
			updated, err := h.d.Store.UpdateConnection(ctx, conn)
			if errors.Is(err, store.ErrConflict) && attempt < 5 {
				continue // changed meanwhile: apply to the new version
			}
			if err == nil && reinstalled && updated.Enabled {
				// Re-installed after an uninstall (which removed our
				// subscriptions): subscribe again, as a first
				// registration (the ids kept from before were removed by
				// the platform, not dropped: not a repair).
				h.removeWebhookState(ctx, updated)
				h.registerWebhooks(ctx, updated, nil)
			}
			return conn.ID, err
		}
	}
	id := store.NewConnectionID(a.TenantID)
	if err := h.insertDraft(ctx, a, id, creds); err != nil {
		return "", err
	}
	return id, nil
}

// insertDraft stores the new draft connection id that attempt a
// installs, with config creds.
func (h *Handler) insertDraft(ctx context.Context, a store.OAuthAttempt, id string, creds map[string]string) error {
	conn := store.Connection{
		TenantID: a.TenantID, ID: id, Platform: a.Platform, Label: a.Label,
		SyncIntervalHours: 24, Enabled: true, Status: store.StatusDraft,
		DoubleOptInExpiryDays: consent.DefaultDoubleOptInExpiryDays,
	}
	if err := h.sealConfig(&conn, creds); err != nil {
		return err
	}
	conn.NextSyncAt = schedule.AfterStart(conn.TenantID, conn.ID, conn.SyncIntervalHours, h.d.Now())
	_, err := h.d.Store.InsertConnection(ctx, conn)
	return err
}

// oauthKeys receives the keys a store grants (WooCommerce's, POSTed
// server to server; platform.KeyInstall). The state they carry is all
// that authenticates the request, so it is checked like a callback's and
// claimed once. WooCommerce deletes the key unless we answer 200.
func (h *Handler) oauthKeys(ctx context.Context, c call) apigw.Response {
	spec, ok := h.spec(c.params["platform"])
	if !ok || spec.KeyInstall == nil {
		return notFound("platform")
	}
	in, err := spec.KeyInstall.Keys(c.body)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "malformed_json", "request body is not the expected JSON")
	}
	st, err := oauth.ParseState(h.d.Sealer, in.State, store.ValidTenantID)
	if err != nil || st.Platform != string(spec.Name) {
		return apigw.Error(http.StatusBadRequest, "invalid_state", "unknown, altered or used state")
	}
	if !h.d.Now().Before(st.Expires) {
		return apigw.Error(http.StatusBadRequest, "state_expired", "the authorisation took too long; start again")
	}
	if len(in.Invalid) > 0 {
		return apigw.Invalid(in.Invalid)
	}
	id := store.NewConnectionID(st.Tenant)
	a, err := h.d.Store.ClaimOAuthAttempt(ctx, st.Tenant, st.Nonce, id)
	if errors.Is(err, store.ErrNotFound) {
		return apigw.Error(http.StatusBadRequest, "invalid_state", "unknown, altered or used state")
	}
	if err != nil {
		return h.internal(ctx, "claiming OAuth attempt", err)
	}
	if a.Platform != string(spec.Name) || !h.d.Now().Before(a.Expires) {
		return apigw.Error(http.StatusBadRequest, "state_expired", "the authorisation took too long; start again")
	}
	creds := spec.KeyInstall.Credentials(a.StoreURL, in.Key, in.Secret, a.ReauthorizeID != "", randomToken)
	if a.ReauthorizeID != "" {
		if _, err := h.saveAuthorized(ctx, a, creds); err != nil {
			return h.internal(ctx, "storing renewed store keys", err)
		}
		return apigw.JSON(http.StatusOK, map[string]string{})
	}
	if err := h.insertDraft(ctx, a, id, creds); err != nil {
		return h.internal(ctx, "creating connection", err)
	}
	return apigw.JSON(http.StatusOK, map[string]string{})
}

// keysReturn is the browser's return from a store's key authorisation
// page (WooCommerce's, after the keys were POSTed): success=1|0 and our
// state as user_id.
func (h *Handler) keysReturn(ctx context.Context, name string, q url.Values) apigw.Response {
	a, errResp := h.takeState(ctx, name, q.Get("user_id"))
	if errResp != nil {
		return *errResp
	}
	if q.Get("success") != "1" {
		return fail(a.ReturnURL, "access_denied")
	}
	id := a.ConnectionID
	if a.ReauthorizeID != "" && id != "" {
		id = a.ReauthorizeID
	}
	if id == "" {
		return fail(a.ReturnURL, "keys_not_received")
	}
	if _, err := h.d.Store.GetConnection(ctx, a.TenantID, id); err != nil {
		return fail(a.ReturnURL, "keys_not_received")
	}
	return redirect(a.ReturnURL, url.Values{"connection": {id}})
}

// activate turns a draft into an active connection and starts its
// install sync: 202 {syncId}.
func (h *Handler) activate(ctx context.Context, c call) apigw.Response {
	var in struct {
		DryRun bool `json:"dryRun"`
	}
	if len(c.body) > 0 {
		if resp, ok := decode(c.body, &in); !ok {
			return resp
		}
	}
	conn, cfg, errResp := h.loadConnection(ctx, c)
	if errResp != nil {
		return *errResp
	}
	if conn.Status != store.StatusDraft {
		return apigw.Error(http.StatusConflict, "not_draft", "only a draft connection is activated")
	}
	if !conn.Enabled {
		return apigw.Error(http.StatusConflict, "connection_disabled", "the connection is disabled; enable it to sync")
	}
	conn.Status = ""
	if bad := merged(h.validateConnection(conn, cfg), h.checkOutbound(conn, cfg)); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	if in.DryRun {
		// The install's preview: a dry install sync of the draft, which
		// stays a draft (activate it when the counts look right).
		return h.startRun(ctx, syncrun.Request{TenantID: c.tenant, ConnectionID: conn.ID, Trigger: store.TriggerInstall, DryRun: true},
			"starting dry install sync", map[string]any{"dryRun": true})
	}
	conn.NextSyncAt = schedule.AfterStart(conn.TenantID, conn.ID, conn.SyncIntervalHours, h.d.Now())
	conn, err := h.d.Store.UpdateConnection(ctx, conn)
	if errors.Is(err, store.ErrConflict) {
		return apigw.Error(http.StatusConflict, "conflict", "the connection changed meanwhile; retry")
	}
	if err != nil {
		return h.internal(ctx, "activating connection", err)
	}
	run, err := h.d.Starter.Start(ctx, c.tenant, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		return h.internal(ctx, "starting install sync", err)
	}
	h.d.Notify.EmitLogged(ctx, c.tenant, notify.Activated(conn, run))
	h.registerWebhooks(ctx, conn, nil)
	return apigw.JSON(http.StatusAccepted, map[string]string{"syncId": run.ID})
}
