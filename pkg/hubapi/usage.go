package hubapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/store"
)

// ConnectionUsage is one connection's messages and credits in a month.
type ConnectionUsage struct {
	ConnectionID string `json:"connectionId"`
	Messages     int    `json:"messages"`
	Credits      int    `json:"credits"`
}

// PurposeUsage is one message purpose's messages and credits in a month.
type PurposeUsage struct {
	Purpose  string `json:"purpose"`
	Messages int    `json:"messages"`
	Credits  int    `json:"credits"`
}

// UsageOut is GET /v1/usage: the month's sent messages and their credits
// (the parts each text was billed as), by connection (hub-level replies —
// opt-out confirmations and help texts — have connectionId "") and by
// purpose; heldByCap counts messages the monthly credit cap holds now;
// monthlyCreditCap is the cap (absent: none).
type UsageOut struct {
	Month            string            `json:"month"`
	Messages         int               `json:"messages"`
	Credits          int               `json:"credits"`
	ByConnection     []ConnectionUsage `json:"byConnection"`
	ByPurpose        []PurposeUsage    `json:"byPurpose"`
	HeldByCap        int               `json:"heldByCap"`
	MonthlyCreditCap *int              `json:"monthlyCreditCap"`
}

// maxCreditCap bounds a monthly credit cap.
const maxCreditCap = 1_000_000_000

func (h *Handler) getUsage(ctx context.Context, c call) apigw.Response {
	month := store.UsageMonth(h.d.Now())
	if v, ok := c.req.QueryStringParameters["month"]; ok {
		m, err := time.Parse("2006-01", v)
		if err != nil || m.Year() < 2000 {
			return apigw.Invalid(map[string]string{"month": "must be a month as YYYY-MM"})
		}
		month = m.Format("2006-01")
	}
	u, err := h.d.Store.GetMonthUsage(ctx, c.tenant, month)
	if err != nil {
		return h.internal(ctx, "reading usage", err)
	}
	held, err := h.d.Store.HeldCount(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "counting held messages", err)
	}
	t, err := h.d.Store.GetTenant(ctx, c.tenant)
	if err != nil {
		return h.storeError(ctx, "tenant", "reading tenant", err)
	}
	out := UsageOut{Month: u.Month, Messages: u.Messages, Credits: u.Credits, HeldByCap: held, MonthlyCreditCap: t.MonthlyCreditCap,
		ByConnection: []ConnectionUsage{}, ByPurpose: []PurposeUsage{}}
	for _, b := range u.ByConnection {
		out.ByConnection = append(out.ByConnection, ConnectionUsage{ConnectionID: b.Key, Messages: b.Messages, Credits: b.Credits})
	}
	for _, b := range u.ByPurpose {
		out.ByPurpose = append(out.ByPurpose, PurposeUsage{Purpose: b.Key, Messages: b.Messages, Credits: b.Credits})
	}
	return apigw.JSON(http.StatusOK, out)
}

// putUsageCap is PUT /v1/usage/cap {"monthlyCredits": N | null}: N (0 or
// more) holds every confirmation and double opt-in request that would take
// the month's credits past N; null removes the cap. Every held message is
// released and checked again against the new cap (those still over it are
// held again); released is how many.
func (h *Handler) putUsageCap(ctx context.Context, c call) apigw.Response {
	var in struct {
		MonthlyCredits json.RawMessage `json:"monthlyCredits"`
	}
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	var limit *int
	switch string(in.MonthlyCredits) {
	case "":
		return apigw.Invalid(map[string]string{"monthlyCredits": "required (a whole number of credits, or null for no cap)"})
	case "null":
	default:
		var n int64
		if err := json.Unmarshal(in.MonthlyCredits, &n); err != nil || n < 0 || n > maxCreditCap {
			return apigw.Invalid(map[string]string{"monthlyCredits": "must be a whole number from 0 to 1000000000, or null"})
		}
		v := int(n)
		limit = &v
	}
	if err := h.d.Store.SetCreditCap(ctx, c.tenant, limit); err != nil {
		return h.storeError(ctx, "tenant", "storing credit cap", err)
	}
	// Released markers are pending in the sweeper's index: a lost enqueue
	// here is enqueued by the next sweep.
	var batch []any
	flush := func() {
		if len(batch) > 0 && h.d.Outbox != nil {
			if err := h.d.Outbox.Send(ctx, batch...); err != nil {
				h.d.Log.WarnContext(ctx, "held messages released, enqueue failed: the sweeper enqueues them", "err", err)
			}
		}
		batch = batch[:0]
	}
	released, err := h.d.Store.ReleaseHeld(ctx, c.tenant, func(e store.OutboxEntry) error {
		if batch = append(batch, messages.FromEntry(e)); len(batch) == 10 {
			flush()
		}
		return nil
	})
	flush()
	if err != nil {
		return h.internal(ctx, "releasing held messages", err)
	}
	return apigw.JSON(http.StatusOK, map[string]any{"monthlyCredits": limit, "released": released})
}
