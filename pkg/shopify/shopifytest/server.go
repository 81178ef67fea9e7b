// Package shopifytest is a fake Shopify shop serving the GraphQL Admin API
// the connector uses — the customers connection (cursor pages, the
// updated_at query filter) and customerSmsMarketingConsentUpdate — with the
// access-token check, the cost-based leaky bucket and its
// extensions.cost.throttleStatus (THROTTLED errors when empty), injectable
// 5xx/429 failures and closed connections (pkg/fakeapi), and signed
// webhook deliveries exactly as Shopify sends them. Customers come from pkg/dev/fakestore, deterministic by seed.
//
// Setup queries (setup.go): the connector's named ContactsyncCheck (shop
// { name }), ContactsyncOptionTags (shop { customerTags(first:) }: the
// customers' tags, sorted) and ContactsyncOptionSegments (segments(first:,
// after:), the segments AddSegment added), each costing 1 point.
//
// Segments and orders (segments.go): segments(first, after),
// customerSegmentMembers(segmentId, first, after) with totalCount,
// segment(id:), orders(first, after) with guest checkouts (customer null),
// and the customer.joined_segment / customer.left_segment payloads.
//
// Webhook subscriptions (hooks.go): webhookSubscriptionCreate,
// webhookSubscriptionDelete and webhookSubscriptions(first:, after:), and
// the shop's own signed deliveries to them when a test changes a customer
// (UpdateCustomer) or uninstalls the app (Uninstall), retried by Deliver.
//
// Bulk operations (bulk.go): bulkOperationRunQuery, currentBulkOperation
// and node(id:) with CREATED → RUNNING → COMPLETED (or FAILED) over
// Options.BulkDelay, and the JSONL result served at a signed URL
// (/bulk/{n}.jsonl?token=...) that honours Range requests.
//
// Field mapping (fields.go): metafieldDefinitions(ownerType: CUSTOMER)
// (DefineMetafield), aliased metafield(namespace:, key:) selections on
// customer nodes of pages and exports (SetMetafield; QueriedMetafields
// says which were asked) and the default address's other fields.
//
// Cost model: a customers, segments, segment members or orders page of n
// nodes costs 2 + n points (one per node plus the connection), a
// segment(id:) read 1, a mutation 10; the bucket holds MaxAvailable points
// and restores RestoreRate per second (Standard plan: 2000 and 100).
package shopifytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/oauth/oauthtest"
	"github.com/contactsync/contactsync/pkg/shopify"
)

// Options configure the fake shop.
type Options struct {
	Customers   int
	Seed        int64
	FirstPerson int    // fakestore index of customer 1
	Domain      string // default "demo.myshopify.com"
	AccessToken string // default "shpat_test"
	// Cost bucket; zero values mean the Standard plan (2000, 100/s).
	MaxAvailable, RestoreRate float64
	// InitialAvailable starts the bucket with that many points (0 = full),
	// so benchmarks can measure the steady restore rate.
	InitialAvailable float64
	FailEvery        int // every Nth request (GraphQL or download) answers 503
	// TooManyEvery makes every Nth request (GraphQL or download) answer
	// 429 with a Retry-After header.
	TooManyEvery int
	URL          string

	// BulkDelay is how long a bulk operation stays CREATED then RUNNING
	// before it completes (0 means 20 ms; negative completes at once).
	BulkDelay time.Duration
	// HoldBulk keeps every bulk operation RUNNING, whatever BulkDelay
	// says, until the test calls ReleaseBulk: a test that needs an export
	// to be still running when the client polls holds it open instead of
	// betting that the export is slower than the client.
	HoldBulk bool
	// BulkFailure, when set, makes bulk operations end FAILED with this
	// errorCode (ACCESS_DENIED, INTERNAL_SERVER_ERROR or TIMEOUT).
	BulkFailure string
	// CutEvery drops every Nth result download halfway through its body.
	CutEvery int
	// IgnoreRange answers result downloads with 200 and the whole file,
	// as a server without range support would.
	IgnoreRange bool
	// OmitFileSize leaves fileSize out (null) of completed operations, as
	// an answer without it would: the client then plans one range.
	OmitFileSize bool
	// WebhookSecret signs the webhooks the shop delivers to its
	// subscriptions (hooks.go): the app's client secret, as Shopify signs
	// (default OAuthClientSecret).
	WebhookSecret string
}

