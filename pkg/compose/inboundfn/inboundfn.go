// Package inboundfn builds the inbound function's handler
// (functions/inbound): inbound SMS. The function's main, the sandbox,
// `make invoke` and the tests build it here from a compose.Env; the main
// imports this package alone, so the function links and initializes no
// other handler's packages.
package inboundfn

import (
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/inbound"
)

// Name is the function's name in resources.Functions.
const Name = "inbound"

// New is the inbound-SMS handler built from e.
func New(e compose.Env) *inbound.Handler {
	st := e.Store()
	return inbound.New(inbound.Deps{
		Store: st, Opener: e.Sealer, Outbox: e.Sender(e.Names.OutboxQueueURL), PublicBaseURL: e.PublicBaseURL, Now: e.Now, Log: e.Logger(),
		Notify: e.Notifier(st),
	})
}
