package klaviyotest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
)

// The Webhooks API (system webhooks) and the account's own deliveries.
//
// GET /api/webhooks lists the account's webhooks (include=webhook-topics
// adds the topics as included resources; each webhook's relationships
// name its topics either way), POST /api/webhooks creates one (JSON:API
// {data:{type:"webhook", attributes:{name, description, endpoint_url,
// secret_key}, relationships:{"webhook-topics":{data:[{type:
// "webhook-topic", id}]}}}}: name, endpoint_url (https unless
// Options.AllowHTTPEndpoints), secret_key and one or more topics the
// account offers are required; 201 with the webhook, enabled, the secret
// never shown), GET/PATCH/DELETE /api/webhooks/{id} read, update
// (attributes and topics; enabled:true re-enables a disabled webhook and
// clears its failures) and delete one (204); an unknown id is 404
// not_found. GET /api/webhook-topics lists the topics the account offers.
// Errors are JSON:API errors[] with status, code, title, detail, source.
//
// An account without the API (Options.NoWebhookAccess, SetWebhookAccess)
// answers every one of these 403 permission_denied, as Klaviyo answers an
// account without Advanced KDP that is not an app partner. The endpoints
// share one window of HookPerSecond (burst) and HookPerMinute (steady),
// answered 429 throttled with Retry-After beyond it (Klaviyo counts per
// endpoint: the fake is stricter), besides the account's general window.
//
// A consent change a test makes through the fake (SetSMSConsent) is one
// event, delivered at once to every enabled webhook holding its topic,
// signed with that webhook's secret_key, its payload the event as Get
// Event answers it (see webhook.go). A non-2xx answer (or none) counts a
// failure and leaves the delivery pending for Deliver to retry (the same
// body: the same event external_id, so at least once); after MaxFailures
// consecutive failures the webhook is disabled (enabled:false) and its
// pending deliveries dropped; a success resets the count. That limit is
// the fake's model: Klaviyo documents no number.

// MaxFailures is how many consecutive failed deliveries disable a webhook.
const MaxFailures = 5

// The topics an account offers by default: the SMS and email consent
// topics and a few message events.
var DefaultTopics = []string{
	"event:klaviyo.subscribed_to_sms_marketing", "event:klaviyo.unsubscribed_from_sms_marketing",
	"event:klaviyo.subscribed_to_email_marketing", "event:klaviyo.unsubscribed_from_email_marketing",
	"event:klaviyo.subscribed_to_list", "event:klaviyo.sent_sms", "event:klaviyo.received_sms", "event:klaviyo.email_delivered",
}

// Webhook is a webhook the fake holds, as a test sees it.
type Webhook struct {
	ID          string
	Name        string
	Description string
	EndpointURL string
	Secret      string
	Enabled     bool
	Topics      []string
}

type kwebhook struct {
	Webhook
	created, updated time.Time
}

type hookState struct {
	access         bool
	hooks          []*kwebhook
	seq            int
	second, minute []time.Time
	throttled      int
	forced         int // ThrottleNextHooks
	out            fakeapi.Outbox[*kdelivery]
	events         int  // event ids issued
	bare           bool // SetEventsIncludeProfile(false): events without the profile
}

// SetEventsIncludeProfile sets whether consent events carry the profile in
// their payload's included list (the default) or name it only by id in
// the event's relationships: whether Klaviyo includes it is unconfirmed,
// so both shapes are served.
func (s *Server) SetEventsIncludeProfile(include bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.bare = !include
}

// kdelivery is a delivery to webhook hookID; its Klaviyo-Webhook-Id is
// hookID.
type kdelivery struct {
	hookID string
	body   []byte
}

func (s *Server) hookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/webhooks", s.hookAdmit(s.listHooks))
	mux.HandleFunc("POST /api/webhooks", s.hookAdmit(s.createHook))
	mux.HandleFunc("GET /api/webhooks/{id}", s.hookAdmit(s.getHook))
	mux.HandleFunc("PATCH /api/webhooks/{id}", s.hookAdmit(s.updateHook))
	mux.HandleFunc("DELETE /api/webhooks/{id}", s.hookAdmit(s.deleteHook))
	mux.HandleFunc("GET /api/webhook-topics", s.hookAdmit(s.listTopics))
}

