package bulksync

import (
	"context"
	"errors"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/source"
)

// The page window: one tenant cannot starve the others.
//
// Every tenant's pages share one queue and one consumer (at most
// resources' MaxConcurrency invocations of Concurrency pages each). A plan
// that enqueued all its pages at once (a 1,000,000-customer Shopify export
// is 4,000 byte ranges) put every page of every other tenant behind that
// backlog: SQS serves a standard queue roughly in arrival order, so a
// 50-contact daily sync planned after it waited for the whole install
// (queue depth × page time / pages in parallel: 4,000 × ~3 s / 20 ≈ 10
// minutes, twice — once for its plan message, once for its page).
//
// With a window of W pages (Deps.PageWindow, resources.Function.PageWindow)
// a plan of more than W fan-out pages enqueues its first W and stores the
// rest (store.SaveFanout); each message carries its place in the plan
// (messages.Page.Seq) and the window's block B (min(W, 10), one SQS
// batch). The page that ends a place that is a multiple of B — a fan-out
// page, or the last page of a chain — enqueues the B places ending at
// Seq+W (messages.Page.Releases) as it finishes, just before it is
// counted (a retry re-sends them: the same page ids, counted once; a dead
// page releases them too). Places 1..W are enqueued by the plan, place B
// releases W+1..W+B, place 2B the next B, and so on: every place once.
// A run therefore holds about W messages, queued or in flight (up to B
// more while a block's last page finishes before the others), so a page
// queued behind it waits for at most about W of its pages, not its
// backlog: W × page time / pages in parallel, and little more than a page
// when W is no more than the pages in parallel. W is the consumer's whole
// parallelism, so an install alone still uses every worker; two installs
// at once share them.
//
// A block costs one query for its cursors and one SQS batch, and its ten
// cursors were stored as one item: a page past the window costs a tenth
// of a write, of a read and of a send, as a page of a plan that fits the
// window does (its pages are sent ten to a batch), so a run's cost per
// page barely steps up when it outgrows the window. A cursor to an item
// cost a write unit per page (Mailchimp's re-sync: 0.0069 WCU a contact
// from 10,000 to 100,000 customers against 0.0060 below the window).
// Releasing one place per page cost a read and a send per page: 35–50 %
// more SQS requests per contact past 20 pages (issue 21's linear table).

// On AWS the pages queue is also a fair queue: every message carries its
// tenant as MessageGroupId (messages.Page.MessageGroup, pkg/queue), and
// SQS, seeing one tenant hold most of the messages in flight, returns the
// other tenants' messages first. The embedded SQS emulator ignores
// MessageGroupId on a standard queue (it serves in arrival order), so the
// window alone is what the sandbox measures: it is no kinder than AWS.

// windowed returns the plan's messages to enqueue now: every page when
// the plan fits the window, else its first Window pages, the rest stored.
func (h *Handler) windowed(ctx context.Context, m messages.Page, fanout []source.Cursor) ([]any, error) {
	w, n := h.d.PageWindow, len(fanout)
	windowed := w > 0 && n > w
	if windowed {
		if err := h.d.Store.SaveFanout(ctx, m.TenantID, m.RunID, w+1, fanout[w:]); err != nil {
			return nil, err
		}
		fanout = fanout[:w]
	}
	msgs := make([]any, len(fanout))
	for i, cur := range fanout {
		pm := messages.PageMessage(m, cur)
		if windowed {
			pm.Seq, pm.Window, pm.Pages, pm.Block = i+1, w, n, releaseBlock(w)
		}
		msgs[i] = pm
	}
	return msgs, nil
}

// releaseBlock is how many places one page releases with a window of w:
// one SQS batch, and never more than the window (a block's releaser must
// come before it in the plan).
func releaseBlock(w int) int { return min(w, queue.MaxBatch) }

// releaseNext enqueues the places of m's plan that m releases
// (messages.Page.Releases), if any.
func (h *Handler) releaseNext(ctx context.Context, m messages.Page) error {
	from, to, ok := m.Releases()
	if !ok {
		return nil
	}
	if h.d.Pages == nil {
		return errors.New("no pages queue to enqueue the window's next pages on")
	}
	curs, err := h.d.Store.FanoutCursors(ctx, m.TenantID, m.RunID, from, to)
	if err != nil {
		return err
	}
	next := make([]any, len(curs))
	for i, cur := range curs {
		pm := messages.PageMessage(m, cur)
		pm.Seq = from + i
		next[i] = pm
	}
	return h.d.Pages.Send(ctx, next...)
}
