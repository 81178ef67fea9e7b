package stack

import "github.com/contactsync/contactsync/pkg/routes"

// Routes returns the HTTP API routes to deploy: exactly the table the
// serving code dispatches on (pkg/routes: the Hub API's, webhook, inbound
// and health routes), which the sandbox serves too. The stack keeps no list
// of its own.
func Routes() []routes.Route { return routes.All() }