// jsonAPIError answers a JSON:API error as Klaviyo shapes it.
func jsonAPIError(w http.ResponseWriter, status int, code, title, detail, pointer string) {
	e := map[string]any{"id": fmt.Sprintf("fake-error-%d-%s", status, code), "status": status, "code": code, "title": title, "detail": detail, "meta": map[string]any{}}
	if pointer != "" {
		e["source"] = map[string]any{"pointer": pointer}
	}
	writeJSON(w, status, map[string]any{"errors": []any{e}})
}

// hookAdmit applies the Webhooks API's window and the account's access.
func (s *Server) hookAdmit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		perSec, perMin := cmpDefault(s.opts.HookPerSecond, 1), cmpDefault(s.opts.HookPerMinute, 15)
		now := time.Now()
		keep := func(ts []time.Time, d time.Duration) []time.Time {
			for len(ts) > 0 && now.Sub(ts[0]) >= d {
				ts = ts[1:]
			}
			return ts
		}
		s.mu.Lock()
		h := &s.hooks
		h.second, h.minute = keep(h.second, time.Second), keep(h.minute, time.Minute)
		secFull := perSec > 0 && len(h.second) >= perSec
		minFull := perMin > 0 && len(h.minute) >= perMin
		retry := 1
		if minFull {
			retry = int((time.Minute-now.Sub(h.minute[0]))/time.Second) + 1
		}
		if h.forced > 0 {
			h.forced--
			secFull = true
		}
		if secFull || minFull {
			h.throttled++
		} else {
			h.second, h.minute = append(h.second, now), append(h.minute, now)
		}
		access := h.access
		s.mu.Unlock()
		if secFull || minFull {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			jsonAPIError(w, http.StatusTooManyRequests, "throttled", "Request was throttled.", "Request was throttled. Expected available in "+strconv.Itoa(retry)+" second(s).", "")
			return
		}
		if !access {
			jsonAPIError(w, http.StatusForbidden, "permission_denied", "You do not have permission to perform this action.",
				"You do not have permission to perform this action.", "/data/")
			return
		}
		next(w, r)
	}
}

func cmpDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// resource is w as the API answers it (s.mu held).
func (h *kwebhook) resource() map[string]any {
	topics := make([]any, 0, len(h.Topics))
	for _, t := range h.Topics {
		topics = append(topics, map[string]any{"type": "webhook-topic", "id": t})
	}
	return map[string]any{"type": "webhook", "id": h.ID,
		"attributes": map[string]any{"name": h.Name, "description": h.Description, "endpoint_url": h.EndpointURL, "enabled": h.Enabled,
			"created_at": h.created.Format(time.RFC3339Nano), "updated_at": h.updated.Format(time.RFC3339Nano)},
		"relationships": map[string]any{"webhook-topics": map[string]any{"data": topics}},
		"links":         map[string]any{"self": "/api/webhooks/" + h.ID + "/"},
	}
}

func (s *Server) offers(topic string) bool {
	return slices.Contains(s.topics(), topic)
}

func (s *Server) topics() []string {
	if s.opts.Topics != nil {
		return s.opts.Topics
	}
	return DefaultTopics
}

