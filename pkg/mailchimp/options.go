package mailchimp

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/source"
)

// InstallOptions lists the account's audiences (GET /lists, with member
// counts), then (once one is chosen: an OAuth install's draft has none
// yet) the chosen audience's tags (static segments) and saved
// segments (GET /lists/{id}/segments?type=static|saved, with member
// counts): one request each of up to source.MaxOptions items; a longer
// listing is marked truncated; before an audience is chosen (an OAuth
// draft), the audiences only. Merge fields are the connector's fields
// (source.FieldLister).
func (c *Client) InstallOptions(ctx context.Context) (source.InstallOptions, error) {
	var lists struct {
		Lists []struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Stats struct {
				MemberCount *int `json:"member_count"`
			} `json:"stats"`
		} `json:"lists"`
		TotalItems int `json:"total_items"`
	}
	q := url.Values{"count": {strconv.Itoa(source.MaxOptions)}, "offset": {"0"},
		"fields": {"lists.id,lists.name,lists.stats.member_count,total_items"}}
	if err := c.getURL(ctx, c.base+"/lists?"+q.Encode(), "/lists", &lists); err != nil {
		return source.InstallOptions{}, unauthorized(err)
	}
	opts := source.InstallOptions{Audiences: source.NewChoices()}
	for _, l := range lists.Lists {
		opts.Audiences.Add(source.Choice{ID: l.ID, Name: l.Name, Count: l.Stats.MemberCount})
	}
	opts.Audiences.Truncated = opts.Audiences.Truncated || lists.TotalItems > len(lists.Lists)
	if c.cfg.AudienceID == "" {
		return opts, nil // an OAuth draft: the audience is chosen from these
	}
	var err error
	if opts.Tags, err = c.segmentChoices(ctx, "static"); err != nil {
		return source.InstallOptions{}, err
	}
	if opts.Segments, err = c.segmentChoices(ctx, "saved"); err != nil {
		return source.InstallOptions{}, err
	}
	return opts, nil
}

// segmentChoices lists the audience's segments of one type.
func (c *Client) segmentChoices(ctx context.Context, typ string) (*source.Choices, error) {
	var page struct {
		Segments []struct {
			ID          int    `json:"id"`
			Name        string `json:"name"`
			MemberCount *int   `json:"member_count"`
		} `json:"segments"`
		TotalItems int `json:"total_items"`
	}
	q := url.Values{"type": {typ}, "count": {strconv.Itoa(source.MaxOptions)}, "offset": {"0"},
		"fields": {"segments.id,segments.name,segments.member_count,total_items"}}
	if err := c.getPath(ctx, "/segments", q, &page); err != nil {
		return nil, unauthorized(err)
	}
	out := source.NewChoices()
	for _, s := range page.Segments {
		out.Add(source.Choice{ID: strconv.Itoa(s.ID), Name: s.Name, Count: s.MemberCount})
	}
	out.Truncated = out.Truncated || page.TotalItems > len(page.Segments)
	return out, nil
}

// unauthorized turns ErrUnauthorized into the rejection the API shows.
func unauthorized(err error) error {
	if errors.Is(err, ErrUnauthorized) {
		return &source.CredentialsRejectedError{Reason: "Mailchimp refused the API key"}
	}
	return err
}