// Server is a running fake shop.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, URL, Close

	opts Options

	mu         sync.Mutex
	customers  []*node // sorted by id
	available  float64
	at         time.Time
	webhooks   int
	writeBacks []string // customer GIDs unsubscribed
	bulkOps    []*bulkOp
	downloads  int
	bulkPolls  int    // currentBulkOperation and node(id:) requests
	urlKey     []byte // signs result URLs

	// bulkGate is open (nil or closed) unless Options.HoldBulk; a held
	// operation stays RUNNING until ReleaseBulk closes it.
	bulkGate    chan struct{}
	releaseBulk sync.Once

	segments      []*segment // segments.go
	orders        []*order
	metafieldDefs []metafieldDef  // customer metafield definitions (fields.go)
	queriedMeta   map[string]bool // metafields customer queries selected
	// refuseWriteBacks, when set, is the user error every write-back
	// answers (RefuseWriteBacks); refused counts them.
	refuseWriteBacks string
	refused          int
	oauthOnce        sync.Once
	oauthApp         *oauthtest.Provider // OAuth()

	hooks hookState // webhook subscriptions and deliveries (hooks.go)
}

type node struct {
	ID        int64
	FirstName string
	LastName  string
	UpdatedAt time.Time
	Tags      []string
	Email     string
	Phone     string // SMS consent phone ("" for some)
	AddrPhone string
	Country   string
	State     string // SUBSCRIBED, UNSUBSCRIBED, NOT_SUBSCRIBED
	ConsentAt time.Time
	Account   string // CustomerState: ENABLED (default), DISABLED, INVITED, DECLINED
	// Metafields by "namespace.key"; City of the default address
	// (fields.go).
	Metafields map[string]string
	City       string
}

// BaseID is added to customer numbers to make ids like Shopify's (> 2^53).
const BaseID int64 = 7064055069303700000

// NewServer starts the fake on a loopback port.
func NewServer(opts Options) *Server {
	return fakeapi.Serve(NewStore(opts))
}

// NewStore builds the fake without starting a server (mount Handler() and
// set Options.URL).
func NewStore(opts Options) *Server {
	if opts.Domain == "" {
		opts.Domain = "demo.myshopify.com"
	}
	if opts.AccessToken == "" {
		opts.AccessToken = "shpat_test"
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = OAuthClientSecret
	}
	if opts.MaxAvailable == 0 {
		opts.MaxAvailable = 2000
	}
	if opts.RestoreRate == 0 {
		opts.RestoreRate = 100
	}
	s := &Server{opts: opts, available: opts.MaxAvailable, at: time.Now(), urlKey: newURLKey()}
	s.Mount(opts.URL) // URL() is the API base URL (the connection's apiBaseUrl)
	s.initOutbox()
	s.FailEvery(opts.FailEvery, http.StatusServiceUnavailable, "")
	s.FailEvery(opts.TooManyEvery, http.StatusTooManyRequests, "0.05")
	if opts.HoldBulk {
		s.bulkGate = make(chan struct{})
	}
	if opts.InitialAvailable > 0 && opts.InitialAvailable < opts.MaxAvailable {
		s.available = opts.InitialAvailable
	}
	for i := range opts.Customers {
		p := fakestore.NewPerson(opts.Seed, opts.FirstPerson+i)
		n := &node{ID: BaseID + int64(i+1), FirstName: p.FirstName, LastName: p.LastName, UpdatedAt: p.UpdatedAt, Tags: p.Tags,
			Email: strings.TrimSpace(p.Email), Country: p.Country, ConsentAt: p.ConsentAt, State: "NOT_SUBSCRIBED", Account: "ENABLED"}
		switch p.Consent {
		case "subscribed":
			n.State = "SUBSCRIBED"
		case "unsubscribed":
			n.State = "UNSUBSCRIBED"
		}
		if i%5 == 4 {
			n.AddrPhone = p.Phone // the phone only on the default address
		} else {
			n.Phone = p.Phone
		}
		s.customers = append(s.customers, n)
	}
	return s
}

// Domain and AccessToken are the shop's credentials.
func (s *Server) Domain() string      { return s.opts.Domain }
func (s *Server) AccessToken() string { return s.opts.AccessToken }