func (s *Server) listTopics(w http.ResponseWriter, r *http.Request) {
	data := []any{}
	for _, t := range s.topics() {
		data = append(data, map[string]any{"type": "webhook-topic", "id": t, "attributes": map[string]any{"name": t}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": map[string]any{"self": s.URL() + r.URL.RequestURI()}})
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request) {
	inc := r.URL.Query().Get("include")
	if inc != "" && inc != "webhook-topics" {
		jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", "'include' must be webhook-topics", "")
		return
	}
	s.mu.Lock()
	data := []any{}
	seen := map[string]bool{}
	included := []any{}
	for _, h := range s.hooks.hooks {
		data = append(data, h.resource())
		for _, t := range h.Topics {
			if !seen[t] {
				seen[t] = true
				included = append(included, map[string]any{"type": "webhook-topic", "id": t, "attributes": map[string]any{"name": t}})
			}
		}
	}
	s.mu.Unlock()
	out := map[string]any{"data": data, "links": map[string]any{"self": s.URL() + r.URL.RequestURI()}}
	if inc != "" {
		out["included"] = included
	}
	writeJSON(w, http.StatusOK, out)
}

// hookIn is a create or update body.
type hookIn struct {
	Data struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Attributes struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
			EndpointURL *string `json:"endpoint_url"`
			SecretKey   *string `json:"secret_key"`
			Enabled     *bool   `json:"enabled"`
		} `json:"attributes"`
		Relationships *struct {
			Topics struct {
				Data []struct {
					Type string `json:"type"`
					ID   string `json:"id"`
				} `json:"data"`
			} `json:"webhook-topics"`
		} `json:"relationships"`
	} `json:"data"`
}

// apply sets what in carries on h; it answers the error and reports false
// when something is invalid.
func (s *Server) apply(w http.ResponseWriter, in hookIn, h *kwebhook) bool {
	a := in.Data.Attributes
	if a.EndpointURL != nil {
		u, err := url.Parse(*a.EndpointURL)
		if err != nil || u.Host == "" || !(u.Scheme == "https" || (s.opts.AllowHTTPEndpoints && u.Scheme == "http")) {
			jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", "endpoint_url must be a valid https URL", "/data/attributes/endpoint_url")
			return false
		}
		h.EndpointURL = *a.EndpointURL
	}
	if a.Name != nil {
		h.Name = *a.Name
	}
	if a.Description != nil {
		h.Description = *a.Description
	}
	if a.SecretKey != nil {
		h.Secret = *a.SecretKey
	}
	if a.Enabled != nil {
		if *a.Enabled {
			s.hooks.out.Reset(h.ID)
		}
		h.Enabled = *a.Enabled
	}
	if in.Data.Relationships != nil {
		var topics []string
		for _, t := range in.Data.Relationships.Topics.Data {
			if t.Type != "webhook-topic" || !s.offers(t.ID) {
				jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", "unknown webhook topic "+strconv.Quote(t.ID), "/data/relationships/webhook-topics")
				return false
			}
			if !slices.Contains(topics, t.ID) {
				topics = append(topics, t.ID)
			}
		}
		h.Topics = topics
	}
	return true
}

func decodeHook(w http.ResponseWriter, r *http.Request) (hookIn, bool) {
	var in hookIn
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.Data.Type != "webhook" {
		jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", "a JSON:API webhook resource is required", "/data")
		return in, false
	}
	return in, true
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeHook(w, r)
	if !ok {
		return
	}
	a := in.Data.Attributes
	for name, v := range map[string]*string{"name": a.Name, "endpoint_url": a.EndpointURL, "secret_key": a.SecretKey} {
		if v == nil || *v == "" {
			jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", name+" is required", "/data/attributes/"+name)
			return
		}
	}
	if in.Data.Relationships == nil || len(in.Data.Relationships.Topics.Data) == 0 {
		jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", "at least one webhook topic is required", "/data/relationships/webhook-topics")
		return
	}
	h := &kwebhook{Webhook: Webhook{Enabled: true}}
	if !s.apply(w, in, h) {
		return
	}
	s.mu.Lock()
	s.hooks.seq++
	h.ID = fmt.Sprintf("01KWH%021d", s.hooks.seq)
	h.created = time.Now().UTC()
	h.updated = h.created
	s.hooks.hooks = append(s.hooks.hooks, h)
	out := h.resource()
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"data": out})
}

