package shopify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// PageSize is the largest connection page Shopify serves.
const PageSize = 250

// PageCost is the cost the client budgets for one customers page: Shopify
// charges about one point per node plus two for the connection.
const PageCost = 2 + PageSize

// customerFields is the selection of a customer node, shared by the page
// query and the bulk query so both map to identical records (Customer).
const customerFields = `
      id firstName lastName updatedAt tags state
      defaultEmailAddress { emailAddress }
      defaultPhoneNumber { phoneNumber marketingState marketingOptInLevel marketingUpdatedAt }
      defaultAddress { phone countryCodeV2 firstName lastName company address1 address2 city province provinceCode zip country }
`

// CustomersQuery is the page query (variables first, after, query).
const CustomersQuery = `query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {` + customerFields + `    }
  }
}`

// cursor is a page position: Shopify's cursor ("" for the first page) and
// the incremental filter, self-contained so a retried message refetches it.
type cursor struct {
	After string    `json:"a,omitempty"`
	Since time.Time `json:"s,omitzero"`
	// Tags is the customers filter the plan chose (scope); nil for
	// cursors of earlier versions, which filter by every selected name.
	Tags []string `json:"t,omitempty"`
}

func (c cursor) encode() source.Cursor { return source.NewCursor("sh1.", c) }

func decodeCursor(s source.Cursor) (cursor, error) {
	var c cursor
	if !s.Decode("sh1.", &c) {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// PlanBulk plans a full listing: the customers (by default a chain of
// cursor pages; with Config.Bulk a bulk operation whose result's byte
// ranges are fanned out, see planBulkOperation), each segment's members
// (chains of membership records, named in CompleteGroups), the guest
// checkouts of past orders, and any cap warnings. A selection of segments
// only lists no customers (see scope).
func (c *Client) PlanBulk(ctx context.Context) (source.Plan, error) {
	return c.planFull(ctx, "")
}

// planFull is PlanBulk, resuming the bulk operation token when it names
// one (ResumePlan).
func (c *Client) planFull(ctx context.Context, token string) (source.Plan, error) {
	sc, err := c.scope(ctx, true)
	if err != nil {
		return source.Plan{}, err
	}
	var plan source.Plan
	switch {
	case !sc.customers:
		plan = source.Plan{Chained: true, Total: -1}
	case c.cfg.Bulk && token != "":
		if plan, err = c.resumeBulkOperation(ctx, token, sc.tags); err != nil {
			return source.Plan{}, err
		}
	case c.cfg.Bulk:
		if plan, err = c.planBulkOperation(ctx, sc.tags); err != nil {
			return source.Plan{}, err
		}
	default:
		plan = source.Plan{Fanout: []source.Cursor{cursor{Tags: sc.tags}.encode()}, Chained: true, Total: -1}
	}
	c.addListings(&plan, sc, true)
	return plan, nil
}

// PlanIncremental plans the customers updated after since (and, when the
// selection names segments, those segments' members: a segment's members
// can only be listed whole).
func (c *Client) PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error) {
	plan := source.Plan{Fanout: []source.Cursor{cursor{Since: since, Tags: c.opts.SelectedTags}.encode()}, Chained: true, Total: -1}
	if len(c.opts.SelectedTags) == 0 {
		return plan, nil
	}
	sc, err := c.scope(ctx, false)
	if err != nil {
		return source.Plan{}, err
	}
	plan.Fanout = nil
	if sc.customers {
		plan.Fanout = []source.Cursor{cursor{Since: since, Tags: sc.tags}.encode()}
	}
	c.addListings(&plan, sc, false)
	return plan, nil
}

// FetchPage fetches the page at cur and names the next one. A range cursor
// of a bulk plan reads its part of the bulk result file instead.
func (c *Client) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	if isRangeCursor(cur) {
		rc, err := decodeRangeCursor(cur)
		if err != nil {
			return source.Page{}, err
		}
		return c.fetchRange(ctx, rc)
	}
	if page, ok, err := c.fetchOther(ctx, cur); ok {
		return page, err
	}
	cu, err := decodeCursor(cur)
	if err != nil {
		return source.Page{}, err
	}
	keep, err := c.keepGroups(ctx)
	if err != nil {
		return source.Page{}, err
	}
	tags := cu.Tags
	if tags == nil {
		tags = c.opts.SelectedTags
	}
	size := c.pageSize()
	vars := map[string]any{"first": size}
	if cu.After != "" {
		vars["after"] = cu.After
	}
	if q := searchQuery(tags, cu.Since); q != "" {
		vars["query"] = q
	}
	var out struct {
		Customers struct {
			PageInfo pageInfo   `json:"pageInfo"`
			Nodes    []Customer `json:"nodes"`
		} `json:"customers"`
	}
	if err := c.query(ctx, float64(PageCost-PageSize+size*(1+len(mappedMetafields(c.opts.FieldMap)))), c.withMetafields(CustomersQuery), vars, &out); err != nil {
		return source.Page{}, err
	}
	page := source.Page{Records: make([]source.Record, 0, len(out.Customers.Nodes))}
	for _, n := range out.Customers.Nodes {
		rec, err := n.record(c.opts)
		if err != nil {
			return source.Page{}, err
		}
		rec.KeepGroups = keep
		page.Records = append(page.Records, rec)
	}
	if out.Customers.PageInfo.HasNextPage {
		page.Next = cursor{After: out.Customers.PageInfo.EndCursor, Since: cu.Since, Tags: cu.Tags}.encode()
	}
	return page, nil
}

// searchQuery is the customers search of a listing: the selected tags
// (scope; none = every customer) and, for an incremental listing, updated
// after since. Shopify's search syntax: terms joined by AND / OR, a
// quoted value with \ and ' escaped by a backslash.
// https://shopify.dev/docs/api/usage/search-syntax
func searchQuery(tags []string, since time.Time) string {
	var terms []string
	if len(tags) > 0 {
		ors := make([]string, len(tags))
		for i, t := range tags {
			ors[i] = "tag:'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(t) + "'"
		}
		terms = append(terms, "("+strings.Join(ors, " OR ")+")")
	}
	if !since.IsZero() {
		terms = append(terms, fmt.Sprintf("updated_at:>'%s'", since.UTC().Format(time.RFC3339)))
	}
	return strings.Join(terms, " AND ")
}

// WriteBackMutation unsubscribes a customer's SMS marketing consent.
const WriteBackMutation = `mutation Unsubscribe($input: CustomerSmsMarketingConsentUpdateInput!) {
  customerSmsMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}`

// WriteBackOptOut sets the customer's SMS consent to UNSUBSCRIBED.
func (c *Client) WriteBackOptOut(ctx context.Context, externalID, _ string) error {
	if _, err := parseID(externalID); err != nil {
		return fmt.Errorf("%w: %q is not a customer id (guests have no customer)", ErrInvalidConfig, externalID)
	}
	vars := map[string]any{"input": map[string]any{
		"customerId": "gid://shopify/Customer/" + externalID,
		"smsMarketingConsent": map[string]any{
			"marketingState": "UNSUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN",
			"consentUpdatedAt": time.Now().UTC().Format(time.RFC3339),
		},
	}}
	var out struct {
		Update struct {
			UserErrors []struct {
				Message string `json:"message"`
			} `json:"userErrors"`
		} `json:"customerSmsMarketingConsentUpdate"`
	}
	if err := c.query(ctx, 10, WriteBackMutation, vars, &out); err != nil {
		return err
	}
	if len(out.Update.UserErrors) > 0 {
		return &GraphQLError{Message: out.Update.UserErrors[0].Message, Code: "USER_ERROR"}
	}
	return nil
}
