package mailchimptest

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SavedSegment is a saved segment of the audience (a condition such as
// "signed up in the last 30 days"), with its member count.
type SavedSegment struct {
	ID      int
	Name    string
	Members int
}

// AddSavedSegment adds a saved segment with that many members.
func (s *Server) AddSavedSegment(name string, members int) {
	s.data.Lock()
	defer s.data.Unlock()
	s.saved = append(s.saved, SavedSegment{ID: 9000 + len(s.saved)*3, Name: name, Members: members})
}

// savedSegments appends the saved segments in [offset, offset+count) of
// the listing after the static ones (total so far), s.data read-locked.
func (s *Server) savedSegments(out []map[string]any, total, offset, count int) ([]map[string]any, int) {
	for _, g := range s.saved {
		if total >= offset && total < offset+count {
			created := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
			out = append(out, map[string]any{"id": g.ID, "name": g.Name, "member_count": g.Members, "type": "saved",
				"created_at": created, "updated_at": created, "list_id": s.opts.AudienceID})
		}
		total++
	}
	return out, total
}

// audienceJSON is audience id as GET /3.0/lists shows it.
func (s *Server) audienceJSON(id, name string, members int) map[string]any {
	return map[string]any{"id": id, "web_id": 1000, "name": name,
		"date_created": "2024-01-01T00:00:00+00:00", "email_type_option": false,
		"stats": map[string]any{"member_count": members, "unsubscribe_count": 0, "cleaned_count": 0}}
}

// subscribed counts the audience's subscribed members (s.data read lock held).
func (s *Server) subscribed() int {
	n := 0
	for _, m := range s.members {
		if m["status"] == "subscribed" {
			n++
		}
	}
	return n
}

// audiences serves GET /3.0/lists: the audience, then OtherAudiences
// (count, offset, total_items; fields is honoured only as Mailchimp's
// default projection here).
func (s *Server) audiences(w http.ResponseWriter, r *http.Request) {
	count, offset, ok := paging(w, r)
	if !ok {
		return
	}
	s.data.RLock()
	all := []map[string]any{s.audienceJSON(s.opts.AudienceID, cmp.Or(s.opts.AudienceName, "Demo audience"), s.subscribed())}
	s.data.RUnlock()
	for i, name := range s.opts.OtherAudiences {
		all = append(all, s.audienceJSON(fmt.Sprintf("other%05d", i+1), name, 0))
	}
	page := []map[string]any{}
	for i := offset; i < len(all) && i < offset+count; i++ {
		page = append(page, all[i])
	}
	writeJSON(w, 200, map[string]any{"lists": page, "total_items": len(all)})
}

// audience serves GET /3.0/lists/{id} (guarded checked the id).
func (s *Server) audience(w http.ResponseWriter, r *http.Request) {
	s.data.RLock()
	a := s.audienceJSON(s.opts.AudienceID, cmp.Or(s.opts.AudienceName, "Demo audience"), s.subscribed())
	s.data.RUnlock()
	if f := r.URL.Query().Get("fields"); f != "" {
		keep := map[string]any{}
		for _, k := range strings.Split(f, ",") {
			if v, ok := a[strings.TrimSpace(k)]; ok {
				keep[strings.TrimSpace(k)] = v
			}
		}
		a = keep
	}
	writeJSON(w, 200, a)
}
