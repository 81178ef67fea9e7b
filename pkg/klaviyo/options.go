package klaviyo

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// InstallOptions lists the account's lists and segments (GET /api/lists
// and /api/segments, names only, 10 a page), up to source.MaxOptions of
// each (truncated beyond). Klaviyo's listings give no member counts
// (only the single-list read does, at 1 request a second), so none are
// shown.
func (c *Client) InstallOptions(ctx context.Context) (source.InstallOptions, error) {
	lists, err := c.choices(ctx, kindList)
	if err != nil {
		return source.InstallOptions{}, err
	}
	segments, err := c.choices(ctx, kindSegment)
	if err != nil {
		return source.InstallOptions{}, err
	}
	return source.InstallOptions{Lists: lists, Segments: segments}, nil
}

func (c *Client) choices(ctx context.Context, kind string) (*source.Choices, error) {
	out := source.NewChoices()
	q := url.Values{"fields[" + kind + "]": {"name"}}
	for pages := 0; ; pages++ {
		var page struct {
			Data []struct {
				ID         string `json:"id"`
				Attributes struct {
					Name string `json:"name"`
				} `json:"attributes"`
			} `json:"data"`
			Links struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/"+kind+"s", q, nil, &page); err != nil {
			if errors.Is(err, ErrUnauthorized) {
				return nil, &source.CredentialsRejectedError{Reason: "Klaviyo refused the private API key (it needs lists:read and segments:read)"}
			}
			return nil, err
		}
		for _, d := range page.Data {
			name := strings.TrimSpace(d.Attributes.Name)
			if name == "" {
				name = d.ID
			}
			if !out.Add(source.Choice{ID: d.ID, Name: name}) {
				return out, nil
			}
		}
		if page.Links.Next == "" || out.Full() || pages+1 == maxDirectoryPages {
			out.Truncated = out.Truncated || page.Links.Next != ""
			return out, nil
		}
		next, err := nextCursor(page.Links.Next)
		if err != nil {
			return nil, err
		}
		q.Set("page[cursor]", next)
	}
}
