package hubapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// ContactOut is a contact as the API shows it: the id, its first-class
// fields (source.ContactFields) by name, then the tagged fields.
type ContactOut struct {
	ID        string    `json:"-"`
	Text      []string  `json:"-"` // the first-class fields, as source.ContactFields
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Status    string    `json:"status"`
	Sources   []string  `json:"sources"`
	Groups    []string  `json:"groups"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Fields holds the contact's custom fields (the connections' field
	// maps), typed as the platform declares them: a number is a JSON
	// number, a date "YYYY-MM-DD", a birthday "MM-DD", text a string.
	Fields map[string]any `json:"fields"`
}

// MarshalJSON writes the id, the first-class fields, then the tagged ones.
func (o ContactOut) MarshalJSON() ([]byte, error) {
	type tagged ContactOut // without this method
	rest, err := json.Marshal(tagged(o))
	b, _ := json.Marshal(o.ID)
	b = append([]byte(`{"id":`), b...)
	for i, f := range source.ContactFields {
		v, _ := json.Marshal(o.Text[i])
		b = append(append(b, `,"`+f.Name+`":`...), v...)
	}
	if err != nil {
		return nil, err
	}
	return append(append(b, ','), rest[1:]...), nil
}

func contactOut(v store.ContactView, types map[string]string) ContactOut {
	out := ContactOut{
		ID: v.ID, Email: v.Email.Value, Phone: v.Phone,
		Status: v.Status, Sources: v.Labels(), Groups: v.Groups, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		Fields: customFields(v, types),
	}
	for _, f := range source.ContactFields {
		out.Text = append(out.Text, v.Core(f.Name).Value)
	}
	if out.Sources == nil {
		out.Sources = []string{}
	}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	return out
}

var statuses = map[string]bool{"": true, "subscribed": true, "not_subscribed": true, "unsubscribed": true, "pending": true}

func contactFilter(q map[string]string) (store.ContactFilter, map[string]string) {
	f := store.ContactFilter{Query: q["q"], Source: q["source"], Group: q["group"], Status: q["status"]}
	bad := checkFilters(q)
	if !statuses[f.Status] {
		bad = merged(bad, map[string]string{"status": "must be subscribed, not_subscribed, unsubscribed or pending"})
	}
	return f, bad
}

func (h *Handler) listContacts(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	f, fbad := contactFilter(c.req.QueryStringParameters)
	if bad != nil || fbad != nil {
		return apigw.Invalid(merged(bad, fbad))
	}
	views, next, err := h.d.Store.ListContacts(ctx, c.tenant, f, limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	types, err := h.customTypes(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "reading field types", err)
	}
	out := make([]ContactOut, len(views))
	for i, v := range views {
		out[i] = contactOut(v, types)
	}
	return apigw.JSON(http.StatusOK, listOf(out, next))
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// MaxExportRows bounds one CSV export (Lambda responses are limited to 6 MB).
const MaxExportRows = 20000

func (h *Handler) exportContacts(ctx context.Context, c call) apigw.Response {
	f, bad := contactFilter(c.req.QueryStringParameters)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	types, err := h.customTypes(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "reading field types", err)
	}
	custom := customColumns(types)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(csvHeader(custom))
	cursor, rows := c.req.QueryStringParameters["cursor"], 0
	for {
		views, next, err := h.d.Store.ListContacts(ctx, c.tenant, f, 100, cursor)
		if err != nil {
			return h.listError(ctx, err)
		}
		for _, v := range views {
			_ = w.Write(csvRow(contactOut(v, types), custom))
			rows++
		}
		cursor = next
		if next == "" || rows >= MaxExportRows {
			break
		}
	}
	w.Flush()
	resp := apigw.Text(http.StatusOK, "text/csv; charset=utf-8", buf.String())
	resp.Headers["Content-Disposition"] = `attachment; filename="contacts.csv"`
	if cursor != "" {
		resp.Headers["X-Next-Cursor"] = cursor // more rows: call again with ?cursor=
	}
	return resp
}

// csvHeader is the CSV export's header: as the JSON, then the custom
// fields of the tenant's field maps (custom, sorted by name).
func csvHeader(custom []string) []string {
	row := []string{"id"}
	for _, f := range source.ContactFields {
		row = append(row, f.Name)
	}
	return append(append(row, "email", "phone", "status", "sources", "groups", "createdAt", "updatedAt"), custom...)
}

// csvRow is a contact's row of the CSV export, under csvHeader(custom).
func csvRow(o ContactOut, custom []string) []string {
	row := []string{o.ID}
	for _, v := range o.Text {
		row = append(row, csvSafe(v))
	}
	row = append(row, csvSafe(o.Email), o.Phone, o.Status, strings.Join(o.Sources, ";"), csvSafe(strings.Join(o.Groups, ";")),
		o.CreatedAt.Format(time.RFC3339), o.UpdatedAt.Format(time.RFC3339))
	for _, name := range custom {
		switch val := o.Fields[name].(type) {
		case json.Number:
			row = append(row, val.String()) // a number, never a formula
		case string:
			row = append(row, csvSafe(val))
		default:
			row = append(row, "")
		}
	}
	return row
}

// csvSafe defuses spreadsheet formulas in user-controlled cells.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (h *Handler) getContact(ctx context.Context, c call) apigw.Response {
	v, err := h.d.Store.GetContact(ctx, c.tenant, c.params["id"])
	if errors.Is(err, store.ErrNotFound) {
		return notFound("contact")
	}
	if err != nil {
		return h.internal(ctx, "reading contact", err)
	}
	types, err := h.customTypes(ctx, c.tenant)
	if err != nil {
		return h.internal(ctx, "reading field types", err)
	}
	return apigw.JSON(http.StatusOK, contactOut(v, types))
}

func (h *Handler) deleteContact(ctx context.Context, c call) apigw.Response {
	err := h.d.Store.DeleteContact(ctx, c.tenant, c.params["id"])
	if errors.Is(err, store.ErrNotFound) {
		return notFound("contact")
	}
	if err != nil {
		return h.internal(ctx, "deleting contact", err)
	}
	return apigw.Response{StatusCode: http.StatusNoContent}
}

// errConsentRequired: a hub user asked to subscribe a number whose opt-out
// came from the person.
var errConsentRequired = errors.New("the person's opt-out is in force")

// putSubscription is a hub-side opt-in or opt-out of the contact's number.
// A hub user can always unsubscribe, and can re-subscribe a number only
// when no opt-out of the person's is in force (409 consent_required).
func (h *Handler) putSubscription(ctx context.Context, c call) apigw.Response {
	var in struct {
		Status string `json:"status"`
	}
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	if in.Status != "subscribed" && in.Status != "unsubscribed" {
		return apigw.Invalid(map[string]string{"status": "must be subscribed or unsubscribed"})
	}
	v, err := h.d.Store.GetContact(ctx, c.tenant, c.params["id"])
	if errors.Is(err, store.ErrNotFound) {
		return notFound("contact")
	}
	if err != nil {
		return h.internal(ctx, "reading contact", err)
	}
	if v.Phone == "" {
		return apigw.Invalid(map[string]string{"status": "the contact has no phone number"})
	}
	now := h.d.Now()
	ev := consent.OptInEvent(now, consent.Evidence{Text: "hub resubscribe", MessageID: c.req.RequestContext.RequestID, Provider: "hub"})
	if in.Status == "unsubscribed" {
		ev = consent.HubUnsubscribeEvent(now, consent.Evidence{Text: "hub unsubscribe", MessageID: c.req.RequestContext.RequestID, Provider: "hub"})
	}
	// A hub unsubscribe is written back to the sources that asked for it;
	// the write-backs' outbox markers go with the ledger, so a failed
	// enqueue is found by the outbox sweeper. No SMS is sent: the business,
	// not the person, acted.
	var targets []store.WriteBack
	if in.Status == "unsubscribed" && h.d.Outbox != nil {
		if targets, err = h.d.Store.WriteBackTargets(ctx, c.tenant, v.Phone); err != nil {
			return h.internal(ctx, "finding write-back targets", err)
		}
	}
	// The hub hears of the unsubscribe (contact.unsubscribed) from the
	// same transaction.
	notifyOn := false
	if in.Status == "unsubscribed" {
		if notifyOn, err = h.d.Notify.Enabled(ctx, c.tenant); err != nil {
			return h.internal(ctx, "reading notification endpoint", err)
		}
	}
	var writeBacks []messages.Outbox
	_, err = h.d.Store.UpdateLedger(ctx, c.tenant, v.Phone, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		if ev.Kind == consent.EventHubOptIn && r.Ledger.ConsentRequired() {
			// The person opted out (STOP, a source unsubscribe): only
			// they can opt in again (design.md §4).
			return store.LedgerUpdate{}, errConsentRequired
		}
		l, ch := r.Ledger.Apply(ev)
		writeBacks = nil
		upd := store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}
		if ch.StateChanged() {
			upd.History = append(upd.History, store.HistoryEntry{At: now, EventID: string(ch.Kind) + "-" + c.req.RequestContext.RequestID, Kind: "consent_change",
				Detail: map[string]string{"from": string(ch.From), "to": string(ch.To), "event": string(ch.Kind), "provider": "hub"}})
		}
		if ch.StateChanged() && ch.To == consent.Unsubscribed {
			for _, t := range targets {
				writeBacks = append(writeBacks, messages.WriteBackMessage(c.tenant, t, v.Phone, now))
			}
			if notifyOn {
				n, err := notify.Unsubscribed(v.ID, v.Phone, notify.SourceHub, c.req.RequestContext.RequestID, now).Notification(c.tenant)
				if err != nil {
					return store.LedgerUpdate{}, err
				}
				writeBacks = append(writeBacks, messages.NotifyMessage(n))
			}
			upd.Outbox = messages.Entries(writeBacks)
		}
		return upd, nil
	})
	if errors.Is(err, errConsentRequired) {
		return apigw.Error(http.StatusConflict, "consent_required",
			"the number was opted out by its owner (a STOP reply or a source unsubscribe): only their START or YES reply, or a newer opt-in at a source, can subscribe it again")
	}
	if err != nil {
		return h.internal(ctx, "updating subscription", err)
	}
	if len(writeBacks) > 0 && h.d.Outbox != nil {
		if err := h.d.Outbox.Send(ctx, messages.Values(writeBacks)...); err != nil {
			return h.internal(ctx, "enqueuing write-backs", err)
		}
	}
	return h.getContact(ctx, c) // the contact as it is now
}

func (h *Handler) contactHistory(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	v, err := h.d.Store.GetContact(ctx, c.tenant, c.params["id"])
	if errors.Is(err, store.ErrNotFound) {
		return notFound("contact")
	}
	if err != nil {
		return h.internal(ctx, "reading contact", err)
	}
	entries, next, err := h.d.Store.ListHistory(ctx, c.tenant, cmp.Or(v.Phone, v.ID), limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	if next == "" && v.Phone != "" {
		// The number's first consent state is kept in its ledger, not as a
		// history item: list each source's current statement last.
		p, ok, err := h.d.Store.GetPhone(ctx, c.tenant, v.Phone)
		if err != nil {
			return h.internal(ctx, "reading consent", err)
		}
		for _, sig := range p.Ledger.Signals {
			if ok {
				entries = append(entries, store.HistoryEntry{At: sig.ReceivedAt, Kind: "consent_signal", Detail: map[string]string{
					"connectionId": sig.ConnectionID, "state": string(sig.State), "mode": string(sig.Mode), "method": sig.Method, "provider": sig.Evidence.Provider}})
			}
		}
	}
	return apigw.JSON(http.StatusOK, listOf(entries, next))
}

func (h *Handler) listGroups(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	groups, next, err := h.d.Store.ListGroups(ctx, c.tenant, limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	return apigw.JSON(http.StatusOK, listOf(groups, next))
}
