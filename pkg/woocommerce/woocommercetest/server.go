// Package woocommercetest is a fake WooCommerce store serving the REST API
// v3 paths the connector uses — customers (list, get, update) and orders —
// with consumer-key auth, page/per_page pagination, X-WP-Total and
// X-WP-TotalPages and Link headers, modified_after filtering, an optional
// host rate limit answered with 429 + Retry-After, injectable 5xx/429
// failures and closed connections (pkg/fakeapi), and signed webhook
// deliveries exactly as WooCommerce sends them.
// Its customers come from pkg/dev/fakestore, deterministic by seed; they carry
// a role (RoleEvery: some are not "customer", and the listing honours
// role, default "customer", as WooCommerce does) and, with GroupsMetaKey,
// their tags in meta_data as a tagging plugin stores them. Guest orders
// can be interleaved with registered customers' orders (CustomerOrders).
// Webhooks (hooks.go): the /wp-json/wc/v3/webhooks API, and the store's own
// signed deliveries when a test changes a customer (UpdateCustomer),
// retried by Deliver, a webhook disabled after 5 consecutive failures.
package woocommercetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// Options configure the fake store.
type Options struct {
	Customers int   // registered customers
	Guests    int   // guest orders (customer_id 0)
	Seed      int64 // fakestore seed (people by index are shared across fakes)
	// FirstPerson is the fakestore index of customer 1 (to overlap or
	// separate stores); guests follow the customers.
	FirstPerson    int
	ConsumerKey    string // default "ck_test"
	ConsumerSecret string // default "cs_test"
	// ConsentMetaKey is the meta key holding SMS consent ("" = none).
	ConsentMetaKey string
	// GroupsMetaKey, when set, holds each customer's fakestore tags in
	// that meta key, as a tagging plugin stores them (a JSON array).
	GroupsMetaKey string
	// RoleEvery gives every Nth customer (id divisible by N) the role
	// Role (default "wholesale_customer") instead of "customer".
	RoleEvery int
	Role      string
	// CustomerOrders adds that many orders of registered customers
	// (customer_id > 0), interleaved with the guest orders: one after
	// every guest order until they run out.
	CustomerOrders int
	// RateLimit is the host's requests per second (0 = none, as core).
	RateLimit float64
	// FailEvery makes every Nth request fail with FailStatus (500 default).
	FailEvery  int
	FailStatus int
	Latency    time.Duration
	// URL is the store's address when it is mounted elsewhere (NewStore);
	// NewServer sets it to its own server's.
	URL string
	// RefuseWebhooks answers webhook creation 401, as a store does for a
	// key without write permission (hooks.go).
	RefuseWebhooks bool
}

// Server is a running fake store.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, URL, Close

	opts Options

	mu         sync.Mutex
	customers  map[int64]*woocommerce.Customer
	byID       []*woocommerce.Customer // the customers in id order
	orders     []woocommerce.Order
	deliveries int
	writeBacks []WriteBack

	denyAuth       bool  // DenyAuth
	authDeliveries []int // our callback's answers to key deliveries

	hooks hookState // webhooks and their deliveries (hooks.go)
}

// WriteBack is a recorded customer update.
type WriteBack struct {
	CustomerID int64
	Meta       map[string]string
}

// NewServer starts a fake store on a loopback port.
func NewServer(opts Options) *Server {
	return fakeapi.Serve(NewStore(opts))
}

