package shopify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Caps of a run's segment and guest-order listings (Config overrides
// them). Past a cap the run reports a warning row (outcome invalid, the
// reason below) instead of doing unbounded work.
const (
	DefaultMaxSegments       = 50
	DefaultMaxSegmentMembers = 200_000
	DefaultMaxGuestOrders    = 25_000
	// segmentListPages bounds the segments directory read (250 a page).
	segmentListPages = 20
	// segmentNamesTTL is how long a client reuses the shop's segment
	// names for KeepGroups before listing them again.
	segmentNamesTTL = 10 * time.Minute
	// segmentCountCost is the budget of a members count (first: 1).
	segmentCountCost = 3
	// maxSegmentNameRunes bounds a name carried in a cursor (the core
	// cuts group names to source.MaxGroupNameRunes anyway).
	maxSegmentNameRunes = 256
)

// Report reasons of the cap warnings: the rows' outcome is invalid and
// their external id names what was left out ("segments", "segment:<id>",
// "orders").
const (
	WarnSegmentsOverCap      = "segments_over_cap"
	WarnSegmentOverMemberCap = "segment_over_member_cap"
	WarnSegmentMembersCapped = "segment_members_capped"
	WarnGuestOrdersCapped    = "guest_orders_capped"
)

// SegmentsQuery lists the shop's segments, names only (variables first,
// after).
const SegmentsQuery = `query Segments($first: Int!, $after: String) {
  segments(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id name }
  }
}`

// SegmentCountQuery reads how many members a segment has (variable
// segmentId).
const SegmentCountQuery = `query SegmentCount($segmentId: ID!) {
  customerSegmentMembers(segmentId: $segmentId, first: 1) { totalCount }
}`

// SegmentMembersQuery is a page of a segment's members (variables
// segmentId, first, after): the customer fields of CustomersQuery that a
// CustomerSegmentMember has (no tags, no updatedAt, no state).
const SegmentMembersQuery = `query SegmentMembers($segmentId: ID!, $first: Int!, $after: String) {
  customerSegmentMembers(segmentId: $segmentId, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id firstName lastName
        defaultEmailAddress { emailAddress }
        defaultPhoneNumber { phoneNumber marketingState marketingOptInLevel marketingUpdatedAt }
        defaultAddress { phone countryCodeV2 }
      }
    }
  }
}`

// SegmentNameQuery reads one segment's name (variable id).
const SegmentNameQuery = `query SegmentName($id: ID!) { segment(id: $id) { id name } }`

// GuestOrdersQuery is a page of orders with only what a guest checkout
// needs (variables first, after); orders with a customer are skipped.
const GuestOrdersQuery = `query GuestOrders($first: Int!, $after: String) {
  orders(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id email phone createdAt updatedAt
      customer { id }
      billingAddress { firstName lastName phone countryCodeV2 }
    }
  }
}`

type pageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// segmentRef is a segment that becomes a group.
type segmentRef struct {
	ID, Name string
}

// warning is a cap warning: a report row of its own.
type warning struct {
	ID     string `json:"i"`
	Reason string `json:"r"`
}

