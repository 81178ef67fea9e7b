package bulksync

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// writeBackConcurrency bounds the write-back calls of one page in flight.
const writeBackConcurrency = 4

// writeBackDetail is the detail of a marker the page wrote back.
const writeBackDetail = "written back"

// writeBacks writes the opt-out back to every record of the page that still
// shows an unsubscribed number subscribed (store.Applied.WriteBack, decided
// by the apply path with the ledger it read), and counts each in res:
// written_back, or write_back_failed with the platform's reason as a report
// row. Each goes through an outbox marker of its own for this run
// (messages.SyncWriteBackMessage), leased before the platform is called, so a
// record is written back at most once per run even when the page is
// retried or the marker is swept to the outbox consumer after a crash. A
// failure is not retried inside the run: the record's link is marked
// (store.StaleLink) so the next sync looks at it again, and reports it again
// if it fails again. A connector that cannot write back at all
// (source.WriteBackChecker, ErrWriteBackUnsupported: Mailchimp) costs no
// marker and no call: the run counts write_back_unsupported once.
func (h *Handler) writeBacks(ctx context.Context, m messages.Page, conn store.Connection, src source.Source, recs []source.Record, applied []store.Applied, res *store.PageResult, log *slog.Logger) error {
	var due []int
	for i, a := range applied {
		if a.WriteBack {
			due = append(due, i)
		}
	}
	if len(due) == 0 || !conn.WriteBackOptOuts {
		return nil
	}
	wb, ok := src.(source.WriteBacker)
	if c, can := src.(source.WriteBackChecker); !ok || (can && c.CanWriteBack() != nil) {
		return h.d.Store.NoteWriteBackUnsupported(ctx, m.TenantID, m.RunID)
	}
	var (
		mu       sync.Mutex
		outcomes = make(map[int]writeBackOutcome, len(due))
		errs     []error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, writeBackConcurrency)
	for _, i := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o, err := h.writeBackOne(ctx, m, conn, wb, recs[i], applied[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			outcomes[i] = o
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	unsupported := false
	for _, i := range due { // rows in page order
		o, a := outcomes[i], applied[i]
		switch {
		case o.unsupported:
			unsupported = true
		case o.written:
			res.Counts.WrittenBack++
			res.Rows = append(res.Rows, store.WriteBackRow(recs[i], a.Decision.ContactID, a.Identity.Phone, store.OutcomeWrittenBack, ""))
		default:
			res.Counts.WriteBackFailed++
			res.Rows = append(res.Rows, store.WriteBackRow(recs[i], a.Decision.ContactID, a.Identity.Phone, store.OutcomeWriteBackFailed, o.reason))
		}
	}
	if res.Counts.WriteBackFailed > 0 {
		log.WarnContext(ctx, "opt-outs not written back", "failed", res.Counts.WriteBackFailed, "written", res.Counts.WrittenBack)
	}
	if unsupported {
		return h.d.Store.NoteWriteBackUnsupported(ctx, m.TenantID, m.RunID)
	}
	return nil
}

type writeBackOutcome struct {
	written, unsupported bool
	reason               string
}

// writeBackOne writes one record's opt-out back through its marker for the
// run; an error is the store's (the page is retried).
func (h *Handler) writeBackOne(ctx context.Context, m messages.Page, conn store.Connection, wb source.WriteBacker, rec source.Record, a store.Applied) (writeBackOutcome, error) {
	phone := a.Identity.Phone
	msg := messages.SyncWriteBackMessage(m.TenantID, store.WriteBack{ConnectionID: conn.ID, ExternalID: rec.ExternalID}, phone, m.RunID, a.OptedOutAt)
	if err := h.d.Store.PutOutbox(ctx, msg.Entry()); err != nil {
		return writeBackOutcome{}, err
	}
	lease, err := h.d.Store.LeaseOutbox(ctx, m.TenantID, msg.Ref, h.d.MessageTimeout)
	if err != nil {
		return writeBackOutcome{}, err
	}
	if !lease.OK {
		// An earlier attempt of this page (or the outbox consumer, after
		// a crash) has it: report what it recorded.
		switch lease.State {
		case store.OutboxSent:
			return writeBackOutcome{written: true}, nil
		case store.OutboxSending:
			return writeBackOutcome{reason: "an earlier attempt of this sync is still writing it back"}, nil
		}
		if err := h.d.Store.StaleLink(ctx, m.TenantID, conn.ID, rec.ExternalID); err != nil {
			return writeBackOutcome{}, err
		}
		return writeBackOutcome{reason: lease.Detail}, nil
	}
	werr := wb.WriteBackOptOut(ctx, rec.ExternalID, phone)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordBudget)
	defer cancel()
	if errors.Is(werr, source.ErrWriteBackUnsupported) {
		return writeBackOutcome{unsupported: true}, h.d.Store.FinishOutbox(fctx, m.TenantID, msg.Ref, store.OutboxResult{Status: store.OutboxSkipped, Detail: werr.Error()})
	}
	// Written, the source record is no longer what its link remembers;
	// refused (permanently or not: it is not retried inside this run), it
	// must be tried again. Either way the next sync applies it again
	// rather than finding it unchanged.
	if err := h.d.Store.StaleLink(fctx, m.TenantID, conn.ID, rec.ExternalID); err != nil {
		return writeBackOutcome{}, err
	}
	if werr == nil {
		return writeBackOutcome{written: true}, h.d.Store.FinishOutbox(fctx, m.TenantID, msg.Ref, store.OutboxResult{Status: store.OutboxSent, Detail: writeBackDetail})
	}
	if err := h.d.Store.FinishOutbox(fctx, m.TenantID, msg.Ref, store.OutboxResult{Status: store.OutboxFailed, Detail: werr.Error()}); err != nil {
		return writeBackOutcome{}, err
	}
	return writeBackOutcome{reason: werr.Error()}, nil
}