// findHook returns webhook id (s.mu held), or nil.
func (s *Server) findHook(id string) *kwebhook {
	for _, h := range s.hooks.hooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

func notFound(w http.ResponseWriter, id string) {
	jsonAPIError(w, http.StatusNotFound, "not_found", "Not found.", "A webhook with id "+id+" does not exist.", "")
}

func (s *Server) getHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.findHook(r.PathValue("id"))
	var out map[string]any
	if h != nil {
		out = h.resource()
	}
	s.mu.Unlock()
	if h == nil {
		notFound(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeHook(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if in.Data.ID != id {
		jsonAPIError(w, http.StatusBadRequest, "invalid", "Invalid input.", "data.id must be the webhook's id", "/data/id")
		return
	}
	s.mu.Lock()
	h := s.findHook(id)
	if h == nil {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	next := *h
	s.mu.Unlock()
	if !s.apply(w, in, &next) {
		return
	}
	s.mu.Lock()
	var out map[string]any
	if h := s.findHook(id); h != nil {
		next.updated = time.Now().UTC()
		*h = next
		out = h.resource()
	}
	s.mu.Unlock()
	if out == nil {
		notFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.DeleteWebhook(id) {
		notFound(w, id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Webhooks returns the account's webhooks, in creation order.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, 0, len(s.hooks.hooks))
	for _, h := range s.hooks.hooks {
		c := h.Webhook
		c.Topics = slices.Clone(h.Topics)
		out = append(out, c)
	}
	return out
}

// DeleteWebhook removes a webhook (and its pending deliveries), as the
// merchant would in Klaviyo's settings; it reports whether it existed.
func (s *Server) DeleteWebhook(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.hooks.hooks)
	s.hooks.hooks = slices.DeleteFunc(s.hooks.hooks, func(h *kwebhook) bool { return h.ID == id })
	s.hooks.out.Forget(id)
	return len(s.hooks.hooks) < n
}

// SetWebhookEnabled enables or disables a webhook and reports whether it
// exists.
func (s *Server) SetWebhookEnabled(id string, enabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.findHook(id)
	if h != nil {
		h.Enabled = enabled
	}
	return h != nil
}

// SetWebhookAccess gives or takes the account's Webhooks API.
func (s *Server) SetWebhookAccess(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.access = ok
}

// ThrottleNextHooks makes the next n Webhooks API requests answer 429
// with Retry-After: 1, whatever the window holds.
func (s *Server) ThrottleNextHooks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.forced = n
}

// HookThrottled is how many Webhooks API requests were answered 429.
func (s *Server) HookThrottled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks.throttled
}

// SetSMSConsent changes profile n's (1-based) SMS marketing consent to
// SUBSCRIBED or UNSUBSCRIBED at the time at (its updated time too) and
// delivers that event, event:klaviyo.subscribed_to_sms_marketing or
// ...unsubscribed_from_sms_marketing (one event id), to the enabled
// webhooks holding that topic. It returns how many deliveries were
// answered with a 2xx.
func (s *Server) SetSMSConsent(n int, consent string, at time.Time) int {
	topic := map[string]string{"SUBSCRIBED": "event:klaviyo.subscribed_to_sms_marketing", "UNSUBSCRIBED": "event:klaviyo.unsubscribed_from_sms_marketing"}[consent]
	if topic == "" {
		panic("klaviyotest: SetSMSConsent takes SUBSCRIBED or UNSUBSCRIBED")
	}
	s.Update(n, at, func(attrs map[string]any) {
		attrs["subscriptions"] = map[string]any{"sms": map[string]any{"marketing": map[string]any{
			"can_receive_sms_marketing": consent == "SUBSCRIBED", "consent": consent,
			"consent_timestamp": at.UTC().Format(time.RFC3339), "method": "TEXT", "method_detail": "JOIN"}}}
	})
	var batch []*kdelivery
	s.mu.Lock()
	eventID := s.nextEventID()
	for _, h := range s.hooks.hooks {
		if !h.Enabled || !slices.Contains(h.Topics, topic) {
			continue
		}
		body, err := eventDelivery(topic, h.ID, eventID, s.profiles[n-1], at, !s.hooks.bare)
		if err != nil {
			panic(err) // the fake's own profiles always encode
		}
		batch = append(batch, &kdelivery{hookID: h.ID, body: body})
	}
	s.mu.Unlock()
	return s.hooks.out.Send(batch)
}

// Deliver retries every pending delivery once and returns how many were
// answered with a 2xx.
func (s *Server) Deliver() int { return s.hooks.out.Retry() }

// Pending is how many deliveries wait for a retry.
func (s *Server) Pending() int { return s.hooks.out.Pending() }

// initOutbox sets how deliveries are sent (fakeapi.Outbox): each signed
// when it is posted, to a webhook still enabled; MaxFailures in a row
// disable it.
func (s *Server) initOutbox() {
	o := &s.hooks.out
	o.Max, o.Hook = MaxFailures, func(d *kdelivery) string { return d.hookID }
	o.Post = func(d *kdelivery) (bool, bool) {
		s.mu.Lock()
		h := s.findHook(d.hookID)
		live := h != nil && h.Enabled
		var endpoint, secret string
		if live {
			endpoint, secret = h.EndpointURL, h.Secret
		}
		s.mu.Unlock()
		if !live {
			return false, false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return true, fakeapi.Status(post(ctx, endpoint, secret, d.body, d.hookID, time.Now()))/100 == 2
	}
	o.GiveUp = func(d *kdelivery) { s.SetWebhookEnabled(d.hookID, false) }
}
