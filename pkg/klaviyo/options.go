package klaviyo

import (
	"context"
	"errors"
	"net/url"

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
	more, err := listing(ctx, c, "/api/"+kind+"s", url.Values{"fields[" + kind + "]": {"name"}}, false, maxDirectoryPages, func(data []namedResource) bool {
		for _, d := range data {
			if !out.Add(source.Choice{ID: d.ID, Name: d.name()}) {
				return false
			}
		}
		return !out.Full()
	})
	if errors.Is(err, ErrUnauthorized) {
		return nil, &source.CredentialsRejectedError{Reason: "Klaviyo refused the private API key (it needs lists:read and segments:read)"}
	} else if err != nil {
		return nil, err
	}
	out.Truncated = out.Truncated || more
	return out, nil
}
