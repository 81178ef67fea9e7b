package woocommerce

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// OptionSamplePages is how many pages of customers (PerPage each, newest
// first) the install options read to find the roles and meta keys in use.
const OptionSamplePages = 2

// InstallOptions samples the newest customers (OptionSamplePages pages of
// role=all) and returns the roles and meta keys seen, each counted within
// the sample: WooCommerce has no endpoint listing either. A role other
// than "customer" becomes a group; a meta key can be the connection's
// smsConsentMetaKey or groupsMetaKey.
func (c *Client) InstallOptions(ctx context.Context) (source.InstallOptions, error) {
	roles, keys := map[string]int{}, map[string]int{}
	sampled := 0
	for page := 1; page <= OptionSamplePages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(PerPage)}, "role": {"all"},
			"orderby": {"id"}, "order": {"desc"}}
		var customers []Customer
		if _, err := c.get(ctx, "/customers", q, &customers); err != nil {
			if errors.Is(err, ErrUnauthorized) {
				return source.InstallOptions{}, &source.CredentialsRejectedError{Reason: "the store refused the consumer key and secret"}
			}
			return source.InstallOptions{}, err
		}
		for _, cu := range customers {
			sampled++
			roles[cmp.Or(strings.TrimSpace(cu.Role), DefaultRole)]++
			seen := map[string]bool{}
			for _, m := range cu.MetaData {
				if k := strings.TrimSpace(m.Key); k != "" && !seen[k] {
					seen[k] = true
					keys[k]++
				}
			}
		}
		if len(customers) < PerPage {
			break
		}
	}
	return source.InstallOptions{Roles: counted(roles), MetaKeys: counted(keys), Sampled: sampled}, nil
}

// counted lists names by count (most first), then name.
func counted(m map[string]int) *source.Choices {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	out := source.NewChoices()
	for _, n := range names {
		if !out.Add(source.Choice{Name: n, Count: source.Count(m[n])}) {
			break
		}
	}
	return out
}