// WriteBacks returns the customer GIDs whose SMS consent was unsubscribed.
func (s *Server) WriteBacks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writeBacks...)
}

// Update changes customer n (1-based) and bumps its updatedAt to at.
func (s *Server) Update(n int, at time.Time, f func(first, last *string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customers[n-1]
	f(&c.FirstName, &c.LastName)
	c.UpdatedAt = at.UTC().Truncate(time.Second)
}

// SetSMSConsent sets customer n's (1-based) SMS number and its marketing
// consent (SUBSCRIBED, UNSUBSCRIBED or NOT_SUBSCRIBED) with the consent
// time the shop reports — any time, as a shop with a wrong clock would.
func (s *Server) SetSMSConsent(n int, phone, state string, consentAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customers[n-1]
	c.Phone, c.State, c.ConsentAt = phone, state, consentAt
}

// SetTags replaces customer n's (1-based) tags.
func (s *Server) SetTags(n int, tags []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[n-1].Tags = tags
}

// Handler serves the GraphQL endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/{version}/graphql.json", s.graphql)
	mux.HandleFunc("GET /bulk/{file}", s.download)
	mux.HandleFunc("GET /admin/oauth/authorize", s.oauthAuthorize)
	mux.HandleFunc("POST /admin/oauth/access_token", s.oauthToken)
	return mux
}

type gqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	if s.fault(w) {
		return
	}
	if !fakeapi.Equal(r.Header.Get("X-Shopify-Access-Token"), s.opts.AccessToken) || s.isUninstalled() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`))
		return
	}
	var req gqlRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "Invalid JSON body"}}})
		return
	}
	switch {
	case strings.Contains(req.Query, "webhookSubscriptionCreate("):
		s.subscriptionCreate(w, req) // hooks.go
	case strings.Contains(req.Query, "webhookSubscriptionDelete("):
		s.subscriptionDelete(w, req)
	case strings.Contains(req.Query, "webhookSubscriptions("):
		s.subscriptionsPage(w, req)
	case strings.Contains(req.Query, "query Contactsync"):
		s.setupQuery(w, req) // the credential check and install options (setup.go)
	case strings.Contains(req.Query, "metafieldDefinitions("):
		s.metafieldDefinitions(w, req)
	case strings.Contains(req.Query, "bulkOperationRunQuery"):
		s.bulkRun(w, req, r.PathValue("version"))
	case strings.Contains(req.Query, "currentBulkOperation"):
		s.bulkCurrent(w)
	case strings.Contains(req.Query, "node("):
		s.bulkNode(w, req)
	case strings.Contains(req.Query, "customerSmsMarketingConsentUpdate"):
		s.mutation(w, req)
	case strings.Contains(req.Query, "customerSegmentMembers("):
		s.segmentMembers(w, req)
	case strings.Contains(req.Query, "segments("):
		s.segmentsPage(w, req)
	case strings.Contains(req.Query, "segment("):
		s.segmentByID(w, req)
	case strings.Contains(req.Query, "orders("):
		s.ordersPage(w, req)
	case strings.Contains(req.Query, "customers("):
		s.customersPage(w, req)
	default:
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "unsupported operation", "extensions": map[string]string{"code": "NOT_SUPPORTED"}}}})
	}
}

// fault answers the request with an injected failure (FailEvery,
// TooManyEvery, FailNext) and reports whether it did.
func (s *Server) fault(w http.ResponseWriter) bool {
	return s.Inject(w, func(status int) any {
		if status == http.StatusTooManyRequests {
			return map[string]string{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}
		}
		return map[string]string{"errors": "Internal Server Error"}
	})
}

func writeJSON(w http.ResponseWriter, v any) { fakeapi.JSON(w, http.StatusOK, v) }

// spend takes cost points from the bucket; ok is false when it is short.
func (s *Server) spend(cost float64) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.available = min(s.opts.MaxAvailable, s.available+s.opts.RestoreRate*now.Sub(s.at).Seconds())
	s.at = now
	ok := s.available >= cost
	if ok {
		s.available -= cost
	}
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": cost, "actualQueryCost": cost,
		"throttleStatus": map[string]any{"maximumAvailable": s.opts.MaxAvailable, "currentlyAvailable": s.available, "restoreRate": s.opts.RestoreRate},
	}}, ok
}

var updatedAfter = regexp.MustCompile(`updated_at:>'([^']+)'`)

