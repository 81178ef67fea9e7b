package woocommercetest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// Webhooks (REST API v3, /wp-json/wc/v3/webhooks) and the store's own
// deliveries.
//
// GET lists them (status=all|active|paused|disabled, default all; paged
// like every listing), POST creates one ({name, topic, delivery_url,
// secret, status}: topic and delivery_url required, 201 with the webhook,
// the secret never shown), GET/PUT/DELETE /webhooks/{id} read, update
// (status active re-enables a disabled hook and clears its failures) and
// delete one (force=true required: 501 woocommerce_rest_trash_not_supported
// without it; an unknown id 404 woocommerce_rest_shop_webhook_invalid_id).
//
// A change a test makes through the fake (UpdateCustomer) is delivered at
// once to every active webhook of its topic, signed with that webhook's
// secret. A non-2xx answer (or none) counts a failure and leaves the
// delivery pending for Deliver to retry; after MaxFailures consecutive
// failures the webhook is disabled (and its pending deliveries dropped),
// as WooCommerce does; a success resets the count.

// MaxFailures is WooCommerce's default woocommerce_max_webhook_delivery_failures.
const MaxFailures = 5

type hook struct {
	woocommerce.Webhook
	secret string
}

type hookState struct {
	hooks []*hook
	seq   int64
	out   fakeapi.Outbox[*delivery]
}

type delivery struct {
	hookID int64
	topic  string
	body   []byte
	id     string
}

var knownResources = []string{"coupon", "customer", "order", "product"}

func validTopic(t string) bool {
	res, ev, ok := strings.Cut(t, ".")
	if !ok || ev == "" {
		return false
	}
	if res == "action" {
		return true
	}
	return slices.Contains(knownResources, res) && slices.Contains([]string{"created", "updated", "deleted", "restored"}, ev)
}

