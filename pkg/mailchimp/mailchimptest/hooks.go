package mailchimptest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
)

// List webhooks (/3.0/lists/{id}/webhooks) and the audience's own
// deliveries.
//
// GET lists them ({webhooks, list_id, total_items}, not paged), POST
// creates one ({url, events, sources}; an event or source left out is
// false, url required and http(s)), GET/PATCH/DELETE
// /webhooks/{webhook_id} read, update (what the body carries) and delete
// one (204); an unknown id is 404. Errors are problem+json, as
// Mailchimp's. Before creating a webhook, or moving one to a new URL, the
// fake GETs the URL, as Mailchimp does, and refuses it (400 with the
// reason) unless it answers 200.
//
// A change a test makes to a member through the fake (Subscribe,
// ChangeProfile, Unsubscribe, ChangeEmail, Clean), made by one of the
// sources user, admin or api, is delivered at once, form-encoded as
// Mailchimp sends it, to every webhook subscribed to that event and that
// source. A delivery not answered 2xx (or not at all within 10 s,
// Mailchimp's time-out) counts a failure and stays pending for Deliver
// to retry (Mailchimp retries over 75 minutes). After MaxFailures
// consecutive failures the fake drops the webhook: Mailchimp says
// excessive or unresponsive webhooks "may be dropped or disabled at
// Mailchimp's discretion" and its API has no disabled state, so the
// fake's model is that the webhook is gone from the listing (with its
// pending deliveries). A success resets the count.

// MaxFailures is how many consecutive failed deliveries drop a webhook
// (the fake's choice: Mailchimp publishes no number).
const MaxFailures = 5

// Source is who made a change: a member (user), an account user in the
// admin (admin), or an API call (api).
type Source string

// The sources of change a list webhook filters on.
const (
	ByUser  Source = "user"
	ByAdmin Source = "admin"
	ByAPI   Source = "api"
)

var (
	hookEvents  = []string{"subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign"}
	hookSources = []string{"user", "admin", "api"}
)

type listHook struct {
	id      string
	url     string
	events  map[string]bool
	sources map[string]bool
}

type hookState struct {
	mu    sync.Mutex
	hooks []*listHook
	seq   int
	out   fakeapi.Outbox[*hookDelivery]
}

type hookDelivery struct {
	hookID string
	body   []byte
}

// validator GETs a webhook URL (Mailchimp's check) and posts deliveries.
var validator = &http.Client{Timeout: 10 * time.Second}

func (s *Server) hookJSON(h *listHook) map[string]any {
	self := s.URL() + "/3.0/lists/" + s.opts.AudienceID + "/webhooks/" + h.id
	return map[string]any{"id": h.id, "url": h.url, "events": h.events, "sources": h.sources, "list_id": s.opts.AudienceID,
		"_links": []map[string]any{{"rel": "self", "href": self, "method": "GET"}, {"rel": "update", "href": self, "method": "PATCH"},
			{"rel": "delete", "href": self, "method": "DELETE"}}}
}

// problem answers an error as Mailchimp does (application/problem+json).
func problem(w http.ResponseWriter, status int, title, detail string, fields map[string]string) {
	body := map[string]any{"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title, "status": status,
		"detail": detail, "instance": fmt.Sprintf("%08x-fake", time.Now().UnixNano()&0xffffffff)}
	if len(fields) > 0 {
		var errs []map[string]string
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			errs = append(errs, map[string]string{"field": k, "message": fields[k]})
		}
		body["errors"] = errs
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) listHooks(w http.ResponseWriter, _ *http.Request) {
	s.hooks.mu.Lock()
	out := []map[string]any{}
	for _, h := range s.hooks.hooks {
		out = append(out, s.hookJSON(h))
	}
	s.hooks.mu.Unlock()
	writeJSON(w, 200, map[string]any{"webhooks": out, "list_id": s.opts.AudienceID, "total_items": len(out)})
}