// tagTerm is a tag:'<value>' search term (\ and ' escaped by a backslash
// in the value).
var tagTerm = regexp.MustCompile(`tag:'((?:[^'\\]|\\.)*)'`)

var escaped = regexp.MustCompile(`\\(.)`)

// tagFilter returns the tags a customers search names (terms joined by
// OR, as the connector writes them); nil means no tag filter.
func tagFilter(q string) []string {
	var tags []string
	for _, m := range tagTerm.FindAllStringSubmatch(q, -1) {
		tags = append(tags, escaped.ReplaceAllString(m[1], "$1"))
	}
	return tags
}

// hasAnyTag reports whether c carries one of tags (case-insensitive, as
// Shopify's search is); true when tags is nil.
func (c *node) hasAnyTag(tags []string) bool {
	if tags == nil {
		return true
	}
	for _, t := range c.Tags {
		for _, want := range tags {
			if strings.EqualFold(t, want) {
				return true
			}
		}
	}
	return false
}

func (s *Server) customersPage(w http.ResponseWriter, req gqlRequest) {
	first := 50
	if v, ok := req.Variables["first"].(float64); ok {
		first = int(v)
	}
	if first < 1 || first > 250 {
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "first must be between 1 and 250", "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
		return
	}
	ext, ok := s.spend(float64(2 + first))
	if !ok {
		throttled(w, ext)
		return
	}
	var since time.Time
	var tags []string
	if q, _ := req.Variables["query"].(string); q != "" {
		if m := updatedAfter.FindStringSubmatch(q); m != nil {
			since, _ = time.Parse(time.RFC3339, m[1])
		}
		tags = tagFilter(q)
	}
	after := int64(0)
	if a, _ := req.Variables["after"].(string); a != "" {
		b, err := base64.StdEncoding.DecodeString(a)
		if err == nil {
			after, _ = strconv.ParseInt(strings.TrimPrefix(string(b), "cursor:"), 10, 64)
		}
	}
	s.mu.Lock()
	// s.customers is in id order: the page starts after the cursor's id
	// and stops at one node past the page (has next), so a page costs
	// its own size, not the store's.
	var sel []*node
	for _, c := range s.customers[sort.Search(len(s.customers), func(i int) bool { return s.customers[i].ID > after }):] {
		if (since.IsZero() || c.UpdatedAt.After(since)) && c.hasAnyTag(tags) {
			if sel = append(sel, c); len(sel) > first {
				break
			}
		}
	}
	has := len(sel) > first
	if has {
		sel = sel[:first]
	}
	nodes := make([]map[string]any, len(sel))
	aliases := metafieldAliases(req.Query)
	for i, c := range sel {
		nodes[i] = s.withFields(c, c.json(), aliases)
	}
	s.mu.Unlock()
	end := ""
	if len(sel) > 0 {
		end = base64.StdEncoding.EncodeToString([]byte("cursor:" + strconv.FormatInt(sel[len(sel)-1].ID, 10)))
	}
	writeJSON(w, map[string]any{"data": map[string]any{"customers": map[string]any{
		"pageInfo": map[string]any{"hasNextPage": has, "endCursor": end}, "nodes": nodes}}, "extensions": ext})
}