// NewStore builds the store without starting a server (mount Handler()
// and set Options.URL to where it is mounted).
func NewStore(opts Options) *Server {
	if opts.ConsumerKey == "" {
		opts.ConsumerKey = "ck_test"
	}
	if opts.ConsumerSecret == "" {
		opts.ConsumerSecret = "cs_test"
	}
	if opts.FailStatus == 0 {
		opts.FailStatus = http.StatusInternalServerError
	}
	s := &Server{opts: opts, customers: map[int64]*woocommerce.Customer{}}
	s.Mount(opts.URL) // URL() is the store URL (the connection's storeUrl)
	s.initOutbox()
	retryAfter := ""
	if opts.FailStatus == http.StatusTooManyRequests || opts.FailStatus == http.StatusServiceUnavailable {
		retryAfter = "1"
	}
	s.FailEvery(opts.FailEvery, opts.FailStatus, retryAfter)
	s.Limit(opts.RateLimit)
	for i := range opts.Customers {
		p := fakestore.NewPerson(opts.Seed, opts.FirstPerson+i)
		c := customerOf(p, int64(i+1), opts.ConsentMetaKey)
		addGroups(&c, p, opts)
		s.customers[c.ID] = &c
		s.byID = append(s.byID, &c)
	}
	id := int64(1000)
	for i := range max(opts.Guests, opts.CustomerOrders) {
		if i < opts.Guests {
			p := fakestore.NewPerson(opts.Seed, opts.FirstPerson+opts.Customers+i)
			s.orders = append(s.orders, woocommerce.Order{
				ID: id, CustomerID: 0, Status: "processing",
				DateCreatedGMT: woocommerce.WCTime{Time: p.UpdatedAt}, DateModifiedGMT: woocommerce.WCTime{Time: p.UpdatedAt},
				Billing: woocommerce.Address{FirstName: p.FirstName, LastName: p.LastName, Country: p.Country, Email: p.Email, Phone: p.Phone},
			})
			id++
		}
		if i < opts.CustomerOrders && opts.Customers > 0 {
			c := s.customers[int64(i%opts.Customers)+1]
			s.orders = append(s.orders, woocommerce.Order{
				ID: id, CustomerID: c.ID, Status: "completed",
				DateCreatedGMT: c.DateModifiedGMT, DateModifiedGMT: c.DateModifiedGMT, Billing: c.Billing, Shipping: c.Shipping,
			})
			id++
		}
	}
	return s
}

// addGroups gives c its role and groups meta value (Options.RoleEvery,
// GroupsMetaKey).
func addGroups(c *woocommerce.Customer, p fakestore.Person, opts Options) {
	if opts.RoleEvery > 0 && c.ID%int64(opts.RoleEvery) == 0 {
		c.Role = cmp.Or(opts.Role, "wholesale_customer")
	}
	if opts.GroupsMetaKey != "" && len(p.Tags) > 0 {
		raw, _ := json.Marshal(p.Tags) // strings always encode
		c.MetaData = append(c.MetaData, woocommerce.Meta{ID: c.ID*10 + 1, Key: opts.GroupsMetaKey, Value: raw})
	}
}

func customerOf(p fakestore.Person, id int64, consentKey string) woocommerce.Customer {
	c := woocommerce.Customer{
		ID: id, Email: strings.TrimSpace(p.Email), FirstName: p.FirstName, LastName: p.LastName, Role: "customer",
		Username:        fmt.Sprintf("user%d", id),
		DateCreatedGMT:  woocommerce.WCTime{Time: p.UpdatedAt.Add(-24 * time.Hour)},
		DateModifiedGMT: woocommerce.WCTime{Time: p.UpdatedAt},
		Billing:         woocommerce.Address{FirstName: p.FirstName, LastName: p.LastName, Country: p.Country, Email: p.Email, Phone: p.Phone},
		Shipping:        woocommerce.Address{FirstName: p.FirstName, LastName: p.LastName, Country: p.Country},
		MetaData:        []woocommerce.Meta{},
	}
	if consentKey != "" && p.Consent != "never" {
		v := "yes"
		if p.Consent == "unsubscribed" {
			v = "no"
		}
		raw, _ := json.Marshal(v) // a string always encodes
		c.MetaData = append(c.MetaData, woocommerce.Meta{ID: id * 10, Key: consentKey, Value: raw})
	}
	return c
}

// Credentials returns the consumer key and secret.
func (s *Server) Credentials() (string, string) { return s.opts.ConsumerKey, s.opts.ConsumerSecret }

// Customer returns a copy of a customer.
func (s *Server) Customer(id int64) (woocommerce.Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return woocommerce.Customer{}, false
	}
	return *c, true
}

