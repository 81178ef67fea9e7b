package mailchimptest

import (
	"net/http"
	"slices"
)

// MergeField is one merge field of the audience as GET
// /3.0/lists/{id}/merge-fields shows it.
type MergeField struct {
	Tag  string
	Name string
	Type string // text, number, date, birthday, phone, address, dropdown...
}

// defaultMergeFields are the ones a new audience has.
var defaultMergeFields = []MergeField{
	{"FNAME", "First Name", "text"}, {"LNAME", "Last Name", "text"}, {"ADDRESS", "Address", "address"},
	{"PHONE", "Phone Number", "phone"}, {"BIRTHDAY", "Birthday", "birthday"},
}

// AddMergeField declares a merge field (members' values are set with
// Update: m["merge_fields"].(map[string]any)[tag] = value).
func (s *Server) AddMergeField(tag, name, typ string) {
	s.data.Lock()
	defer s.data.Unlock()
	s.extraFields = append(s.extraFields, MergeField{tag, name, typ})
}

// listMergeFields serves GET /3.0/lists/{id}/merge-fields (count, offset;
// merge_id, tag, name, type, required, default_value, public,
// display_order, options, list_id; total_items).
func (s *Server) listMergeFields(w http.ResponseWriter, r *http.Request) {
	count, offset, ok := paging(w, r)
	if !ok {
		return
	}
	s.data.RLock()
	all := slices.Concat(defaultMergeFields, s.extraFields)
	s.data.RUnlock()
	out := []map[string]any{}
	for i := offset; i < len(all) && len(out) < count; i++ {
		f := all[i]
		out = append(out, map[string]any{
			"merge_id": i + 1, "tag": f.Tag, "name": f.Name, "type": f.Type, "required": false,
			"default_value": "", "public": true, "display_order": i + 2, "options": map[string]any{},
			"help_text": "", "list_id": s.opts.AudienceID,
		})
	}
	writeJSON(w, 200, map[string]any{"merge_fields": out, "list_id": s.opts.AudienceID, "total_items": len(all)})
}
