package mailchimp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/source"
)

// InstallOptions lists the account's audiences (GET /lists, with member
// counts), then the chosen audience's tags (static segments) and saved
// segments (GET /lists/{id}/segments?type=static|saved, with member
// counts): one request each of up to source.MaxOptions items; a longer
// listing is marked truncated. Merge fields are the connector's fields
// (source.FieldLister).
func (c *Client) InstallOptions(ctx context.Context) (source.InstallOptions, error) {
	audiences, err := c.audiences(ctx)
	if err != nil {
		return source.InstallOptions{}, err
	}
	opts := source.InstallOptions{Audiences: audiences}
	if opts.Tags, err = c.segmentChoices(ctx, "static"); err != nil {
		return source.InstallOptions{}, err
	}
	if opts.Segments, err = c.segmentChoices(ctx, "saved"); err != nil {
		return source.InstallOptions{}, err
	}
	return opts, nil
}

// Audiences lists the account's audiences with their member counts: what
// an install chooses from before it has an audience (the draft an OAuth
// install makes), so cfg.AudienceID may be empty.
func Audiences(ctx context.Context, cfg Config, hc *http.Client) (*source.Choices, error) {
	c, err := newClient(cfg, source.Options{}, hc)
	if err != nil {
		return nil, err
	}
	return c.audiences(ctx)
}

// audiences is GET /lists: one request of up to source.MaxOptions.
func (c *Client) audiences(ctx context.Context) (*source.Choices, error) {
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
		return nil, unauthorized(err)
	}
	out := source.NewChoices()
	for _, l := range lists.Lists {
		out.Add(source.Choice{ID: l.ID, Name: l.Name, Count: l.Stats.MemberCount})
	}
	out.Truncated = out.Truncated || lists.TotalItems > len(lists.Lists)
	return out, nil
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