// Update changes a customer and bumps its date_modified_gmt to at.
func (s *Server) Update(id int64, at time.Time, f func(*woocommerce.Customer)) (woocommerce.Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return woocommerce.Customer{}, false
	}
	f(c)
	c.DateModifiedGMT = woocommerce.WCTime{Time: at.UTC().Truncate(time.Second)}
	return *c, true
}

// Delete removes a customer.
func (s *Server) Delete(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.customers, id)
	s.byID = slices.DeleteFunc(s.byID, func(c *woocommerce.Customer) bool { return c.ID == id })
}

// WriteBacks returns the recorded customer updates.
func (s *Server) WriteBacks() []WriteBack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WriteBack(nil), s.writeBacks...)
}

// Handler serves the store's REST API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /wp-json/wc/v3/customers", s.listCustomers)
	mux.HandleFunc("GET /wp-json/wc/v3/customers/{id}", s.getCustomer)
	mux.HandleFunc("PUT /wp-json/wc/v3/customers/{id}", s.putCustomer)
	mux.HandleFunc("GET /wp-json/wc/v3/orders", s.listOrders)
	mux.HandleFunc("GET /wp-json/wc/v3/webhooks", s.listWebhooks) // hooks.go
	mux.HandleFunc("POST /wp-json/wc/v3/webhooks", s.createWebhook)
	mux.HandleFunc("GET /wp-json/wc/v3/webhooks/{id}", s.getWebhook)
	mux.HandleFunc("PUT /wp-json/wc/v3/webhooks/{id}", s.updateWebhook)
	mux.HandleFunc("DELETE /wp-json/wc/v3/webhooks/{id}", s.deleteWebhook)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && isAuthPath(r.URL.Path) {
			s.wcAuth(w, r) // the merchant's browser, logged in to the store
			return
		}
		if !s.admit(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// admit applies latency, injected failures, the rate limit and auth.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	if s.Inject(w, func(status int) any {
		if status == http.StatusTooManyRequests {
			return apiError("rate_limited", "Too many requests", status)
		}
		return apiError("fake_failure", "injected failure", status)
	}) {
		return false
	}
	key, secret, ok := r.BasicAuth()
	if !ok {
		key, secret = r.URL.Query().Get("consumer_key"), r.URL.Query().Get("consumer_secret")
	}
	if !fakeapi.Equal(key, s.opts.ConsumerKey) || !fakeapi.Equal(secret, s.opts.ConsumerSecret) {
		writeError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	fakeapi.JSON(w, status, apiError(code, msg, status))
}

// apiError is WooCommerce's error body.
func apiError(code, msg string, status int) any {
	return map[string]any{"code": code, "message": msg, "data": map[string]int{"status": status}}
}

type pageReq struct {
	page, perPage int
	since         time.Time
}

func parsePage(w http.ResponseWriter, r *http.Request) (pageReq, bool) {
	q := r.URL.Query()
	p := pageReq{page: 1, perPage: 10}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, 400, "rest_invalid_param", "Invalid parameter(s): page")
			return p, false
		}
		p.page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, 400, "rest_invalid_param", "Invalid parameter(s): per_page")
			return p, false
		}
		p.perPage = n
	}
	if v := q.Get("modified_after"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, 400, "rest_invalid_param", "Invalid parameter(s): modified_after")
			return p, false
		}
		p.since = t
	}
	return p, true
}

// writePage writes one page of a list with WordPress's paging headers.
func writePage[T any](w http.ResponseWriter, r *http.Request, all []T, p pageReq) {
	start := min((p.page-1)*p.perPage, len(all))
	writePageOf(w, r, all[start:min(start+p.perPage, len(all))], len(all), p)
}

