package hubapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/store"
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
}

func syncOut(r store.Run) SyncOut {
	out := SyncOut{ID: r.ID, ConnectionID: r.ConnectionID, Trigger: r.Trigger, Status: r.Status, Counts: r.Counts, Error: r.Error, StartedAt: r.StartedAt}
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

func (h *Handler) startSync(ctx context.Context, c call) apigw.Response {
	conn, err := h.d.Store.GetConnection(ctx, c.tenant, c.params["id"])
	if errors.Is(err, store.ErrNotFound) {
		return notFound("connection")
	}
	if err != nil {
		return h.internal(ctx, "reading connection", err)
	}
	if !conn.Enabled {
		return apigw.Error(http.StatusConflict, "connection_disabled", "the connection is disabled; enable it to sync")
	}
	if resp, ok := notSyncable(conn); !ok {
		return resp
	}
	run, err := h.d.Starter.Start(ctx, c.tenant, conn.ID, store.TriggerManual, false, time.Time{})
	var busy *store.RunInProgressError
	if errors.As(err, &busy) {
		return apigw.JSON(http.StatusConflict, map[string]any{"error": map[string]string{
			"code": "sync_in_progress", "message": "a sync of this connection is already running", "syncId": busy.RunID,
		}})
	}
	if err != nil {
		return h.internal(ctx, "starting sync", err)
	}
	return apigw.JSON(http.StatusAccepted, map[string]string{"syncId": run.ID})
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
	runs, next, err := h.d.Store.ListRuns(ctx, c.tenant, conn, limit, cursor)
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
	if errors.Is(err, store.ErrNotFound) {
		return notFound("sync")
	}
	if err != nil {
		return h.internal(ctx, "reading sync", err)
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
