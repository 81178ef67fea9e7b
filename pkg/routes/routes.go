// Package routes is the HTTP surface of contactsync in one table: every
// API Gateway route and the function that serves it. The serving code
// dispatches on it (pkg/hubapi binds a handler method to each of the api
// function's routes and refuses to build when a route has no handler or a
// handler no route; pkg/webhook and pkg/inbound match their path from it),
// the CDK app (infra/stack) deploys exactly it, the sandbox (pkg/dev/sandbox)
// serves exactly it, and infra's tests compare the synthesized template
// against it in both directions. A route therefore cannot be served locally
// without being deployed, or deployed without being served.
//
// It is plain data with no imports, so the infra module reads it without
// pulling in the handlers' dependencies, and the main module never needs
// the CDK.
package routes

// Route is one HTTP API route: a method, a path in API Gateway's syntax
// ("/v1/connections/{id}") and the function (functions/<Function>) that
// serves it.
type Route struct {
	Method, Path, Function string
}

// Key is the route's API Gateway route key, "<METHOD> <path>".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Functions serving HTTP routes (names in resources.Functions()).
const (
	API     = "api"
	Webhook = "webhook"
	Inbound = "inbound"
	Health  = "health"
)

// Paths the webhook, inbound and health functions serve.
const (
	WebhookPath = "/webhooks/{platform}/{connectionId}"
	InboundPath = "/sms/inbound/{provider}/{tenantId}"
	HealthPath  = "/health"
	// OAuthCallbackPath is where platforms send an OAuth install back.
	OAuthCallbackPath = "/oauth/{platform}/callback"
)

// All returns every route. The api function's routes are in matching
// order: the first matching path wins (/v1/contacts/export before
// /v1/contacts/{id}).
func All() []Route {
	return []Route{
		{"POST", "/admin/tenants", API},
		{"POST", "/v1/connections", API},
		// Before /v1/connections/{id}: the first matching path wins.
		{"POST", "/v1/connections/authorize", API},
		{"GET", "/v1/connections", API},
		{"GET", "/v1/connections/{id}", API},
		{"PATCH", "/v1/connections/{id}", API},
		{"DELETE", "/v1/connections/{id}", API},
		{"POST", "/v1/connections/{id}/syncs", API},
		{"GET", "/v1/syncs", API},
		{"GET", "/v1/syncs/{id}", API},
		{"GET", "/v1/syncs/{id}/report", API},
		{"GET", "/v1/contacts", API},
		{"GET", "/v1/contacts/export", API},
		{"GET", "/v1/contacts/{id}", API},
		{"DELETE", "/v1/contacts/{id}", API},
		{"PUT", "/v1/contacts/{id}/subscription", API},
		{"GET", "/v1/contacts/{id}/history", API},
		{"GET", "/v1/groups", API},
		{"PUT", "/v1/sms-provider", API},
		{"GET", "/v1/syncs/{id}/report.csv", API},
		{"GET", "/v1/usage", API},
		{"PUT", "/v1/usage/cap", API},
		// The hub console (pkg/console): its page and assets, sign-in with
		// an API key or a single-use link, and the links a hub makes.
		{"GET", "/console", API},
		{"POST", "/console/session", API},
		{"GET", "/console/session", API},
		{"DELETE", "/console/session", API},
		{"GET", "/console/login", API},
		{"GET", "/console/{asset}", API},
		{"POST", "/v1/console/links", API},
		{"PUT", "/v1/notifications/endpoint", API},
		{"GET", "/v1/notifications/endpoint", API},
		{"DELETE", "/v1/notifications/endpoint", API},
		{"GET", "/v1/notifications", API},
		{"GET", "/v1/connections/{id}/options", API},
		{"POST", "/v1/connections/{id}/activate", API},
		{"GET", "/v1/settings", API},
		{"PUT", "/v1/settings", API},
		// OAuth installs: the platforms' callbacks (public; the state
		// authenticates them). WooCommerce POSTs its keys.
		{"GET", OAuthCallbackPath, API},
		{"POST", OAuthCallbackPath, API},
		// What the tenant's messages say and cost (the install wizard's
		// consent step).
		{"GET", "/v1/sms-provider/templates", API},
		// The tenant's SMS provider settings without a secret (the
		// console's Messaging page).
		{"GET", "/v1/sms-provider", API},
		// Deliveries, and the GET some platforms (Mailchimp) send to
		// validate a URL before using it.
		{"POST", WebhookPath, Webhook},
		{"GET", WebhookPath, Webhook},
		{"POST", InboundPath, Inbound},
		{"GET", HealthPath, Health},
	}
}

// Public reports whether the route is served without credentials: the
// console's page and assets, the two ways to sign in to it, and the OAuth
// callbacks. Every
// other api route needs an API key (or the console's session cookie), the
// admin routes the admin token.
func (r Route) Public() bool {
	switch r.Key() {
	case "GET /console", "GET /console/{asset}", "POST /console/session", "GET /console/login":
		return true
	case "GET " + OAuthCallbackPath, "POST " + OAuthCallbackPath:
		// The platforms call them (through the merchant's browser, or
		// WooCommerce's server); the sealed, single-use state
		// authenticates them.
		return true
	}
	return false
}

// Of returns the routes function fn serves, in table order.
func Of(fn string) []Route {
	var out []Route
	for _, r := range All() {
		if r.Function == fn {
			out = append(out, r)
		}
	}
	return out
}
