package shopifytest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// segment is a customer segment: its members are listed by
// customerSegmentMembers in customer id order.
type segment struct {
	ID      int64
	Name    string
	Members []int64 // customer ids
}

func (g *segment) gid() string { return fmt.Sprintf("gid://shopify/Segment/%d", g.ID) }

// SegmentBaseID makes segment ids like Shopify's.
const SegmentBaseID int64 = 581234560000

// order is an order of the shop; Customer 0 is a guest checkout.
type order struct {
	ID        int64
	Customer  int64
	CreatedAt time.Time
	Guest     GuestCheckout
}

// OrderBaseID makes order ids like Shopify's (> 2^53).
const OrderBaseID int64 = 6064055069303700000

// GuestCheckout is the contact of an order without a customer: the
// order's email and phone and its billing address.
type GuestCheckout struct {
	Email, Phone                          string
	FirstName, LastName, BillingPhone, CC string
}

// AddSegment adds a segment named name whose members are customers
// (1-based) and returns its GID.
func (s *Server) AddSegment(name string, customers ...int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &segment{ID: SegmentBaseID + int64(len(s.segments)+1), Name: name}
	s.segments = append(s.segments, g)
	s.setMembersLocked(g, customers)
	return g.gid()
}

// SetSegmentMembers replaces the members of segment gid.
func (s *Server) SetSegmentMembers(gid string, customers ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segments {
		if g.gid() == gid {
			s.setMembersLocked(g, customers)
		}
	}
}

func (s *Server) setMembersLocked(g *segment, customers []int) {
	g.Members = g.Members[:0]
	for _, n := range customers {
		g.Members = append(g.Members, s.customers[n-1].ID)
	}
	slices.Sort(g.Members)
	g.Members = slices.Compact(g.Members)
}

// SetAccountState sets customer n's (1-based) CustomerState: DISABLED is a
// customer without an account (a guest checkout's record).
func (s *Server) SetAccountState(n int, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[n-1].Account = state
}

// AddOrder adds an order of customer n (1-based), or with n 0 a guest
// checkout with contact g, and returns its numeric id.
func (s *Server) AddOrder(n int, g GuestCheckout) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &order{ID: OrderBaseID + int64(len(s.orders)+1), CreatedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(len(s.orders)) * time.Hour), Guest: g}
	if n > 0 {
		o.Customer = s.customers[n-1].ID
	}
	s.orders = append(s.orders, o)
	return o.ID
}

// SegmentPayload is a customer.joined_segment or customer.left_segment
// body (2026-07: GIDs only) for customer n (1-based) and segment gid.
func (s *Server) SegmentPayload(n int, gid string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"shop_id": "gid://shopify/Shop/548380009", "customer_id": fmt.Sprintf("gid://shopify/Customer/%d", s.customers[n-1].ID), "segment_id": gid}
}

// page reads first and after (a "cursor:<id>" cursor) of a connection
// query and spends the page's cost (2 + first points); ok is false after
// answering a bad first or THROTTLED.
func (s *Server) page(w http.ResponseWriter, req gqlRequest, max int) (first int, after int64, ext map[string]any, ok bool) {
	first = 50
	if v, isNum := req.Variables["first"].(float64); isNum {
		first = int(v)
	} else if m := literalFirst.FindStringSubmatch(req.Query); m != nil {
		// first written in the query itself (orders(first: 1)): Shopify
		// prices it the same as a variable.
		first, _ = strconv.Atoi(m[1])
	}
	if first < 1 || first > max {
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": fmt.Sprintf("first must be between 1 and %d", max), "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
		return 0, 0, nil, false
	}
	if a, _ := req.Variables["after"].(string); a != "" {
		if b, err := base64.StdEncoding.DecodeString(a); err == nil {
			after, _ = strconv.ParseInt(strings.TrimPrefix(string(b), "cursor:"), 10, 64)
		}
	}
	ext, ok = s.charge(w, float64(2+first))
	return first, after, ext, ok
}

// window is the first items (at most) whose id is after the cursor's;
// has reports that more follow.
func window[T any](items []T, id func(T) int64, after int64, first int) (page []T, has bool) {
	for _, x := range items {
		if id(x) <= after {
			continue
		}
		if len(page) == first {
			return page, true
		}
		page = append(page, x)
	}
	return page, false
}

func endCursor(id int64) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:" + strconv.FormatInt(id, 10)))
}

// literalFirst is a connection's first argument written in the query.
var literalFirst = regexp.MustCompile(`\bfirst:\s*(\d{1,4})\b`)

