package routes_test

import (
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/routes"
)

func TestAll_UniqueKeysKnownFunctionsAPIGatewaySyntax(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range routes.All() {
		if seen[r.Key()] {
			t.Errorf("route %s listed twice", r.Key())
		}
		seen[r.Key()] = true
		if _, ok := resources.FunctionByName(r.Function); !ok {
			t.Errorf("route %s: function %q is not in resources.Functions()", r.Key(), r.Function)
		}
		if !strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "+}") || (r.Path != "/" && strings.HasSuffix(r.Path, "/")) {
			t.Errorf("route %s: not a plain API Gateway path", r.Key())
		}
	}
	// The Hub API routes the issue found missing on AWS are in the table.
	for _, k := range []string{
		"GET /v1/connections/{id}", "PATCH /v1/connections/{id}", "POST /v1/connections/{id}/syncs",
		"GET /v1/syncs", "GET /v1/syncs/{id}/report", "GET /v1/syncs/{id}/report.csv", "GET /v1/contacts/export", "DELETE /v1/contacts/{id}",
		"PUT /v1/contacts/{id}/subscription", "GET /v1/contacts/{id}/history",
		"POST /webhooks/{platform}/{connectionId}", "POST /sms/inbound/{provider}/{tenantId}", "GET /health",
		"GET /v1/usage", "PUT /v1/usage/cap",
	} {
		if !seen[k] {
			t.Errorf("%s is not in the table", k)
		}
	}
	if seen["POST /v1/syncs"] {
		t.Error("POST /v1/syncs is served by nobody and must not be listed")
	}
	if n := len(routes.Of(routes.API)); n != 27 {
		t.Errorf("%d Hub API routes, want 27", n)
	}
}
