// Package schedulerfn builds the scheduler function's handler
// (functions/scheduler): the tick. The function's main, the sandbox,
// `make invoke` and the tests build it here from a compose.Env; the main
// imports this package alone, so the function links and initializes no
// other handler's packages.
package schedulerfn

import (
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/scheduler"
)

// Name is the function's name in resources.Functions.
const Name = "scheduler"

// New is the scheduler tick's handler built from e.
func New(e compose.Env) *scheduler.Handler {
	st := e.Store()
	// The tick also re-enqueues outbox markers whose enqueue was lost
	// (Outbox) and ends the runs of pages SQS dead-lettered (DeadPages).
	pagesDLQ := bulksync.New(bulksync.Deps{Store: st, DeadLetter: e.Sender(e.Names.PagesDLQURL), Log: e.Logger(), Notify: e.Notifier(st),
		// A dead page of a windowed run enqueues the page a window after it.
		Pages: e.Sender(e.Names.PagesQueueURL)})
	return scheduler.New(scheduler.Deps{Store: st, Starter: e.Starter(st), Log: e.Logger(), Now: e.SchedulerNow, Webhooks: e.Keeper(st),
		DeadPages: &bulksync.DeadLetters{SQS: e.SQS, QueueURL: e.Names.PagesDLQURL, Handler: pagesDLQ},
		Outbox:    &messages.Sweeper{Store: st, Queue: e.Sender(e.Names.OutboxQueueURL), Log: e.Logger()},
		Pending:   &scheduler.PendingSweeper{Store: st, Queue: e.Sender(e.Names.OutboxQueueURL), Log: e.Logger()},
	})
}
