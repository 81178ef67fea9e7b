package hubapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// SyncOut is a sync run as the API shows it.
type SyncOut struct {
	ID           string       `json:"id"`
	ConnectionID string       `json:"connectionId"`
	Trigger      string       `json:"trigger"`
	Status       string       `json:"status"`
	Counts       store.Counts `json:"counts"`
	Error        string       `json:"error,omitempty"`
	StartedAt    time.Time    `json:"startedAt"`
	FinishedAt   *time.Time   `json:"finishedAt,omitempty"`
	Progress     Progress     `json:"progress"`
	// DryRun: the run reported what it would do and changed nothing; its
	// counts include the messages it would send and their credits.
	DryRun bool `json:"dryRun"`
}

// Progress is how far a run is: pages applied of the pages planned so far
// (a chained plan adds a page for each page with a next, so the total
// grows while it runs), and the records the platform reported (-1 unknown).
// Planned is false while the plan is being made (a Shopify bulk export
// still running).
type Progress struct {
	Planned    bool `json:"planned"`
	PagesDone  int  `json:"pagesDone"`
	PagesTotal int  `json:"pagesTotal"`
	Expected   int  `json:"expected"`
}

func syncOut(r store.Run) SyncOut {
	out := SyncOut{ID: r.ID, ConnectionID: r.ConnectionID, Trigger: r.Trigger, Status: r.Status, Counts: r.Counts, Error: r.Error, StartedAt: r.StartedAt,
		Progress: Progress{Planned: r.Planned, PagesDone: r.PagesDone, PagesTotal: r.PagesTotal, Expected: r.Expected}, DryRun: r.DryRun}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		out.FinishedAt = &t
	}
	return out
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// RunOptions are a run request's options, the body of POST
// /v1/connections/{id}/syncs (optional; activating a connection will take
// the same): dryRun asks for a dry run, which reports what the run would
// do — created, updated, unchanged, invalid, out of scope, the messages it
// would send and their credits — and changes nothing.
type RunOptions struct {
	DryRun bool `json:"dryRun"`
}

// decodeRunOptions reads optional run options: an empty body is none.
func decodeRunOptions(body []byte) (RunOptions, apigw.Response, bool) {
	var o RunOptions
	if len(bytes.TrimSpace(body)) == 0 {
		return o, apigw.Response{}, true
	}
	resp, ok := decode(body, &o)
	return o, resp, ok
}

func (h *Handler) startSync(ctx context.Context, c call) apigw.Response {
	opts, resp, ok := decodeRunOptions(c.body)
	if !ok {
		return resp
	}
	conn, err := h.d.Store.GetConnection(ctx, c.tenant, c.params["id"])
	if err != nil {
		return h.storeError(ctx, "connection", "reading connection", err)
	}
	if !conn.Enabled {
		return apigw.Error(http.StatusConflict, "connection_disabled", "the connection is disabled; enable it to sync")
	}
	if resp, ok := notSyncable(conn); !ok {
		return resp
	}
	return h.startRun(ctx, syncrun.Request{TenantID: c.tenant, ConnectionID: conn.ID, Trigger: store.TriggerManual, DryRun: opts.DryRun},
		"starting sync", map[string]any{})
}

// startRun starts the sync req asks for: 202 with its syncId added to
// out, or 409 sync_in_progress naming the sync of the connection already
// running.
func (h *Handler) startRun(ctx context.Context, req syncrun.Request, doing string, out map[string]any) apigw.Response {
	run, err := h.d.Starter.StartRequest(ctx, req)
	var busy *store.RunInProgressError
	if errors.As(err, &busy) {
		return apigw.JSON(http.StatusConflict, map[string]any{"error": map[string]string{
			"code": "sync_in_progress", "message": "a sync of this connection is already running", "syncId": busy.RunID,
		}})
	}
	if err != nil {
		return h.internal(ctx, doing, err)
	}
	out["syncId"] = run.ID
	return apigw.JSON(http.StatusAccepted, out)
}

func (h *Handler) listSyncs(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	conn := c.req.QueryStringParameters["connectionId"]
	if conn != "" && !store.ValidConnectionID(conn) {
		return apigw.Invalid(map[string]string{"connectionId": "not a connection id"})
	}
	status := c.req.QueryStringParameters["status"]
	switch status {
	case "", store.RunRunning, store.RunCompleted, store.RunFailed:
	default:
		return apigw.Invalid(map[string]string{"status": "must be running, completed or failed"})
	}
	runs, next, err := h.d.Store.ListRunsFiltered(ctx, c.tenant, store.RunFilter{Connection: conn, Status: status}, limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	out := make([]SyncOut, len(runs))
	for i, r := range runs {
		out[i] = syncOut(r)
	}
	return apigw.JSON(http.StatusOK, listOf(out, next))
}

func (h *Handler) getSync(ctx context.Context, c call) apigw.Response {
	run, err := h.d.Store.GetRun(ctx, c.tenant, c.params["id"])
	if err != nil {
		return h.storeError(ctx, "sync", "reading sync", err)
	}
	return apigw.JSON(http.StatusOK, syncOut(run))
}

func (h *Handler) getReport(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	outcome, resp, ok := h.reportQuery(ctx, c)
	if !ok {
		return resp
	}
	rows, next, err := h.d.Store.ListReport(ctx, c.tenant, c.params["id"], outcome, limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	return apigw.JSON(http.StatusOK, listOf(reportOut(rows), next))
}