// listSegments reads the shop's segments (at most segmentListPages
// pages); more says the directory goes on past that.
func (c *Client) listSegments(ctx context.Context) (segs []segmentRef, more bool, err error) {
	after := ""
	for range segmentListPages {
		vars := map[string]any{"first": PageSize}
		if after != "" {
			vars["after"] = after
		}
		var out struct {
			Segments struct {
				PageInfo pageInfo `json:"pageInfo"`
				Nodes    []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"nodes"`
			} `json:"segments"`
		}
		if err := c.query(ctx, PageCost, SegmentsQuery, vars, &out); err != nil {
			return nil, false, fmt.Errorf("listing segments: %w", err)
		}
		for _, n := range out.Segments.Nodes {
			name := strings.TrimSpace(n.Name)
			if n.ID == "" || name == "" {
				continue
			}
			segs = append(segs, segmentRef{ID: n.ID, Name: source.Truncate(name, maxSegmentNameRunes)})
		}
		c.segNames.set(segs) // partial lists too: better than none
		if !out.Segments.PageInfo.HasNextPage {
			return segs, false, nil
		}
		after = out.Segments.PageInfo.EndCursor
	}
	return segs, true, nil
}

// segmentCount reads a segment's member count.
func (c *Client) segmentCount(ctx context.Context, id string) (int, error) {
	var out struct {
		Members struct {
			TotalCount int `json:"totalCount"`
		} `json:"customerSegmentMembers"`
	}
	if err := c.query(ctx, segmentCountCost, SegmentCountQuery, map[string]any{"segmentId": id}, &out); err != nil {
		return 0, fmt.Errorf("counting the members of %s: %w", id, err)
	}
	return out.Members.TotalCount, nil
}

// OrdersProbeQuery tells whether the shop has any order.
const OrdersProbeQuery = `query OrdersProbe { orders(first: 1) { nodes { id } } }`

// hasOrders reports whether the shop has any order (a plan lists past
// orders for guest checkouts only then).
func (c *Client) hasOrders(ctx context.Context) (bool, error) {
	var out struct {
		Orders struct {
			Nodes []struct {
				ID string `json:"id"`
			} `json:"nodes"`
		} `json:"orders"`
	}
	if err := c.query(ctx, segmentCountCost, OrdersProbeQuery, nil, &out); err != nil {
		return false, fmt.Errorf("looking for orders: %w", err)
	}
	return len(out.Orders.Nodes) > 0, nil
}

// SegmentName returns the name of the segment with GID id, or "" when the
// shop has no such segment (deleted since).
func (c *Client) SegmentName(ctx context.Context, id string) (string, error) {
	var out struct {
		Segment *struct {
			Name string `json:"name"`
		} `json:"segment"`
	}
	if err := c.query(ctx, segmentCountCost, SegmentNameQuery, map[string]any{"id": id}, &out); err != nil {
		return "", fmt.Errorf("reading segment %s: %w", id, err)
	}
	if out.Segment == nil {
		return "", nil
	}
	return source.Truncate(strings.TrimSpace(out.Segment.Name), maxSegmentNameRunes), nil
}

// segmentNameCache holds the shop's segment names for KeepGroups.
type segmentNameCache struct {
	mu    sync.Mutex
	at    time.Time
	names []string
}

func (s *segmentNameCache) set(segs []segmentRef) {
	names := make([]string, 0, len(segs))
	for _, g := range segs {
		names = append(names, g.Name)
	}
	s.mu.Lock()
	s.names, s.at = names, time.Now()
	s.mu.Unlock()
}

func (s *segmentNameCache) get() ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names, !s.at.IsZero() && time.Since(s.at) < segmentNamesTTL
}

// keepGroups is the shop's segment names (cached for segmentNamesTTL):
// the groups a customer node's tag set does not speak for.
func (c *Client) keepGroups(ctx context.Context) ([]string, error) {
	if names, ok := c.segNames.get(); ok {
		return names, nil
	}
	if _, _, err := c.listSegments(ctx); err != nil {
		return nil, err
	}
	names, _ := c.segNames.get()
	return names, nil
}

// scope is what a listing reads, from the connection's selection
// (source.Options.SelectedTags): a selected name that is a segment's
// scopes to that segment's members, any other name is a tag. The
// selection is the union of its tags' and its segments' customers.
type scope struct {
	customers bool         // list customers (filtered by tags)
	tags      []string     // the customers filter (none: every customer)
	segments  []segmentRef // segments whose members are listed
	warnings  []warning
	orders    bool // list past orders for guest checkouts
}

// scope lists the segments and decides what the listing reads. A full
// listing with nothing selected reads every segment's members (up to the
// caps); an incremental one reads only the selected segments' (their
// members can only be listed whole; nothing selected, segment changes
// come by webhook and at the next full sync).
func (c *Client) scope(ctx context.Context, full bool) (scope, error) {
	segs, more, err := c.listSegments(ctx)
	if err != nil {
		return scope{}, err
	}
	sc := scope{customers: true}
	var chosen []segmentRef
	if sel := c.opts.SelectedTags; len(sel) == 0 {
		if full {
			chosen = segs
		}
	} else {
		isSegment := map[string]bool{}
		selected := map[string]bool{}
		for _, t := range sel {
			selected[t] = true
		}
		for _, g := range segs {
			if selected[g.Name] {
				chosen = append(chosen, g)
				isSegment[g.Name] = true
			}
		}
		for _, t := range sel {
			if !isSegment[t] {
				sc.tags = append(sc.tags, t)
			}
		}
		sc.customers = len(sc.tags) > 0 // only segments selected: their members are the whole scope
	}
	if more || len(chosen) > c.cfg.MaxSegments {
		sc.warnings = append(sc.warnings, warning{ID: "segments", Reason: WarnSegmentsOverCap})
		chosen = chosen[:min(len(chosen), c.cfg.MaxSegments)]
	}
	if full && len(c.opts.SelectedTags) == 0 {
		// Guests are in no tag or segment: only an unscoped connection
		// lists them, and only when the shop has orders at all.
		if sc.orders, err = c.hasOrders(ctx); err != nil {
			return scope{}, err
		}
	}
	budget := c.cfg.MaxSegmentMembers
	for _, g := range chosen {
		n, err := c.segmentCount(ctx, g.ID)
		if err != nil {
			return scope{}, err
		}
		if n > budget {
			sc.warnings = append(sc.warnings, warning{ID: "segment:" + gidTail(g.ID), Reason: WarnSegmentOverMemberCap})
			continue
		}
		budget -= n
		sc.segments = append(sc.segments, g)
	}
	return sc, nil
}

func gidTail(gid string) string {
	if i := strings.LastIndexByte(gid, '/'); i >= 0 {
		return gid[i+1:]
	}
	return gid
}

// addListings appends to plan the member listing of each segment of sc,
// for a full plan the guest orders listing (nothing selected: guests are
// in no tag or segment), and the cap warnings. A full plan names the
// segments it lists in CompleteGroups.
func (c *Client) addListings(plan *source.Plan, sc scope, full bool) {
	if plan.Fanout == nil {
		plan.Fanout = []source.Cursor{}
	}
	seen := map[string]bool{}
	for _, g := range sc.segments {
		plan.Fanout = append(plan.Fanout, memberCursor{Segment: g.ID, Name: g.Name}.encode())
		if full && !seen[g.Name] {
			seen[g.Name] = true
			plan.CompleteGroups = append(plan.CompleteGroups, g.Name)
		}
	}
	if full && sc.orders {
		plan.Fanout = append(plan.Fanout, ordersCursor{}.encode())
	}
	if len(sc.warnings) > 0 {
		plan.Fanout = append(plan.Fanout, source.NewCursor(warningsPrefix, warningsCursor{Warnings: sc.warnings}))
	}
}

// Cursor kinds of the listings above (version 1).
const (
	membersPrefix  = "sg1."
	ordersPrefix   = "so1."
	warningsPrefix = "sw1."
)

// memberCursor is a page of a segment's members: the segment, its name
// as resolved at plan time (a retried page maps as its first try did),
// Shopify's cursor and how many pages came before.
type memberCursor struct {
	Segment string `json:"s"`
	Name    string `json:"n"`
	After   string `json:"a,omitempty"`
	Pages   int    `json:"p,omitempty"`
}

func (m memberCursor) encode() source.Cursor { return source.NewCursor(membersPrefix, m) }

// ordersCursor is a page of the guest orders listing.
type ordersCursor struct {
	After string `json:"a,omitempty"`
	Read  int    `json:"r,omitempty"` // orders read before this page
}

func (o ordersCursor) encode() source.Cursor { return source.NewCursor(ordersPrefix, o) }

// warningsCursor is a page of cap warnings.
type warningsCursor struct {
	Warnings []warning `json:"w"`
}

func decodeAny(cur source.Cursor, prefix string, v any) error {
	if !cur.Decode(prefix, v) {
		return ErrInvalidCursor
	}
	return nil
}

// fetchOther fetches a page of the listings above; ok is false for a
// cursor of another kind.
func (c *Client) fetchOther(ctx context.Context, cur source.Cursor) (page source.Page, ok bool, err error) {
	s := string(cur)
	switch {
	case strings.HasPrefix(s, membersPrefix):
		var m memberCursor
		if err := decodeAny(cur, membersPrefix, &m); err != nil || !strings.HasPrefix(m.Segment, "gid://shopify/Segment/") || m.Name == "" {
			return source.Page{}, true, ErrInvalidCursor
		}
		page, err = c.fetchMembers(ctx, m)
		return page, true, err
	case strings.HasPrefix(s, ordersPrefix):
		var o ordersCursor
		if err := decodeAny(cur, ordersPrefix, &o); err != nil || o.Read < 0 {
			return source.Page{}, true, ErrInvalidCursor
		}
		page, err = c.fetchGuestOrders(ctx, o)
		return page, true, err
	case strings.HasPrefix(s, warningsPrefix):
		var w warningsCursor
		if err := decodeAny(cur, warningsPrefix, &w); err != nil {
			return source.Page{}, true, ErrInvalidCursor
		}
		for _, x := range w.Warnings {
			page.Records = append(page.Records, c.warningRecord(x))
		}
		return page, true, nil
	}
	return source.Page{}, false, nil
}

func (c *Client) warningRecord(w warning) source.Record {
	return source.Record{Platform: source.Shopify, Label: label(c.opts), ConnectionID: c.opts.ConnectionID, ExternalID: w.ID, Unreadable: w.Reason}
}

// fetchMembers reads a page of a segment's members as membership records
// (see MembershipRecord). The chain stops, with a warning, past twice
// the member cap (the segment grew after it was counted).
func (c *Client) fetchMembers(ctx context.Context, m memberCursor) (source.Page, error) {
	vars := map[string]any{"segmentId": m.Segment, "first": PageSize}
	if m.After != "" {
		vars["after"] = m.After
	}
	var out struct {
		Members struct {
			PageInfo pageInfo `json:"pageInfo"`
			Edges    []struct {
				Node Customer `json:"node"`
			} `json:"edges"`
		} `json:"customerSegmentMembers"`
	}
	if err := c.query(ctx, PageCost, SegmentMembersQuery, vars, &out); err != nil {
		return source.Page{}, err
	}
	page := source.Page{Records: make([]source.Record, 0, len(out.Members.Edges))}
	for _, e := range out.Members.Edges {
		rec, err := e.Node.MembershipRecord(c.opts, m.Name)
		if err != nil {
			return source.Page{}, err
		}
		page.Records = append(page.Records, rec)
	}
	if out.Members.PageInfo.HasNextPage {
		if (m.Pages+2)*PageSize > 2*c.cfg.MaxSegmentMembers {
			page.Records = append(page.Records, c.warningRecord(warning{ID: "segment:" + gidTail(m.Segment), Reason: WarnSegmentMembersCapped}))
			return page, nil
		}
		page.Next = memberCursor{Segment: m.Segment, Name: m.Name, After: out.Members.PageInfo.EndCursor, Pages: m.Pages + 1}.encode()
	}
	return page, nil
}

// MembershipRecord maps a customer listed as a member of the segment
// named group: the customer as record maps it, with AddGroups [group]
// and HasGroups false (it adds this membership and leaves the others
// alone), UpdatedAt cleared (its fields only fill what is empty; it is
// never set aside as older than the stored link) and Partial (once the
// customer is linked it only adds the group; not linked yet, it is
// matched from the identifiers it carries, so the order in which member
// and customer pages land does not matter). As Klaviyo's member pages.
func (n Customer) MembershipRecord(opts source.Options, group string) (source.Record, error) {
	r, err := n.record(opts)
	if err != nil {
		return source.Record{}, err
	}
	r.Groups, r.HasGroups, r.Guest = nil, false, false
	r.UpdatedAt = time.Time{}
	r.AddGroups = []string{group}
	r.Partial = true
	return r, nil
}

// gqlOrder is an order node of GuestOrdersQuery.
type gqlOrder struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Phone     string     `json:"phone"`
	CreatedAt *time.Time `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt"`
	Customer  *struct {
		ID string `json:"id"`
	} `json:"customer"`
	BillingAddress *struct {
		FirstName     string `json:"firstName"`
		LastName      string `json:"lastName"`
		Phone         string `json:"phone"`
		CountryCodeV2 string `json:"countryCodeV2"`
	} `json:"billingAddress"`
}

// fetchGuestOrders reads a page of orders and maps those without a
// customer (guest checkouts) as orders/create does; past MaxGuestOrders
// the listing stops with a warning.
func (c *Client) fetchGuestOrders(ctx context.Context, o ordersCursor) (source.Page, error) {
	vars := map[string]any{"first": PageSize}
	if o.After != "" {
		vars["after"] = o.After
	}
	var out struct {
		Orders struct {
			PageInfo pageInfo   `json:"pageInfo"`
			Nodes    []gqlOrder `json:"nodes"`
		} `json:"orders"`
	}
	if err := c.query(ctx, PageCost, GuestOrdersQuery, vars, &out); err != nil {
		return source.Page{}, err
	}
	var page source.Page
	for _, n := range out.Orders.Nodes {
		if n.Customer != nil {
			continue // the customer listing has it
		}
		id, err := parseID(n.ID)
		if err != nil || id <= 0 {
			return source.Page{}, fmt.Errorf("shopify: order id %q: %w", n.ID, ErrMalformedResult)
		}
		var billing *restAddress
		if b := n.BillingAddress; b != nil {
			billing = &restAddress{FirstName: b.FirstName, LastName: b.LastName, Phone: b.Phone, CountryCode: b.CountryCodeV2}
		}
		if rec, ok := guestRecord(c.opts, id, []*time.Time{n.UpdatedAt, n.CreatedAt}, []string{n.Email}, n.Phone, billing); ok {
			page.Records = append(page.Records, rec)
		}
	}
	read := o.Read + len(out.Orders.Nodes)
	if out.Orders.PageInfo.HasNextPage {
		if read >= c.cfg.MaxGuestOrders {
			page.Records = append(page.Records, c.warningRecord(warning{ID: "orders", Reason: WarnGuestOrdersCapped}))
			return page, nil
		}
		page.Next = ordersCursor{After: out.Orders.PageInfo.EndCursor, Read: read}.encode()
	}
	return page, nil
}

// guestRecord maps a guest checkout (an order without a customer) with a
// contact; ok is false when it has none (an API-created order). The
// orders/create webhook and the install sync's orders listing map the
// same order to the same record ("order:<id>").
func guestRecord(opts source.Options, id int64, times []*time.Time, emails []string, phone string, billing *restAddress) (source.Record, bool) {
	rec := source.Record{Platform: source.Shopify, Label: label(opts), ConnectionID: opts.ConnectionID,
		ExternalID: "order:" + strconv.FormatInt(id, 10), Guest: true, HasGroups: true}
	for _, t := range times {
		if t != nil {
			rec.UpdatedAt = t.UTC()
			break
		}
	}
	for _, e := range emails {
		if e = strings.TrimSpace(e); e != "" {
			rec.Emails = []string{e}
			break
		}
	}
	if phone != "" {
		rec.Phones = append(rec.Phones, source.PhoneField{Raw: phone, Field: "order"})
	}
	if b := billing; b != nil {
		rec.FirstName, rec.LastName, rec.Country = b.FirstName, b.LastName, b.CountryCode
		if b.Phone != "" {
			rec.Phones = append(rec.Phones, source.PhoneField{Raw: b.Phone, Country: b.CountryCode, Field: "billing"})
		}
	}
	if len(rec.Emails) == 0 && len(rec.Phones) == 0 {
		return source.Record{}, false
	}
	return rec, true
}