// charge spends cost points or answers THROTTLED.
func (s *Server) charge(w http.ResponseWriter, cost float64) (map[string]any, bool) {
	ext, ok := s.spend(cost)
	if !ok {
		throttled(w, ext)
	}
	return ext, ok
}

func (s *Server) segmentsPage(w http.ResponseWriter, req gqlRequest) {
	first, after, ext, ok := s.page(w, req, 250)
	if !ok {
		return
	}
	s.mu.Lock()
	page, has := window(s.segments, func(g *segment) int64 { return g.ID }, after, first)
	nodes, end := []map[string]any{}, ""
	for _, g := range page {
		nodes = append(nodes, map[string]any{"id": g.gid(), "name": g.Name})
		end = endCursor(g.ID)
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"segments": map[string]any{
		"pageInfo": map[string]any{"hasNextPage": has, "endCursor": nilIfEmpty(end)}, "nodes": nodes}}, "extensions": ext})
}

func (s *Server) segmentByID(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.charge(w, 1)
	if !ok {
		return
	}
	id, _ := req.Variables["id"].(string)
	s.mu.Lock()
	var found any
	for _, g := range s.segments {
		if g.gid() == id {
			found = map[string]any{"id": g.gid(), "name": g.Name}
		}
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"segment": found}, "extensions": ext})
}

func (s *Server) segmentMembers(w http.ResponseWriter, req gqlRequest) {
	first, after, ext, ok := s.page(w, req, 1000) // customerSegmentMembers pages hold up to 1,000
	if !ok {
		return
	}
	id, _ := req.Variables["segmentId"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *segment
	for _, x := range s.segments {
		if x.gid() == id {
			g = x
		}
	}
	if g == nil {
		writeJSON(w, map[string]any{"data": nil, "errors": []map[string]any{{"message": "Segment does not exist", "extensions": map[string]string{"code": "NOT_FOUND"}}}, "extensions": ext})
		return
	}
	page, has := window(g.Members, func(id int64) int64 { return id }, after, first)
	edges, end := []map[string]any{}, ""
	for _, cid := range page {
		var c *node
		for _, x := range s.customers {
			if x.ID == cid {
				c = x
			}
		}
		m := c.json()
		// A CustomerSegmentMember: no tags, updatedAt or state.
		delete(m, "tags")
		delete(m, "updatedAt")
		delete(m, "state")
		m["id"] = fmt.Sprintf("gid://shopify/CustomerSegmentMember/%d", c.ID)
		end = endCursor(c.ID)
		edges = append(edges, map[string]any{"cursor": end, "node": m})
	}
	writeJSON(w, map[string]any{"data": map[string]any{"customerSegmentMembers": map[string]any{
		"totalCount": len(g.Members),
		"pageInfo":   map[string]any{"hasNextPage": has, "endCursor": nilIfEmpty(end)}, "edges": edges}}, "extensions": ext})
}

func (s *Server) ordersPage(w http.ResponseWriter, req gqlRequest) {
	first, after, ext, ok := s.page(w, req, 250)
	if !ok {
		return
	}
	s.mu.Lock()
	page, has := window(s.orders, func(o *order) int64 { return o.ID }, after, first)
	nodes, end := []map[string]any{}, ""
	for _, o := range page {
		at := o.CreatedAt.Format(time.RFC3339)
		n := map[string]any{"id": fmt.Sprintf("gid://shopify/Order/%d", o.ID), "createdAt": at, "updatedAt": at,
			"email": nilIfEmpty(o.Guest.Email), "phone": nilIfEmpty(o.Guest.Phone), "customer": nil, "billingAddress": nil}
		if o.Customer != 0 {
			n["customer"] = map[string]any{"id": fmt.Sprintf("gid://shopify/Customer/%d", o.Customer)}
		}
		if g := o.Guest; g.FirstName != "" || g.LastName != "" || g.BillingPhone != "" || g.CC != "" {
			n["billingAddress"] = map[string]any{"firstName": g.FirstName, "lastName": g.LastName, "phone": nilIfEmpty(g.BillingPhone), "countryCodeV2": nilIfEmpty(g.CC)}
		}
		nodes = append(nodes, n)
		end = endCursor(o.ID)
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"orders": map[string]any{
		"pageInfo": map[string]any{"hasNextPage": has, "endCursor": nilIfEmpty(end)}, "nodes": nodes}}, "extensions": ext})
}
