package stack

// Route is one HTTP API route and the function serving it.
type Route struct {
	Method, Path, Function string
}

// Routes returns the HTTP API routes of design.md section 6.
func Routes() []Route {
	return []Route{
		{"POST", "/admin/tenants", "api"},
		{"POST", "/v1/connections", "api"},
		{"GET", "/v1/connections", "api"},
		{"DELETE", "/v1/connections/{connectionId}", "api"},
		{"POST", "/v1/syncs", "api"},
		{"GET", "/v1/syncs/{syncId}", "api"},
		{"GET", "/v1/contacts", "api"},
		{"GET", "/v1/contacts/{contactId}", "api"},
		{"GET", "/v1/groups", "api"},
		{"PUT", "/v1/sms-provider", "api"},
		{"POST", "/webhooks/{platform}/{connectionId}", "webhook"},
		{"GET", "/webhooks/{platform}/{connectionId}", "webhook"},
		{"POST", "/sms/inbound/{provider}/{tenantId}", "inbound"},
		{"GET", "/health", "health"},
	}
}