type hookIn struct {
	URL     *string         `json:"url"`
	Events  map[string]bool `json:"events"`
	Sources map[string]bool `json:"sources"`
}

func decodeHook(w http.ResponseWriter, r *http.Request) (hookIn, bool) {
	var in hookIn
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		problem(w, 400, "JSON Parse Error", "We encountered an unspecified JSON parsing error.", nil)
		return in, false
	}
	for k := range in.Events {
		if !slices.Contains(hookEvents, k) {
			problem(w, 400, "Invalid Resource", "The resource submitted could not be validated.", map[string]string{"events." + k: "Schema describes object, unknown property"})
			return in, false
		}
	}
	for k := range in.Sources {
		if !slices.Contains(hookSources, k) {
			problem(w, 400, "Invalid Resource", "The resource submitted could not be validated.", map[string]string{"sources." + k: "Schema describes object, unknown property"})
			return in, false
		}
	}
	return in, true
}

// checkURL validates a webhook URL as Mailchimp does: well formed, then a
// GET answered 200. It answers the refusal and reports false.
func checkURL(w http.ResponseWriter, u string) bool {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		problem(w, 400, "Invalid Resource", "The resource submitted could not be validated.", map[string]string{"url": "This value should be a valid URL."})
		return false
	}
	resp, err := validator.Get(u)
	status := 0
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		status = resp.StatusCode
	}
	if status != http.StatusOK {
		why := "it did not answer"
		if status != 0 {
			why = fmt.Sprintf("a GET answered HTTP %d", status)
		}
		problem(w, 400, "Invalid Resource", "The resource submitted could not be validated.",
			map[string]string{"url": "We couldn't verify the URL is working (" + why + ")."})
		return false
	}
	return true
}

// flags copies the known flags of in (false when left out).
func flags(in map[string]bool, known []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range known {
		out[k] = in[k]
	}
	return out
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeHook(w, r)
	if !ok {
		return
	}
	if in.URL == nil || *in.URL == "" {
		problem(w, 400, "Invalid Resource", "The resource submitted could not be validated.", map[string]string{"url": "This value should not be blank."})
		return
	}
	if !checkURL(w, *in.URL) {
		return
	}
	s.hooks.mu.Lock()
	s.hooks.seq++
	h := &listHook{url: *in.URL, events: flags(in.Events, hookEvents), sources: flags(in.Sources, hookSources)}
	sum := md5.Sum([]byte(fmt.Sprint("hook", s.hooks.seq)))
	h.id = hex.EncodeToString(sum[:5])
	s.hooks.hooks = append(s.hooks.hooks, h)
	out := s.hookJSON(h)
	s.hooks.mu.Unlock()
	writeJSON(w, 200, out)
}

// findHook returns webhook id (s.hooks.mu held).
func (s *Server) findHook(id string) *listHook {
	for _, h := range s.hooks.hooks {
		if h.id == id {
			return h
		}
	}
	return nil
}

