package shopify

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
      id firstName lastName updatedAt tags
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
}

func (c cursor) encode() source.Cursor {
	b, _ := json.Marshal(c) // a small struct always encodes
	return source.Cursor("sh1." + base64.RawURLEncoding.EncodeToString(b))
}

func decodeCursor(s source.Cursor) (cursor, error) {
	raw, ok := strings.CutPrefix(string(s), "sh1.")
	if !ok {
		return cursor{}, ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return cursor{}, ErrInvalidCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// PlanBulk plans a full listing. By default it is a chain of cursor pages;
// with Config.Bulk it runs a bulk operation, waits for it, and fans out
// byte ranges of its result file (see planBulkOperation).
func (c *Client) PlanBulk(ctx context.Context) (source.Plan, error) {
	if c.cfg.Bulk {
		return c.planBulkOperation(ctx)
	}
	return source.Plan{Fanout: []source.Cursor{cursor{}.encode()}, Chained: true, Total: -1}, nil
}

// PlanIncremental plans the customers updated after since.
func (c *Client) PlanIncremental(_ context.Context, since time.Time) (source.Plan, error) {
	return source.Plan{Fanout: []source.Cursor{cursor{Since: since}.encode()}, Chained: true, Total: -1}, nil
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
	cu, err := decodeCursor(cur)
	if err != nil {
		return source.Page{}, err
	}
	size := c.pageSize()
	vars := map[string]any{"first": size}
	if cu.After != "" {
		vars["after"] = cu.After
	}
	if q := c.searchQuery(cu.Since); q != "" {
		vars["query"] = q
	}
	var out struct {
		Customers struct {
			PageInfo struct {
				HasNextPage bool   `json:"hasNextPage"`
				EndCursor   string `json:"endCursor"`
			} `json:"pageInfo"`
			Nodes []Customer `json:"nodes"`
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
		page.Records = append(page.Records, rec)
	}
	if out.Customers.PageInfo.HasNextPage {
		page.Next = cursor{After: out.Customers.PageInfo.EndCursor, Since: cu.Since}.encode()
	}
	return page, nil
}

// searchQuery is the customers search of a listing: the selected tags
// (source.Options.SelectedTags; none = every customer) and, for an
// incremental listing, updated after since. Shopify's search syntax:
// terms joined by AND / OR, a quoted value with \ and ' escaped by a
// backslash. https://shopify.dev/docs/api/usage/search-syntax
func (c *Client) searchQuery(since time.Time) string {
	var terms []string
	if tags := c.opts.SelectedTags; len(tags) > 0 {
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
