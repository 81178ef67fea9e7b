package store

import "context"

// groupKnown reports whether this process already wrote the group's list
// entry (so each group costs one write per process, not one per member),
// and remembers it.
func (s *Store) groupKnown(tenant, name string) bool {
	_, loaded := s.groups.LoadOrStore(tenant+"\x00"+name, true)
	return loaded
}

// GroupInfo is one contact group.
type GroupInfo struct {
	Name  string `json:"name"`
	Label string `json:"source"`
}

// ListGroups lists a tenant's groups by name.
func (s *Store) ListGroups(ctx context.Context, tenant string, limit int, cursor string) ([]GroupInfo, string, error) {
	in := s.prefixQuery(tenantPK(tenant), "GROUP#")
	return listPage(ctx, s, in, tableListing(tenantPK(tenant), "GROUP#"), cursor, limit, func(g groupItem) GroupInfo {
		return GroupInfo{Name: g.Name, Label: g.Label}
	})
}