func (c *node) json() map[string]any {
	m := map[string]any{
		"id": fmt.Sprintf("gid://shopify/Customer/%d", c.ID), "firstName": c.FirstName, "lastName": c.LastName,
		"updatedAt": c.UpdatedAt.UTC().Format(time.RFC3339), "tags": append([]string{}, c.Tags...), "state": c.Account,
		"defaultEmailAddress": nil, "defaultPhoneNumber": nil,
		"defaultAddress": map[string]any{"phone": nilIfEmpty(c.AddrPhone), "countryCodeV2": c.Country},
	}
	if c.Email != "" {
		m["defaultEmailAddress"] = map[string]any{"emailAddress": c.Email}
	}
	if c.Phone != "" {
		m["defaultPhoneNumber"] = map[string]any{"phoneNumber": c.Phone, "marketingState": c.State,
			"marketingOptInLevel": "SINGLE_OPT_IN", "marketingUpdatedAt": c.ConsentAt.UTC().Format(time.RFC3339)}
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) mutation(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.spend(10)
	if !ok {
		throttled(w, ext)
		return
	}
	input, _ := req.Variables["input"].(map[string]any)
	gid, _ := input["customerId"].(string)
	consent, _ := input["smsMarketingConsent"].(map[string]any)
	state, _ := consent["marketingState"].(string)
	id, err := shopifyID(gid)
	s.mu.Lock()
	defer s.mu.Unlock()
	var target *node
	for _, c := range s.customers {
		if c.ID == id {
			target = c
		}
	}
	if s.refuseWriteBacks != "" {
		s.refused++
		writeJSON(w, map[string]any{"data": map[string]any{"customerSmsMarketingConsentUpdate": map[string]any{
			"customer": nil, "userErrors": []map[string]any{{"field": []string{"smsMarketingConsent"}, "message": s.refuseWriteBacks}}}}, "extensions": ext})
		return
	}
	if err != nil || target == nil || target.Phone == "" {
		writeJSON(w, map[string]any{"data": map[string]any{"customerSmsMarketingConsentUpdate": map[string]any{
			"customer": nil, "userErrors": []map[string]any{{"field": []string{"customerId"}, "message": "Customer must have a phone number"}}}}, "extensions": ext})
		return
	}
	target.State = state
	target.ConsentAt = time.Now().UTC()
	s.writeBacks = append(s.writeBacks, gid)
	writeJSON(w, map[string]any{"data": map[string]any{"customerSmsMarketingConsentUpdate": map[string]any{
		"customer": map[string]any{"id": gid}, "userErrors": []any{}}}, "extensions": ext})
}

func shopifyID(gid string) (int64, error) {
	i := strings.LastIndexByte(gid, '/')
	return strconv.ParseInt(gid[i+1:], 10, 64)
}

// CustomerPayload is customer n (1-based) as a 2026-07 customers/create or
// customers/update webhook body (no tags, no consent since 2025-01).
func (s *Server) CustomerPayload(n int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customers[n-1]
	phone := c.Phone
	if phone == "" {
		phone = c.AddrPhone
	}
	return map[string]any{
		"id": json.Number(strconv.FormatInt(c.ID, 10)), "created_at": c.UpdatedAt.Format(time.RFC3339), "updated_at": c.UpdatedAt.Format(time.RFC3339),
		"first_name": c.FirstName, "last_name": c.LastName, "state": strings.ToLower(c.Account), "email": c.Email, "phone": nilIfEmpty(phone),
		"admin_graphql_api_id": fmt.Sprintf("gid://shopify/Customer/%d", c.ID),
		"default_address": map[string]any{"customer_id": json.Number(strconv.FormatInt(c.ID, 10)), "first_name": c.FirstName, "last_name": c.LastName,
			"country_code": c.Country, "phone": nilIfEmpty(c.AddrPhone), "default": true},
	}
}

// SendWebhook posts a signed delivery of topic to url, as Shopify does.
func (s *Server) SendWebhook(ctx context.Context, url, secret, topic string, payload any) (*http.Response, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	id, event := s.newDeliveryIDs()
	return s.send(ctx, url, secret, topic, body, id, event, time.Now())
}

// newDeliveryIDs returns a new X-Shopify-Webhook-Id and X-Shopify-Event-Id.
func (s *Server) newDeliveryIDs() (string, string) {
	s.mu.Lock()
	s.webhooks++
	n := s.webhooks
	s.mu.Unlock()
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", time.Now().Unix(), n, time.Now().UnixNano()&0xffffffffffff), fmt.Sprintf("evt-%d", n)
}

// send posts one signed delivery with Shopify's headers (a retry keeps
// its webhook id, event id and trigger time).
func (s *Server) send(ctx context.Context, url, secret, topic string, body []byte, id, event string, triggered time.Time) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign(secret, body))
	req.Header.Set("X-Shopify-Shop-Domain", s.opts.Domain)
	req.Header.Set("X-Shopify-API-Version", shopify.DefaultAPIVersion)
	req.Header.Set("X-Shopify-Webhook-Id", id)
	req.Header.Set("X-Shopify-Event-Id", event)
	req.Header.Set("X-Shopify-Triggered-At", triggered.UTC().Format(time.RFC3339Nano))
	return http.DefaultClient.Do(req)
}
