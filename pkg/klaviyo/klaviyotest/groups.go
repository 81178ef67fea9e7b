package klaviyotest

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
)

// The fake's lists and segments. GET /api/lists and GET /api/segments
// return at most 10 per page (page[size] 1-10, as Klaviyo's get_lists and
// get_segments), with fields[list] / fields[segment] sparse fieldsets. GET
// /api/lists/{id}/profiles and /api/segments/{id}/profiles page the
// members (page[size] 1-100) as profile resources with
// attributes.joined_group_at, in the profiles' order, with
// additional-fields[profile]=subscriptions and
// filter=greater-than(joined_group_at,<ts>). Every endpoint goes through
// the same auth, revision, failure and rate-limit checks as /api/profiles.

// Group is one list or segment of the fake account.
type Group struct {
	Kind string // "list" or "segment"
	ID   string
	Name string
}

type group struct {
	Group
	joined []time.Time // per profile index; zero = not a member
	// failFrom, failStatus: member pages starting at profile index
	// failFrom or later answer failStatus (FailMembers); 0 = never.
	failFrom, failStatus int
}

var (
	listNames    = []string{"Newsletter", "VIP", "SMS Club", "Wholesale", "Café Regulars", "Waitlist"}
	segmentNames = []string{"Engaged 30 days", "Big Spenders", "Repeat Buyers", "Lapsed, 180 days", "VIP", "New this month"}
)

// groupName is the name of the k-th list or segment: the table's names,
// then the same names numbered ("Newsletter 2"). Segment 4 is "VIP" like
// list 1, so the fake has a list and a segment sharing a name.
func groupName(names []string, k int) string {
	if k < len(names) {
		return names[k]
	}
	return fmt.Sprintf("%s %d", names[k%len(names)], k/len(names)+1)
}

// mix is a 64-bit finaliser (splitmix64) for the deterministic memberships.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newGroups builds the lists and segments: person p is in the k-th group of
// a kind when a hash of (seed, kind, k, p) is divisible by 2 + k%4 (so
// groups hold about 1/2, 1/3, 1/4 or 1/5 of the profiles and overlap), and
// joined it up to 180 days before fakestore.Epoch.
func newGroups(opts Options) []*group {
	var out []*group
	add := func(kind string, tag uint64, n int, names []string) {
		for k := range n {
			g := &group{Group: Group{Kind: kind, ID: fmt.Sprintf("%c%05d", kind[0]-32, k), Name: groupName(names, k)},
				joined: make([]time.Time, opts.Profiles)}
			for i := range opts.Profiles {
				h := mix(mix(mix(uint64(opts.Seed)^tag)^uint64(k)) ^ uint64(opts.FirstPerson+i))
				if h%uint64(2+k%4) == 0 {
					g.joined[i] = fakestore.Epoch.Add(-time.Duration((h>>8)%(180*24*60)) * time.Minute)
				}
			}
			out = append(out, g)
		}
	}
	add("list", 0x6c697374, opts.Lists, listNames)
	add("segment", 0x7365676d, opts.Segments, segmentNames)
	return out
}

// Groups returns the account's lists, then its segments, in API order.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, len(s.groups))
	for i, g := range s.groups {
		out[i] = g.Group
	}
	return out
}

// Members returns the ids of the profiles in the list or segment id, in
// listing order, with the time each joined.
func (s *Server) Members(id string) (ids []string, joined []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.find("", id)
	if g == nil {
		return nil, nil
	}
	for i, t := range g.joined {
		if !t.IsZero() {
			ids = append(ids, s.profiles[i]["id"].(string))
			joined = append(joined, t)
		}
	}
	return ids, joined
}

// Join adds profile n (1-based) to the list or segment id at time at (a
// member joins again: joined_group_at is the most recent join).
func (s *Server) Join(id string, n int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.find("", id).joined[n-1] = at.UTC().Truncate(time.Second)
}