func (s *Server) getHook(w http.ResponseWriter, r *http.Request) {
	s.hooks.mu.Lock()
	h := s.findHook(r.PathValue("id"))
	var out map[string]any
	if h != nil {
		out = s.hookJSON(h)
	}
	s.hooks.mu.Unlock()
	if h == nil {
		notFound(w)
		return
	}
	writeJSON(w, 200, out)
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeHook(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	s.hooks.mu.Lock()
	h := s.findHook(id)
	moved := h != nil && in.URL != nil && *in.URL != h.url
	s.hooks.mu.Unlock()
	if h == nil {
		notFound(w)
		return
	}
	if moved && !checkURL(w, *in.URL) {
		return
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if h = s.findHook(id); h == nil {
		notFound(w)
		return
	}
	if in.URL != nil {
		h.url = *in.URL
	}
	for k, v := range in.Events {
		h.events[k] = v
	}
	for k, v := range in.Sources {
		h.sources[k] = v
	}
	s.hooks.out.Reset(h.id)
	writeJSON(w, 200, s.hookJSON(h))
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	if !s.DeleteWebhook(r.PathValue("id")) {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Webhook is a list webhook as a test sees it.
type Webhook struct {
	ID      string
	URL     string
	Events  map[string]bool
	Sources map[string]bool
}

// Webhooks returns the audience's webhooks, oldest first.
func (s *Server) Webhooks() []Webhook {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]Webhook, 0, len(s.hooks.hooks))
	for _, h := range s.hooks.hooks {
		out = append(out, Webhook{ID: h.id, URL: h.url, Events: flags(h.events, hookEvents), Sources: flags(h.sources, hookSources)})
	}
	return out
}

// DeleteWebhook removes a webhook and its pending deliveries (as the
// account owner would in the admin) and reports whether it existed.
func (s *Server) DeleteWebhook(id string) bool {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	n := len(s.hooks.hooks)
	s.hooks.hooks = slices.DeleteFunc(s.hooks.hooks, func(h *listHook) bool { return h.id == id })
	s.hooks.out.Forget(id)
	return len(s.hooks.hooks) != n
}

// SetWebhookEvents sets a webhook's event flags (as the account owner
// would in the admin) and reports whether it exists.
func (s *Server) SetWebhookEvents(id string, events map[string]bool) bool {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	h := s.findHook(id)
	if h != nil {
		h.events = flags(events, hookEvents)
	}
	return h != nil
}

// firedAt is Mailchimp's fired_at format.
func firedAt(at time.Time) string { return at.UTC().Format("2006-01-02 15:04:05") }

// memberForm is the form of a subscribe, profile or unsubscribe of member
// i (s.data read lock held): its merge fields that are text.
func (s *Server) memberForm(typ string, i int, at time.Time) url.Values {
	m := s.members[i]
	email, _ := m["email_address"].(string)
	form := url.Values{"type": {typ}, "fired_at": {firedAt(at)}, "data[id]": {fmt.Sprint(m["unique_email_id"])},
		"data[list_id]": {s.opts.AudienceID}, "data[email]": {email}, "data[email_type]": {"html"},
		"data[merges][EMAIL]": {email}, "data[ip_opt]": {"10.20.10.30"}}
	merges, _ := m["merge_fields"].(map[string]any)
	for k, v := range merges {
		if str, ok := v.(string); ok {
			form.Set("data[merges]["+k+"]", str)
		}
	}
	return form
}

// Subscribe adds a subscribed member (its merge fields FNAME, LNAME,
// PHONE from merges) changed at at, and delivers subscribe. It returns the
// member's number (1-based) and how many deliveries were answered 2xx.
func (s *Server) Subscribe(by Source, at time.Time, email string, merges map[string]any) (n, delivered int) {
	s.data.Lock()
	sum := md5.Sum([]byte(strings.ToLower(email)))
	i := len(s.members)
	mf := map[string]any{}
	for k, v := range merges {
		mf[k] = v
	}
	s.members = append(s.members, map[string]any{
		"id": hex.EncodeToString(sum[:]), "unique_email_id": fmt.Sprintf("%010x", uint64(i+1)*2654435761%(1<<40)),
		"email_address": email, "status": "subscribed", "merge_fields": mf, "tags": []map[string]any{},
		"last_changed": at.UTC().Format(time.RFC3339), "sms_phone_number": "", "sms_subscription_status": "nonsubscribed",
		"sms_subscription_last_updated": "",
	})
	s.changed = append(s.changed, at)
	s.encMu.Lock()
	s.encoded = nil // the caches are sized by the member count
	s.encMu.Unlock()
	form := s.memberForm("subscribe", i, at)
	form.Set("data[ip_signup]", "10.20.10.30")
	s.data.Unlock()
	return i + 1, s.emit("subscribe", by, form)
}

// ChangeProfile changes member n's (1-based) merge fields with f and
// delivers profile.
func (s *Server) ChangeProfile(by Source, n int, at time.Time, f func(merges map[string]any)) int {
	var form url.Values
	s.Update(n, at, func(m map[string]any) {
		f(m["merge_fields"].(map[string]any))
	})
	s.data.RLock()
	form = s.memberForm("profile", n-1, at)
	s.data.RUnlock()
	return s.emit("profile", by, form)
}

// Unsubscribe sets member n's (1-based) email status unsubscribed and
// delivers unsubscribe.
func (s *Server) Unsubscribe(by Source, n int, at time.Time) int {
	s.Update(n, at, func(m map[string]any) { m["status"] = "unsubscribed" })
	s.data.RLock()
	form := s.memberForm("unsubscribe", n-1, at)
	s.data.RUnlock()
	form.Set("data[action]", "unsub")
	form.Set("data[reason]", "manual")
	form.Set("data[campaign_id]", "cb398d21d2")
	return s.emit("unsubscribe", by, form)
}

// ChangeEmail changes member n's (1-based) email address, which gives it
// a new id and unique_email_id, and delivers upemail.
func (s *Server) ChangeEmail(by Source, n int, at time.Time, email string) int {
	var old, newID string
	s.Update(n, at, func(m map[string]any) {
		old, _ = m["email_address"].(string)
		sum := md5.Sum([]byte(strings.ToLower(email)))
		m["id"] = hex.EncodeToString(sum[:])
		newID = hex.EncodeToString(sum[10:15])
		m["unique_email_id"] = newID
		m["email_address"] = email
	})
	form := url.Values{"type": {"upemail"}, "fired_at": {firedAt(at)}, "data[list_id]": {s.opts.AudienceID},
		"data[new_id]": {newID}, "data[new_email]": {email}, "data[old_email]": {old}}
	return s.emit("upemail", by, form)
}

// Clean sets member n's (1-based) email status cleaned (a hard bounce)
// and delivers cleaned.
func (s *Server) Clean(by Source, n int, at time.Time) int {
	var email string
	s.Update(n, at, func(m map[string]any) {
		m["status"] = "cleaned"
		email, _ = m["email_address"].(string)
	})
	form := url.Values{"type": {"cleaned"}, "fired_at": {firedAt(at)}, "data[list_id]": {s.opts.AudienceID},
		"data[campaign_id]": {"4fjk2ma9xd"}, "data[reason]": {"hard"}, "data[email]": {email}}
	return s.emit("cleaned", by, form)
}

// emit delivers form to every webhook subscribed to event and source by.
func (s *Server) emit(event string, by Source, form url.Values) int {
	body := []byte(form.Encode())
	var batch []*hookDelivery
	s.hooks.mu.Lock()
	for _, h := range s.hooks.hooks {
		if h.events[event] && h.sources[string(by)] {
			batch = append(batch, &hookDelivery{hookID: h.id, body: body})
		}
	}
	s.hooks.mu.Unlock()
	return s.hooks.out.Send(batch)
}

// Deliver retries every pending delivery once and returns how many were
// answered with a 2xx.
func (s *Server) Deliver() int { return s.hooks.out.Retry() }

// Pending is how many deliveries wait for a retry.
func (s *Server) Pending() int { return s.hooks.out.Pending() }

// initOutbox sets how deliveries are sent (fakeapi.Outbox): to a webhook
// the fake still holds; MaxFailures in a row drop it.
func (s *Server) initOutbox() {
	o := &s.hooks.out
	o.Max, o.Hook = MaxFailures, func(d *hookDelivery) string { return d.hookID }
	o.Post = func(d *hookDelivery) (bool, bool) {
		s.hooks.mu.Lock()
		h := s.findHook(d.hookID)
		var u string
		if h != nil {
			u = h.url
		}
		s.hooks.mu.Unlock()
		return h != nil, h != nil && post(u, d.body)
	}
	o.GiveUp = func(d *hookDelivery) { s.DeleteWebhook(d.hookID) }
}

// post sends one delivery as Mailchimp does and reports a 2xx.
func post(u string, body []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "MailChimp")
	return fakeapi.Status(validator.Do(req))/100 == 2
}
