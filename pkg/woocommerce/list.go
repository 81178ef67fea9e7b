package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// PerPage is WordPress's page size cap.
const PerPage = 100

// cursor addresses one page of customers ("c") or orders ("o").
type cursor struct {
	Kind  string    `json:"k"`
	Page  int       `json:"p"`
	Since time.Time `json:"s,omitzero"`
}

func (c cursor) encode() source.Cursor { return source.NewCursor("", c) }

func decodeCursor(s source.Cursor) (cursor, error) {
	var c cursor
	if !s.Decode("", &c) || c.Page < 1 || (c.Kind != "c" && c.Kind != "o") {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// PlanBulk plans a full listing: every customer page and every order page
// (guest checkouts), all known up front.
func (c *Client) PlanBulk(ctx context.Context) (source.Plan, error) {
	return c.plan(ctx, time.Time{})
}

// PlanIncremental plans the pages of customers and orders modified after since.
func (c *Client) PlanIncremental(ctx context.Context, since time.Time) (source.Plan, error) {
	return c.plan(ctx, since)
}

func (c *Client) plan(ctx context.Context, since time.Time) (source.Plan, error) {
	plan := source.Plan{Total: 0}
	for _, kind := range []string{"c", "o"} {
		q := c.listQuery(kind, 1, 1, since)
		h, err := c.get(ctx, listPath(kind), q, nil)
		if err != nil {
			return source.Plan{}, fmt.Errorf("probing %s: %w", listPath(kind), err)
		}
		total, err := strconv.Atoi(h.Get("X-WP-Total"))
		if err != nil {
			return source.Plan{}, fmt.Errorf("woocommerce: %s answered without X-WP-Total", listPath(kind))
		}
		if kind == "c" {
			plan.Total = total // guests are counted per order, not per person
		}
		for p := 1; p <= (total+PerPage-1)/PerPage; p++ {
			plan.Fanout = append(plan.Fanout, cursor{Kind: kind, Page: p, Since: since}.encode())
		}
	}
	if !since.IsZero() {
		plan.Total = -1
	}
	return plan, nil
}

func listPath(kind string) string {
	if kind == "o" {
		return "/orders"
	}
	return "/customers"
}

func (c *Client) listQuery(kind string, page, perPage int, since time.Time) url.Values {
	q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}, "orderby": {"id"}, "order": {"asc"}}
	if kind == "c" {
		q.Set("role", "all")
	}
	if !since.IsZero() {
		q.Set("modified_after", since.UTC().Format(time.RFC3339))
	}
	return q
}

// FetchPage fetches the page at cur. Customer pages give one record per
// customer; order pages give one guest record per guest order (orders of
// registered customers are covered by the customer pages).
func (c *Client) FetchPage(ctx context.Context, cur source.Cursor) (source.Page, error) {
	cu, err := decodeCursor(cur)
	if err != nil {
		return source.Page{}, err
	}
	q := c.listQuery(cu.Kind, cu.Page, PerPage, cu.Since)
	var page source.Page
	if cu.Kind == "c" {
		var customers []Customer
		if _, err := c.get(ctx, "/customers", q, &customers); err != nil {
			return source.Page{}, err
		}
		for _, cust := range customers {
			page.Records = append(page.Records, c.customerRecord(cust))
		}
		return page, nil
	}
	var orders []Order
	if _, err := c.get(ctx, "/orders", q, &orders); err != nil {
		return source.Page{}, err
	}
	for _, o := range orders {
		if rec, ok := c.guestRecord(o); ok {
			page.Records = append(page.Records, rec)
		}
	}
	return page, nil
}

// CanWriteBack reports whether opt-outs can be written back at all
// (source.WriteBackChecker): only with an SMS consent meta key.
func (c *Client) CanWriteBack() error {
	if c.cfg.SMSConsentMetaKey == "" {
		return ErrWriteBackUnsupported
	}
	return nil
}

// WriteBackOptOut records the opt-out in the customer's SMS consent meta key.
func (c *Client) WriteBackOptOut(ctx context.Context, externalID, _ string) error {
	if c.cfg.SMSConsentMetaKey == "" {
		return ErrWriteBackUnsupported
	}
	id, err := strconv.ParseInt(externalID, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not a customer id (guests have no customer record)", ErrWriteBackUnsupported, externalID)
	}
	value, _ := json.Marshal("no") // a constant string always encodes
	body := map[string][]Meta{"meta_data": {{Key: c.cfg.SMSConsentMetaKey, Value: value}}}
	_, err = c.do(ctx, "PUT", "/customers/"+strconv.FormatInt(id, 10), nil, body, nil)
	return err
}
