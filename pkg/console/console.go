// Package console is the hub console: a few static files — one HTML page,
// a handful of ES modules and a style sheet — embedded in the api function
// and served under /console by the Hub API handler (pkg/hubapi binds the
// routes of pkg/routes to it). The page talks to nothing but the Hub API
// (/v1/...) and its own assets, with the session cookie the sign-in sets;
// there is no server-side rendering and no private endpoint.
//
// Why plain ES modules: no build step, no bundler, no framework to pin or
// upgrade; a backend team reads them as they are served. Every asset is
// in this package, so there is nothing fetched from another origin and
// nothing to pin outside git; the first page loads every module, 66 KB of
// script (the browser test holds it under 100 KB).
// Charts are SVG drawn by chart.js (bars and a line, ~100 lines): the
// console needs three small charts, which does not justify a library.
//
// The install wizard (wizard.js): connect with OAuth (the platform's
// consent page, then back to /console?connection=<draft>, which app.js
// turns into the draft's wizard) or pasted keys; a draft without an
// audience (Mailchimp through OAuth) chooses it first; the consent step
// shows the exact texts the tenant's templates send and their credits
// (GET /v1/sms-provider/templates); then a dry-run preview and
// activation. A contact's page unsubscribes and subscribes again, and
// shows the API's 409 consent_required next to the button when the
// person's own STOP forbids it.
//
// The Messaging page (messaging.js) sets up the SMS provider: the current
// settings (GET /v1/sms-provider: credentials by name only), a form with
// the chosen provider's credential fields — a table in the module, as the
// API publishes no field list — saved with PUT /v1/sms-provider (the
// provider's 422 refusal by the form, a 400 by its field, then what was
// set up: inbound pointed at us, or the manual step), and every message
// with its text and credits (GET /v1/sms-provider/templates).
//
// Security: a strict Content-Security-Policy (script, style, connect and
// images from the page's own origin only; no inline script or style
// element, no framing, no form posts elsewhere); every value the API
// returns is put in the page as text (textContent), never as HTML.
package console

import (
	"embed"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// Asset is one embedded file with its content type.
type Asset struct {
	Name        string
	ContentType string
	Body        []byte
}

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
}

// Page is the console's HTML page (GET /console).
func Page() Asset {
	a, ok := Get("index.html")
	if !ok {
		panic("console: index.html is not embedded")
	}
	return a
}

// Get returns the embedded asset called name (one path segment, as the
// route /console/{asset} gives it), or false.
func Get(name string) (Asset, bool) {
	if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return Asset{}, false
	}
	ct, ok := types[path.Ext(name)]
	if !ok {
		return Asset{}, false
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return Asset{}, false
	}
	return Asset{Name: name, ContentType: ct, Body: b}, true
}

// CSP is the Content-Security-Policy of every console response.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Headers are the security headers of every console response.
func Headers() map[string]string {
	return map[string]string{
		"Content-Security-Policy": CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-cache",
	}
}