// Leave removes profile n (1-based) from the list or segment id.
func (s *Server) Leave(id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.find("", id).joined[n-1] = time.Time{}
}

// FailMembers makes the member pages of the list or segment id that start
// at profile index from (0-based) or later answer status with a JSON:API
// error (a status of 0 stops it).
func (s *Server) FailMembers(id string, from, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.find("", id)
	g.failFrom, g.failStatus = from, status
}

// Rename renames the list or segment id.
func (s *Server) Rename(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.find("", id).Name = name
}

// DeleteGroup deletes the list or segment id (its member listing then
// answers 404).
func (s *Server) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = slices.DeleteFunc(s.groups, func(g *group) bool { return g.ID == id })
}

// find returns the group id of kind ("" = any kind), or nil. The caller
// holds s.mu.
func (s *Server) find(kind, id string) *group {
	for _, g := range s.groups {
		if g.ID == id && (kind == "" || g.Kind == kind) {
			return g
		}
	}
	return nil
}

// directory serves GET /api/lists or /api/segments.
func (s *Server) directory(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, start, ok := pageParams(w, q, 10, 10)
		if !ok {
			return
		}
		if q.Get("filter") != "" {
			apiError(w, http.StatusBadRequest, "invalid", "unsupported filter")
			return
		}
		onlyName := q.Get("fields["+kind+"]") == "name"
		s.mu.Lock()
		data := []map[string]any{}
		next := -1
		for i, seen := 0, 0; i < len(s.groups); i++ {
			g := s.groups[i]
			if g.Kind != kind {
				continue
			}
			if seen++; seen <= start {
				continue
			}
			if len(data) == size {
				next = seen - 1
				break
			}
			attrs := map[string]any{"name": g.Name}
			if !onlyName {
				attrs["created"] = fakestore.Epoch.AddDate(-1, 0, 0).Format(time.RFC3339)
				attrs["updated"] = fakestore.Epoch.Format(time.RFC3339)
			}
			data = append(data, map[string]any{"type": kind, "id": g.ID, "attributes": attrs})
		}
		s.mu.Unlock()
		links := map[string]any{"self": s.URL() + r.URL.RequestURI()}
		if next >= 0 {
			links["next"] = s.nextLink(r, next)
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
	}
}

var greaterThanJoined = regexp.MustCompile(`^greater-than\(joined_group_at,([^)]+)\)$`)

// members serves GET /api/lists/{id}/profiles or /api/segments/{id}/profiles.
func (s *Server) members(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, start, ok := pageParams(w, q, 20, 100)
		if !ok {
			return
		}
		since, ok := filterSince(w, q, greaterThanJoined)
		if !ok {
			return
		}
		withSubs := q.Get("additional-fields[profile]") == "subscriptions"
		s.mu.Lock()
		g := s.find(kind, r.PathValue("id"))
		if g == nil {
			s.mu.Unlock()
			apiError(w, http.StatusNotFound, "not_found", "A "+kind+" with id "+r.PathValue("id")+" does not exist.")
			return
		}
		if g.failStatus != 0 && start >= g.failFrom {
			status := g.failStatus
			s.mu.Unlock()
			apiError(w, status, "error", "injected member page failure")
			return
		}
		data := []map[string]any{}
		next := -1
		for i := start; i < len(g.joined); i++ {
			if g.joined[i].IsZero() || (!since.IsZero() && !g.joined[i].After(since)) {
				continue
			}
			if len(data) == size {
				next = i
				break
			}
			p := s.profileResource(i, withSubs)
			attrs := maps.Clone(p["attributes"].(map[string]any))
			attrs["joined_group_at"] = g.joined[i].Format(time.RFC3339)
			data = append(data, map[string]any{"type": "profile", "id": p["id"], "attributes": attrs})
		}
		s.mu.Unlock()
		links := map[string]any{"self": s.URL() + r.URL.RequestURI()}
		if next >= 0 {
			links["next"] = s.nextLink(r, next)
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
	}
}
