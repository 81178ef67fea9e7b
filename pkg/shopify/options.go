package shopify

import (
	"context"
	"errors"

	"github.com/contactsync/contactsync/pkg/source"
)

// MaxCustomerTags is how many customer tags the install options read:
// Shop.customerTags is a first-n listing (no cursor), 250 at most.
const MaxCustomerTags = 250

const optionTagsQuery = `query ContactsyncOptionTags($first: Int!) {
  shop { customerTags(first: $first) { edges { node } pageInfo { hasNextPage } } }
}`

const optionSegmentsQuery = `query ContactsyncOptionSegments($first: Int!, $after: String) {
  segments(first: $first, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } }
}`

// segmentsPerPage is a segments page (the most a connection returns).
const segmentsPerPage = 250

// InstallOptions lists the shop's customer tags (Shop.customerTags, the
// first MaxCustomerTags, truncated beyond) and customer segments
// (segments, cursor pages of 250 up to source.MaxOptions). Shopify's
// listings give no counts.
func (c *Client) InstallOptions(ctx context.Context) (source.InstallOptions, error) {
	var tags struct {
		Shop struct {
			CustomerTags struct {
				Edges    []struct{ Node string } `json:"edges"`
				PageInfo pageInfo                `json:"pageInfo"`
			} `json:"customerTags"`
		} `json:"shop"`
	}
	if err := c.query(ctx, 12, optionTagsQuery, map[string]any{"first": MaxCustomerTags}, &tags); err != nil {
		return source.InstallOptions{}, rejected(err)
	}
	opts := source.InstallOptions{Tags: source.NewChoices(), Segments: source.NewChoices()}
	for _, e := range tags.Shop.CustomerTags.Edges {
		opts.Tags.Add(source.Choice{Name: e.Node})
	}
	opts.Tags.Truncated = opts.Tags.Truncated || tags.Shop.CustomerTags.PageInfo.HasNextPage
	vars := map[string]any{"first": segmentsPerPage}
	for {
		var page struct {
			Segments struct {
				Edges []struct {
					Node struct{ ID, Name string } `json:"node"`
				} `json:"edges"`
				PageInfo pageInfo `json:"pageInfo"`
			} `json:"segments"`
		}
		if err := c.query(ctx, 12, optionSegmentsQuery, vars, &page); err != nil {
			return source.InstallOptions{}, rejected(err)
		}
		for _, e := range page.Segments.Edges {
			opts.Segments.Add(source.Choice{ID: e.Node.ID, Name: e.Node.Name})
		}
		pi := page.Segments.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" || opts.Segments.Full() {
			opts.Segments.Truncated = opts.Segments.Truncated || pi.HasNextPage
			return opts, nil
		}
		vars["after"] = pi.EndCursor
	}
}

// rejected turns ErrUnauthorized into the rejection the API shows.
func rejected(err error) error {
	if errors.Is(err, ErrUnauthorized) {
		return &source.CredentialsRejectedError{Reason: "Shopify refused the access token (it needs read_customers)"}
	}
	return err
}
