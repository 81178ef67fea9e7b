package bulksync

import (
	"context"
	"errors"
	"fmt"

	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Complete groups (source.Plan.CompleteGroups).
//
// A full plan may name the groups it lists completely (a Klaviyo list or
// segment whose members arrive as membership records). The handler then:
//
//   - records them on the run before its pages are enqueued
//     (store.SetCompleteGroups);
//   - on each page, stores which records put their source record in one
//     of them (store.AssertGroups) and which groups a page says ended
//     early (source.Page.Incomplete, store.MarkIncomplete), before the
//     page is recorded;
//   - sets the page's out-of-scope records aside (store.DeferOutOfScope)
//     instead of applying them: with membership records, the scope is the
//     complete groups' members, so a record is out of scope only if no
//     record of the whole run put it in one of them, which is known at the
//     end;
//   - when the last page is recorded and the run is about to complete (no
//     page failed, the counts add up), applies the deferred records that
//     no record of the run put in a complete group, a batch at a time,
//     each batch recorded as a page of its own (counted exactly once,
//     out_of_scope rows), then removes the complete groups from the
//     connection's source links that the run did not put in them
//     (store.RemoveLeavers: counts groups_left, rows updated / left_group).
//
// A run with a failed page does neither: its listing is not complete.
// One delivery at a time does this work (store.ClaimRunEnd); another that
// also saw the last page recorded fails and is retried later.
// Everything is idempotent, so a crash while finishing is repaired by the
// redelivered last page (a recorded page whose run has every page done
// finishes the run again).

// completeGroups are the run's complete groups when it is a full run.
func completeGroups(run store.Run) []string {
	if run.Incremental {
		return nil
	}
	return run.CompleteGroups
}

// deferOutOfScope stores the ids of recs' out-of-scope records for the
// run's end and returns the others.
func (h *Handler) deferOutOfScope(ctx context.Context, m messages.Page, recs []source.Record) ([]source.Record, error) {
	var ids []string
	keep := recs[:0:0]
	for _, r := range recs {
		if r.OutOfScope && r.ExternalID != "" && len(r.ExternalID) <= source.MaxExternalIDBytes {
			ids = append(ids, r.ExternalID)
			continue
		}
		keep = append(keep, r)
	}
	if len(ids) == 0 {
		return recs, nil
	}
	if err := h.d.Store.DeferOutOfScope(ctx, m.TenantID, m.RunID, m.PageID, ids); err != nil {
		return nil, err
	}
	return keep, nil
}

// endGroups does a full run's complete-group work before it is finished
// (see the top of this file); it does nothing for other runs.
func (h *Handler) endGroups(ctx context.Context, m messages.Page) error {
	run, err := h.d.Store.GetRun(ctx, m.TenantID, m.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || run.Status != store.RunRunning || len(completeGroups(run)) == 0 {
		return err
	}
	if !run.Planned || run.PagesDone < run.PagesTotal || run.DeadPages > 0 || !run.Counts.AddsUp() ||
		(run.Expected >= 0 && run.Counts.Seen < run.Expected) {
		return nil // the run will fail (or is not over): its listing is not complete
	}
	// One attempt at a time (two deliveries may both have seen the last
	// page recorded): the other is retried, and finds the run finished.
	// A crashed attempt's lease lapses after a message's time.
	if err := h.d.Store.ClaimRunEnd(ctx, m.TenantID, m.RunID, store.NewID("end_"), h.d.MessageTimeout); err != nil {
		return err
	}
	conn, err := h.d.Store.GetConnection(ctx, m.TenantID, m.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	tgt := store.Target{TenantID: m.TenantID, Conn: store.MergeConnection(conn), RunID: m.RunID, DryRun: run.DryRun}
	if tgt.Conn.Label == "" {
		tgt.Conn.Label = source.Platform(conn.Platform).DefaultLabel()
	}
	now := h.d.Now()
	for cur := ""; ; {
		batches, next, err := h.d.Store.ListDeferred(ctx, m.TenantID, m.RunID, cur)
		if err != nil {
			return err
		}
		for _, b := range batches {
			if err := h.applyDeferred(ctx, m, conn, tgt, run, b); err != nil {
				return err
			}
		}
		if cur = next; cur == "" {
			break
		}
	}
	if run.DryRun {
		// A dry run counts the out-of-scope records above (in its scratch
		// space) but removes no group membership: groups_left is a real
		// run's count only.
		return nil
	}
	n, err := h.d.Store.RemoveLeavers(ctx, tgt, run, now)
	if err != nil {
		return fmt.Errorf("removing group leavers: %w", err)
	}
	if n > 0 {
		h.d.Log.InfoContext(ctx, "group leavers removed", "tenant", m.TenantID, "run", m.RunID, "groupsLeft", n)
	}
	return nil
}

// applyDeferred applies a batch of deferred out-of-scope records that no
// record of the run put in a complete group, and records it as a page.
func (h *Handler) applyDeferred(ctx context.Context, m messages.Page, conn store.Connection, tgt store.Target, run store.Run, b store.Deferred) error {
	pageID := "scope-" + b.Key
	if done, err := h.d.Store.PageRecorded(ctx, m.TenantID, m.RunID, pageID); err != nil || done {
		return err
	}
	asserted, err := h.d.Store.Asserted(ctx, m.TenantID, m.RunID, b.IDs, run.CompleteGroups)
	if err != nil {
		return err
	}
	var recs []source.Record
	for _, id := range b.IDs {
		if !asserted[id] {
			recs = append(recs, source.Record{Platform: source.Platform(conn.Platform), Label: tgt.Conn.Label, ConnectionID: conn.ID,
				ExternalID: id, Deleted: true, OutOfScope: true})
		}
	}
	var applied []store.Applied
	if len(recs) > 0 {
		if applied, err = h.d.Store.ApplyRecords(ctx, tgt, recs, h.d.Now()); err != nil {
			return fmt.Errorf("applying out-of-scope records: %w", err)
		}
	}
	res, _, err := h.pageResult(ctx, messages.Page{TenantID: m.TenantID, RunID: m.RunID, PageID: pageID}, run.DryRun, recs, applied)
	if err != nil {
		return err
	}
	res.HasNext = true // a page of its own: it adds itself to the plan as it is recorded
	_, _, err = h.d.Store.RecordPage(ctx, res, h.d.LockFor)
	return err
}
