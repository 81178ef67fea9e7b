// Package outboxfn builds the outbox function's handler (functions/outbox):
// SMS, write-backs and notifications to the hub. The function's main, the
// sandbox, `make invoke` and the tests build it here from a compose.Env;
// the main imports this package alone, so the function links and
// initializes no other handler's packages.
package outboxfn

import (
	"time"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/outbox"
)

// Name is the function's name in resources.Functions.
const Name = "outbox"

// WriteBackTimeout bounds a write-back to a platform.
const WriteBackTimeout = 30 * time.Second

// New is the outbox-queue consumer built from e.
func New(e compose.Env) *outbox.Handler {
	return outbox.New(outbox.Deps{Store: e.Store(), Opener: e.Sealer, WriteBacks: e.Registry(WriteBackTimeout),
		AllowPrivateHosts: e.AllowPrivateHosts, Log: e.Logger()})
}
