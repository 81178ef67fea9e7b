// Package hubapi is the Hub API Lambda's handler (design.md section 6):
// tenants, connections, syncs, contacts, groups, the SMS provider and the
// notification endpoint and its delivery log (notifications.go), over
// API Gateway HTTP API events, authenticated by API key (Bearer), with
// opaque cursors and the {"error":{"code","message"}} error shape.
//
// A connection's config is checked, sealed and shown from its platform's
// spec (pkg/platform; Deps.Specs, the supported platforms by default):
// required and unknown keys, URLs and hosts, secrets never returned, the
// keys whose change checks the credentials again or moves the webhooks;
// the OAuth and store-key installs come from the spec too.
//
// Connections are checked with the platform when they are created or
// their credentials change (setup.go: 422 credentials_rejected with the
// platform's reason, 502 platform_unreachable; nothing stored), and GET
// /v1/connections/{id}/options lists what the install wizard offers,
// through Deps.Platforms (connectors.Registry in the composition root).
//
// The OAuth installs (oauth.go) add POST /v1/connections/authorize, draft
// connections and their activation, tenant settings (the return URL) and
// the public /oauth/{platform}/callback routes, which the sealed,
// single-use state authenticates instead of an API key.
//
// PUT /v1/sms-provider (provider.go) checks the provider's credentials
// and points the sender's inbound messages at our inbound URL where the
// provider's API allows, through Deps.SMSSetup (smsproviders.Default.Setup): 422
// credentials_rejected, 502 provider_unreachable, nothing stored; the
// answer's "inbound" says what was configured or the manual step.
// GET /v1/sms-provider (providersettings.go) reads the settings back
// without a secret: credentials by name, the inbound URL without its token.
//
// Platform webhooks (hooks.go): activation (and a create with pasted keys,
// and re-enabling) registers the connection's webhook subscriptions
// through Deps.Webhooks (hooks.Keeper), disabling and deleting remove
// them; a connection shows their state as `webhooks: {status, checkedAt,
// reason?}`. A connection the platform uninstalled is `disconnected`.
//
// One deadline per request (deadline.go): the invocation's, less
// AnswerReserve; each platform call of a request is cut to what is left of
// it, keeping StoreReserve for the writes after it, and a webhook
// registration the platform holds past it is `failing` in the answer
// (retried by the scheduler) rather than a request Lambda stops.
package hubapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/connectors/platforms"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// MaxBody is the largest request body the API accepts (413 above it).
const MaxBody = 256 * 1024

// Deps are the handler's collaborators.
type Deps struct {
	Store   *store.Store
	Sealer  *seal.Sealer
	Starter syncrun.Starter
	// Outbox receives write-backs of hub-side opt-outs (nil: none).
	Outbox interface {
		Send(ctx context.Context, messages ...any) error
	}
	AdminToken    string
	PublicBaseURL string
	// AllowPrivateHosts accepts any http(s) base URL for connections and
	// SMS providers (local fakes); off, they must be https on the
	// platform's own hosts (pkg/endpoints). See safehttp.EnvAllowPrivateHosts.
	AllowPrivateHosts bool
	Log               *slog.Logger
	Now               func() time.Time
	// Notify makes notifications to the hub (nil: none).
	Notify *notify.Notifier

	// Platforms checks credentials when a connection is created or its
	// credentials change, and lists install options (nil: no checks, and
	// GET /v1/connections/{id}/options answers 503; the composition root
	// always sets it).
	Platforms Platforms
	// Fields lists a connection's platform fields (connectors.Registry.
	// Fields; the connection's config sealed in it): a field map is
	// checked against them when it is set. nil: only the map's targets
	// are checked.
	Fields func(ctx context.Context, conn store.Connection) ([]source.Field, error)
	// OAuth are the platforms' OAuth apps (POST /v1/connections/authorize
	// and the /oauth/{platform}/callback routes); OAuthHTTP is the client
	// of their token and metadata endpoints (nil: a safehttp client).
	OAuth     oauth.Apps
	OAuthHTTP *http.Client
	// SMSSetup checks an SMS provider's credentials and points the
	// sender's inbound messages at s.InboundURL where the provider allows
	// (PUT /v1/sms-provider; smsproviders.Default.Setup in the composition root).
	// nil: no provider calls, and the answer names the manual step.
	SMSSetup func(ctx context.Context, s sms.Settings) (sms.InboundSetup, error)
	// Webhooks registers a connection's platform webhooks when it is
	// activated or enabled and removes them when it is disabled or
	// deleted (hooks.Keeper; nil: none).
	Webhooks Webhooks
	// Specs are the platforms connections may be of; their configs are
	// checked against them (nil: platforms.All(), the supported ones).
	Specs platform.Specs
	// SMSProviders are the SMS providers a tenant may set up; settings
	// are checked against their specs (nil: smsproviders.All()).
	SMSProviders sms.Specs
}

