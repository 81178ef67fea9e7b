package hubapi

import (
	"context"
	"fmt"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/routes"
)

// endpoint is the handler method of one route, and whether the admin token
// (rather than a tenant's API key) authenticates it.
type endpoint struct {
	admin bool
	fn    func(ctx context.Context, c call) apigw.Response
}

// endpoints binds each of the api function's route keys (pkg/routes, the
// table the CDK app deploys and the sandbox serves) to its handler method.
func (h *Handler) endpoints() map[string]endpoint {
	return map[string]endpoint{
		"POST /admin/tenants":                {true, h.createTenant},
		"POST /v1/connections":               {false, h.createConnection},
		"GET /v1/connections":                {false, h.listConnections},
		"GET /v1/connections/{id}":           {false, h.getConnection},
		"PATCH /v1/connections/{id}":         {false, h.patchConnection},
		"DELETE /v1/connections/{id}":        {false, h.deleteConnection},
		"POST /v1/connections/{id}/syncs":    {false, h.startSync},
		"GET /v1/syncs":                      {false, h.listSyncs},
		"GET /v1/syncs/{id}":                 {false, h.getSync},
		"GET /v1/syncs/{id}/report":          {false, h.getReport},
		"GET /v1/contacts":                   {false, h.listContacts},
		"GET /v1/contacts/export":            {false, h.exportContacts},
		"GET /v1/contacts/{id}":              {false, h.getContact},
		"DELETE /v1/contacts/{id}":           {false, h.deleteContact},
		"PUT /v1/contacts/{id}/subscription": {false, h.putSubscription},
		"GET /v1/contacts/{id}/history":      {false, h.contactHistory},
		"GET /v1/groups":                     {false, h.listGroups},
		"PUT /v1/sms-provider":               {false, h.putSMSProvider},
		"GET /v1/syncs/{id}/report.csv":      {false, h.getReportCSV},
		"GET /v1/usage":                      {false, h.getUsage},
		"PUT /v1/usage/cap":                  {false, h.putUsageCap},
		"GET /console":                       {false, h.consolePage},
		"POST /console/session":              {false, h.signIn},
		"GET /console/session":               {false, h.getSession},
		"DELETE /console/session":            {false, h.signOut},
		"GET /console/login":                 {false, h.signInWithLink},
		"GET /console/{asset}":               {false, h.consoleAsset},
		"POST /v1/console/links":             {false, h.createConsoleLink},
		"PUT /v1/notifications/endpoint":     {false, h.putNotifyEndpoint},
		"GET /v1/notifications/endpoint":     {false, h.getNotifyEndpoint},
		"DELETE /v1/notifications/endpoint":  {false, h.deleteNotifyEndpoint},
		"GET /v1/notifications":              {false, h.listNotifications},
		"GET /v1/connections/{id}/options":   {false, h.getOptions},
		"POST /v1/connections/authorize":     {false, h.authorize},
		"POST /v1/connections/{id}/activate": {false, h.activate},
		"GET /v1/settings":                   {false, h.getSettings},
		"PUT /v1/settings":                   {false, h.putSettings},
		"GET /oauth/{platform}/callback":     {false, h.oauthCallback},
		"POST /oauth/{platform}/callback":    {false, h.oauthKeys},
		"GET /v1/sms-provider/templates":     {false, h.getTemplates},
		"GET /v1/sms-provider":               {false, h.getSMSProvider},
	}
}

// bindRoutes pairs the api function's routes, in table order, with their
// handler methods. A route without a handler, or a handler without a route,
// is a programming error: New panics, so every test that builds a Handler
// catches it.
func (h *Handler) bindRoutes() []route {
	fns := h.endpoints()
	var out []route
	for _, r := range routes.Of(routes.API) {
		e, ok := fns[r.Key()]
		if !ok {
			panic(fmt.Sprintf("hubapi: route %s has no handler", r.Key()))
		}
		delete(fns, r.Key())
		out = append(out, route{method: r.Method, pattern: r.Path, admin: e.admin, public: r.Public(), fn: e.fn})
	}
	for key := range fns {
		panic(fmt.Sprintf("hubapi: handler for %s has no route in pkg/routes", key))
	}
	return out
}