func (h *hook) out() woocommerce.Webhook {
	w := h.Webhook
	w.Hooks = []any{}
	return w
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	p, ok := parsePage(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "all"
	}
	if !slices.Contains([]string{"all", "active", "paused", "disabled"}, status) {
		writeError(w, 400, "rest_invalid_param", "Invalid parameter(s): status")
		return
	}
	var all []woocommerce.Webhook
	s.mu.Lock()
	for _, h := range s.hooks.hooks {
		if status == "all" || h.Status == status {
			all = append(all, h.out())
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	writePage(w, r, all, p)
}

type hookIn struct {
	Name        *string `json:"name"`
	Topic       *string `json:"topic"`
	DeliveryURL *string `json:"delivery_url"`
	Secret      *string `json:"secret"`
	Status      *string `json:"status"`
}

// apply sets what in carries on h, or names the invalid parameter.
func (in hookIn) apply(h *hook) string {
	if in.Topic != nil {
		if !validTopic(*in.Topic) {
			return "topic"
		}
		h.Topic = *in.Topic
		h.Resource, h.Event, _ = strings.Cut(*in.Topic, ".")
	}
	if in.DeliveryURL != nil {
		u, err := url.Parse(*in.DeliveryURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "delivery_url"
		}
		h.DeliveryURL = *in.DeliveryURL
	}
	if in.Status != nil {
		if !slices.Contains([]string{"active", "paused", "disabled"}, *in.Status) {
			return "status"
		}
		h.Status = *in.Status
	}
	if in.Name != nil {
		h.Name = *in.Name
	}
	if in.Secret != nil {
		h.secret = *in.Secret
	}
	return ""
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	if s.opts.RefuseWebhooks {
		writeError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
		return
	}
	var in hookIn
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, 400, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	for k, v := range map[string]*string{"topic": in.Topic, "delivery_url": in.DeliveryURL} {
		if v == nil || *v == "" {
			writeError(w, 400, "rest_missing_callback_param", "Missing parameter(s): "+k)
			return
		}
	}
	h := &hook{Webhook: woocommerce.Webhook{Status: "active", Name: "Webhook created on " + time.Now().UTC().Format("Jan 02, 2006 @ 03:04 PM")}}
	if in.Secret == nil {
		sec := "wc-generated-secret"
		in.Secret = &sec // WooCommerce derives one from the user
	}
	if bad := in.apply(h); bad != "" {
		writeError(w, 400, "rest_invalid_param", "Invalid parameter(s): "+bad)
		return
	}
	s.mu.Lock()
	s.hooks.seq++
	h.ID = s.hooks.seq
	h.DateCreated = time.Now().UTC().Format("2006-01-02T15:04:05")
	s.hooks.hooks = append(s.hooks.hooks, h)
	out := h.out()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(out)
}

// find returns webhook id (s.mu held).
func (s *Server) find(id int64) *hook {
	for _, h := range s.hooks.hooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

func (s *Server) hookOf(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	found := err == nil && s.find(id) != nil
	s.mu.Unlock()
	if !found {
		writeError(w, 404, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
	}
	return id, found
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.hookOf(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	out := s.find(id).out()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.hookOf(w, r)
	if !ok {
		return
	}
	var in hookIn
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, 400, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	s.mu.Lock()
	h := s.find(id)
	if h == nil {
		s.mu.Unlock()
		writeError(w, 404, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
		return
	}
	next := *h
	bad := in.apply(&next)
	if bad == "" {
		if next.Status == "active" {
			s.hooks.out.Reset(strconv.FormatInt(id, 10)) // re-enabled: its failures count again from 0
		}
		*h = next
	}
	out := h.out()
	s.mu.Unlock()
	if bad != "" {
		writeError(w, 400, "rest_invalid_param", "Invalid parameter(s): "+bad)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.hookOf(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("force") != "true" {
		writeError(w, http.StatusNotImplemented, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
		return
	}
	s.mu.Lock()
	out := s.find(id).out()
	s.mu.Unlock()
	s.DeleteWebhook(id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// Webhooks returns the store's webhooks, by id.
func (s *Server) Webhooks() []woocommerce.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]woocommerce.Webhook, 0, len(s.hooks.hooks))
	for _, h := range s.hooks.hooks {
		out = append(out, h.out())
	}
	return out
}

// WebhookSecret returns the secret webhook id signs with ("" if none).
func (s *Server) WebhookSecret(id int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.find(id); h != nil {
		return h.secret
	}
	return ""
}

// SetWebhookStatus sets a webhook's status (as the merchant would in the
// admin) and reports whether it exists.
func (s *Server) SetWebhookStatus(id int64, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.find(id)
	if h != nil {
		h.Status = status
	}
	return h != nil
}

// DeleteWebhook removes a webhook (and its pending deliveries).
func (s *Server) DeleteWebhook(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.hooks = slices.DeleteFunc(s.hooks.hooks, func(h *hook) bool { return h.ID == id })
	s.hooks.out.Forget(strconv.FormatInt(id, 10))
}

// UpdateCustomer changes a customer, bumps its date_modified_gmt to at and
// delivers customer.updated to the active webhooks of that topic. It
// returns how many deliveries were answered with a 2xx.
func (s *Server) UpdateCustomer(id int64, at time.Time, f func(*woocommerce.Customer)) int {
	c, ok := s.Update(id, at, f)
	if !ok {
		return 0
	}
	return s.emit("customer.updated", c)
}

// emit delivers payload to every active webhook of topic.
func (s *Server) emit(topic string, payload any) int {
	body, err := EncodePHP(payload)
	if err != nil {
		panic(err) // the fake's own payloads always encode
	}
	var batch []*delivery
	s.mu.Lock()
	for _, h := range s.hooks.hooks {
		if h.Topic == topic && h.Status == "active" {
			batch = append(batch, &delivery{hookID: h.ID, topic: topic, body: body})
		}
	}
	s.mu.Unlock()
	for _, d := range batch {
		d.id = s.newDeliveryID()
	}
	return s.hooks.out.Send(batch)
}

// Deliver retries every pending delivery once and returns how many were
// answered with a 2xx.
func (s *Server) Deliver() int { return s.hooks.out.Retry() }

// Pending is how many deliveries wait for a retry.
func (s *Server) Pending() int { return s.hooks.out.Pending() }

// initOutbox sets how deliveries are sent (fakeapi.Outbox): to a webhook
// still active (a 2xx, 301 or 302 is a success, as WooCommerce counts);
// MaxFailures in a row disable it.
func (s *Server) initOutbox() {
	o := &s.hooks.out
	o.Max, o.Hook = MaxFailures, func(d *delivery) string { return strconv.FormatInt(d.hookID, 10) }
	o.Post = func(d *delivery) (bool, bool) {
		s.mu.Lock()
		h := s.find(d.hookID)
		var url, secret string
		live := h != nil && h.Status == "active"
		if live {
			url, secret = h.DeliveryURL, h.secret
		}
		s.mu.Unlock()
		if !live {
			return false, false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st := fakeapi.Status(s.send(ctx, url, secret, d.topic, d.body, d.hookID, d.id))
		return true, st/100 == 2 || st == 301 || st == 302
	}
	o.GiveUp = func(d *delivery) { s.SetWebhookStatus(d.hookID, "disabled") }
}
