// Package bulksyncfn builds the bulksync function's handler
// (functions/bulksync): the pages-queue consumer. The function's main, the
// sandbox, `make invoke` and the tests build it here from a compose.Env;
// the main imports this package alone, so the function links and
// initializes no other handler's packages.
package bulksyncfn

import (
	"time"

	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/messages"
)

// Name is the function's name in resources.Functions.
const Name = "bulksync"

// FetchTimeout bounds a page fetch from a platform.
const FetchTimeout = 60 * time.Second

// New is the pages-queue consumer built from e.
func New(e compose.Env) *bulksync.Handler {
	st := e.Store()
	return bulksync.New(bulksync.Deps{
		Store: st, Sources: e.Registry(FetchTimeout), Prices: messages.Prices{Store: st, Opener: e.Sealer},
		Pages: e.Sender(e.Names.PagesQueueURL), Outbox: e.Sender(e.Names.OutboxQueueURL), DeadLetter: e.Sender(e.Names.PagesDLQURL),
		Log: e.Logger(), Notify: e.Notifier(st), PageWindow: e.PageWindow,
	})
}
