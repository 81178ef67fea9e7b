package klaviyo

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Kinds of groups, as the API path segments name them (/api/lists,
// /api/segments) and JSON:API types them.
const (
	kindList    = "list"
	kindSegment = "segment"
)

// maxDirectoryPages bounds the lists or segments listing (10 per page).
const maxDirectoryPages = 1000

// groupRef is one list or segment that becomes a group.
type groupRef struct {
	Kind, ID, Name string
}

// selectedGroups lists the account's lists, then its segments (GET
// /api/lists and /api/segments, 10 per page, names only), and keeps those
// named in opts.SelectedTags, or all when it is empty. A list or segment
// without a name is named by its id.
func (c *Client) selectedGroups(ctx context.Context) ([]groupRef, error) {
	selected := map[string]bool{}
	for _, t := range c.opts.SelectedTags {
		selected[t] = true
	}
	var out []groupRef
	seen := map[groupRef]bool{}
	for _, kind := range []string{kindList, kindSegment} {
		more, err := listing(ctx, c, "/api/"+kind+"s", url.Values{"fields[" + kind + "]": {"name"}}, false, maxDirectoryPages, func(data []namedResource) bool {
			for _, d := range data {
				g := groupRef{Kind: kind, ID: d.ID, Name: d.name()}
				if d.ID == "" || seen[g] || (len(selected) > 0 && !selected[g.Name]) {
					continue
				}
				seen[g] = true
				out = append(out, g)
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("listing %ss: %w", kind, err)
		}
		if more {
			return nil, fmt.Errorf("klaviyo: more than %d pages of %ss", maxDirectoryPages, kind)
		}
	}
	return out, nil
}

// namedResource is a list or segment as its listing gives it (the name
// sparse fieldset).
type namedResource struct {
	ID         string `json:"id"`
	Attributes struct {
		Name *string `json:"name"`
	} `json:"attributes"`
}

// name is the resource's name, or its id when it has none.
func (d namedResource) name() string {
	if d.Attributes.Name != nil && strings.TrimSpace(*d.Attributes.Name) != "" {
		return strings.TrimSpace(*d.Attributes.Name)
	}
	return d.ID
}

// MembershipRecord maps a profile listed as a member of the list or
// segment named group: the profile as Record maps it, with AddGroups
// [group] (HasGroups stays false: the record adds this membership and
// leaves the others alone) and UpdatedAt cleared, so that its fields only
// fill what is empty and it is never set aside as older than the stored
// link (which would drop the membership). It carries the profile's
// identifiers and explicit consent, so it lands on the right contact
// whichever page the pipeline applies first. It is marked Partial.
func (p Profile) MembershipRecord(opts source.Options, group string) source.Record {
	r := p.Record(opts)
	r.UpdatedAt = time.Time{}
	r.AddGroups = []string{group}
	// Partial: once the profile is linked, a member page only adds its
	// group and fills what the contact lacks; it never re-matches the
	// profile or moves its link (design.md §3). Not linked yet, it is
	// matched from the profile it carries, like the profile page.
	r.Partial = true
	return r
}

// ScopedMembershipRecord maps a member of a selected list or segment of a
// scoped connection: MembershipRecord, keeping the profile's updated time,
// since member records are then the profile's only records (its fields
// follow it: newer wins per field). It is still partial: it never moves
// the profile's link.
func (p Profile) ScopedMembershipRecord(opts source.Options, group string) source.Record {
	r := p.MembershipRecord(opts, group)
	r.UpdatedAt = p.Attributes.Updated.UTC()
	return r
}

// outOfScope is a profile of a scoped connection's profiles listing (read
// ids-only): out of scope unless a member page of the same run listed it,
// which the pipeline decides at the run's end (source.Plan.CompleteGroups).
// Applied, it takes the Klaviyo source from a contact it was linked to.
func (p Profile) outOfScope(opts source.Options) source.Record {
	r := source.Record{Platform: source.Klaviyo, Label: opts.Label, ConnectionID: opts.ConnectionID, ExternalID: p.ID,
		Deleted: true, OutOfScope: true}
	r.Label = cmp.Or(r.Label, source.Klaviyo.DefaultLabel())
	return r
}
