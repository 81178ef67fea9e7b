package bulksync

import (
	"context"
	"errors"
	"fmt"

	"github.com/contactsync/contactsync/pkg/messages"
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
// (messages.Page.Seq), and the page that ends its place — a fan-out page,
// or the last page of a chain — enqueues place Seq+W as it finishes, just
// before it is counted (a retry re-sends it: the same page id, counted
// once; a dead page releases it too). A run therefore holds about W
// messages, queued or in flight, so a page queued behind it waits for at
// most W of its pages, not its backlog: at most W × page time / pages in
// parallel, and about nothing when W is no more than the pages in
// parallel (its W are then all in flight). W is the consumer's whole
// parallelism, so an install alone still uses every worker; two installs
// at once share them.
//
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
			pm.Seq, pm.Window, pm.Pages = i+1, w, n
		}
		msgs[i] = pm
	}
	return msgs, nil
}

// releaseNext enqueues the page of m's plan one window after m, if any.
func (h *Handler) releaseNext(ctx context.Context, m messages.Page) error {
	if m.Seq <= 0 || m.Seq+m.Window > m.Pages {
		return nil
	}
	if h.d.Pages == nil {
		return errors.New("no pages queue to enqueue the window's next page on")
	}
	seq := m.Seq + m.Window
	cur, ok, err := h.d.Store.FanoutCursor(ctx, m.TenantID, m.RunID, seq)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("page %d of %d of the plan is not stored", seq, m.Pages)
	}
	next := messages.PageMessage(m, cur)
	next.Seq = seq
	return h.d.Pages.Send(ctx, next)
}