// Handler serves the Hub API.
type Handler struct {
	d  Deps
	rs []route // routes.Of(routes.API) bound to their methods
}

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.PublicBaseURL = strings.TrimRight(d.PublicBaseURL, "/")
	if d.OAuthHTTP == nil {
		d.OAuthHTTP = safehttp.New(safehttp.Options{AllowPrivate: d.AllowPrivateHosts, Timeout: 30 * time.Second})
	}
	if d.Specs == nil {
		d.Specs = platforms.All()
	}
	if d.SMSProviders == nil {
		d.SMSProviders = smsproviders.All()
	}
	h := &Handler{d: d}
	h.rs = h.bindRoutes()
	return h
}

type route struct {
	method, pattern string
	admin           bool
	public          bool // served without credentials (routes.Route.Public)
	fn              func(ctx context.Context, c call) apigw.Response
}

// call is one authenticated request.
type call struct {
	req    apigw.Request
	tenant string
	params map[string]string
	body   []byte
	// session is the console session that authenticated the call (nil for
	// an API key).
	session *store.Session
}

// Handle serves one API Gateway request.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	ctx, cancel := requestContext(ctx)
	defer cancel()
	path, method := apigw.Path(req), apigw.Method(req)
	var allowed []string
	matched := ""
	for _, r := range h.rs {
		params, ok := apigw.Match(r.pattern, path)
		if !ok || (matched != "" && matched != r.pattern) {
			continue // the first matching pattern wins (/contacts/export before /contacts/{id})
		}
		matched = r.pattern
		if r.method != method {
			allowed = append(allowed, r.method)
			continue
		}
		c := call{req: req, params: params}
		body, err := apigw.Body(req, MaxBody)
		switch {
		case errors.Is(err, apigw.ErrTooLarge):
			return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", "request body over 256 KiB"), nil
		case err != nil:
			return apigw.Error(http.StatusBadRequest, "bad_body", "request body is not decodable"), nil
		}
		c.body = body
		if r.public {
			return r.fn(ctx, c), nil
		}
		token, ok := bearerToken(apigw.Header(req, "Authorization"))
		switch {
		case !ok && !r.admin:
			// The console's session cookie, the only other credential.
			sess, resp, ok := h.sessionAuth(ctx, req)
			if !ok {
				return resp, nil
			}
			c.tenant, c.session = sess.TenantID, &sess
		case !ok:
			return unauthorized(), nil
		case r.admin:
			if h.d.AdminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(h.d.AdminToken)) != 1 {
				return unauthorized(), nil
			}
		default:
			tenant, err := h.d.Store.Authenticate(ctx, token)
			if errors.Is(err, store.ErrNotFound) {
				return unauthorized(), nil
			}
			if err != nil {
				return h.internal(ctx, "authenticating", err), nil
			}
			c.tenant = tenant
		}
		if resp, ok := checkParams(r.pattern, c.params); !ok {
			return resp, nil
		}
		return r.fn(ctx, c), nil
	}
	if len(allowed) > 0 {
		resp := apigw.Error(http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here")
		resp.Headers["Allow"] = strings.Join(allowed, ", ")
		return resp, nil
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such route"), nil
}

func unauthorized() apigw.Response {
	return apigw.Error(http.StatusUnauthorized, "unauthorized", "missing or invalid credentials")
}

func notFound(what string) apigw.Response {
	return apigw.Error(http.StatusNotFound, "not_found", what+" not found")
}

// internal logs err (never shown to the caller) and answers 500.
func (h *Handler) internal(ctx context.Context, doing string, err error) apigw.Response {
	h.d.Log.ErrorContext(ctx, "hub api error", "doing", doing, "err", err)
	return apigw.Error(http.StatusInternalServerError, "internal", "internal error")
}

// storeError answers a store call's failure about one resource: 404 when
// it does not exist, else a logged 500 (internal).
func (h *Handler) storeError(ctx context.Context, what, doing string, err error) apigw.Response {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(what)
	}
	return h.internal(ctx, doing, err)
}

// page parses limit (default 50, max 100) and cursor.
func page(req apigw.Request) (int, string, map[string]string) {
	q := req.QueryStringParameters
	limit := 50
	if v := q["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, "", map[string]string{"limit": "must be an integer from 1 to 100"}
		}
		limit = n
	}
	return limit, q["cursor"], nil
}

// list is the shape of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func listOf[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}

func (h *Handler) listError(ctx context.Context, err error) apigw.Response {
	if errors.Is(err, store.ErrBadCursor) {
		return apigw.Invalid(map[string]string{"cursor": "invalid cursor"})
	}
	if errors.Is(err, store.ErrBadFilter) {
		return apigw.Invalid(map[string]string{"filter": "too long"})
	}
	return h.internal(ctx, "listing", err)
}

func (h *Handler) createTenant(ctx context.Context, c call) apigw.Response {
	var in struct {
		Name string `json:"name"`
	}
	if len(c.body) > 0 {
		if resp, ok := decode(c.body, &in); !ok {
			return resp
		}
	}
	t, key, err := h.d.Store.CreateTenant(ctx, in.Name)
	if err != nil {
		return h.internal(ctx, "creating tenant", err)
	}
	return apigw.JSON(http.StatusCreated, map[string]string{"tenantId": t.ID, "apiKey": key})
}