// writePageOf writes page p, the items of a list of total, with
// WordPress's paging headers.
func writePageOf[T any](w http.ResponseWriter, r *http.Request, items []T, total int, p pageReq) {
	pages := (total + p.perPage - 1) / p.perPage
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	if p.page < pages {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p.page+1))
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(items)
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	p, ok := parsePage(w, r)
	if !ok {
		return
	}
	// WooCommerce lists only the "customer" role unless role says
	// otherwise (role=all for every role).
	role := cmp.Or(r.URL.Query().Get("role"), woocommerce.DefaultRole)
	// One pass in id order counts the matches (X-WP-Total) and copies
	// only the page's: a page does not copy or sort the whole store.
	first := (p.page - 1) * p.perPage
	page := make([]woocommerce.Customer, 0, p.perPage)
	total := 0
	s.mu.Lock()
	for _, c := range s.byID {
		if (role != "all" && c.Role != role) || (!p.since.IsZero() && !c.DateModifiedGMT.After(p.since)) {
			continue
		}
		if total >= first && len(page) < p.perPage {
			page = append(page, *c)
		}
		total++
	}
	s.mu.Unlock()
	writePageOf(w, r, page, total, p)
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) {
	p, ok := parsePage(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []woocommerce.Order
	for _, o := range s.orders {
		if p.since.IsZero() || o.DateModifiedGMT.After(p.since) {
			all = append(all, o)
		}
	}
	s.mu.Unlock()
	writePage(w, r, all, p)
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c, ok := s.Customer(id)
	if !ok {
		writeError(w, 404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c)
}

func (s *Server) putCustomer(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var body struct {
		MetaData []woocommerce.Meta `json:"meta_data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 400, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	c, ok := s.Update(id, time.Now(), func(c *woocommerce.Customer) {
		for _, m := range body.MetaData {
			replaced := false
			for i := range c.MetaData {
				if c.MetaData[i].Key == m.Key {
					c.MetaData[i].Value, replaced = m.Value, true
				}
			}
			if !replaced {
				c.MetaData = append(c.MetaData, m)
			}
		}
	})
	if !ok {
		writeError(w, 404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
		return
	}
	wb := WriteBack{CustomerID: id, Meta: map[string]string{}}
	for _, m := range body.MetaData {
		wb.Meta[m.Key] = m.StringValue()
	}
	s.mu.Lock()
	s.writeBacks = append(s.writeBacks, wb)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c)
}

// EncodePHP encodes v the way WooCommerce's wp_json_encode does on the
// wire: compact, with "/" escaped as "\/".
func EncodePHP(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)), nil
}

// SendWebhook posts a signed delivery of topic with payload to url, with
// WooCommerce's headers.
func (s *Server) SendWebhook(ctx context.Context, url, secret, topic string, payload any) (*http.Response, error) {
	body, err := EncodePHP(payload)
	if err != nil {
		return nil, err
	}
	return s.send(ctx, url, secret, topic, body, 7, s.newDeliveryID())
}

// newDeliveryID returns a new X-WC-Webhook-Delivery-ID.
func (s *Server) newDeliveryID() string {
	s.mu.Lock()
	s.deliveries++
	n := s.deliveries
	s.mu.Unlock()
	return fmt.Sprintf("%016x%016x", time.Now().UnixNano(), n)
}

// send posts one signed delivery of webhook hookID with WooCommerce's
// headers.
func (s *Server) send(ctx context.Context, url, secret, topic string, body []byte, hookID int64, deliveryID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resource, event, _ := strings.Cut(topic, ".")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "WooCommerce/9.4.0 Hookshot (WordPress/6.7)")
	req.Header.Set("X-WC-Webhook-Source", s.URL()+"/")
	req.Header.Set("X-WC-Webhook-Topic", topic)
	req.Header.Set("X-WC-Webhook-Resource", resource)
	req.Header.Set("X-WC-Webhook-Event", event)
	req.Header.Set("X-WC-Webhook-ID", strconv.FormatInt(hookID, 10))
	req.Header.Set("X-WC-Webhook-Delivery-ID", deliveryID)
	req.Header.Set("X-WC-Webhook-Signature", woocommerce.Sign(secret, body))
	return http.DefaultClient.Do(req)
}

// SendPing posts the ping a newly created webhook sends.
func SendPing(ctx context.Context, url string, webhookID int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("webhook_id="+strconv.Itoa(webhookID)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return http.DefaultClient.Do(req)
}
