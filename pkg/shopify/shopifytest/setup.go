package shopifytest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// setupQuery answers the connector's named setup queries: ContactsyncCheck
// (shop { name }), ContactsyncOptionTags (shop { customerTags(first:) },
// the tags of every customer, sorted, first n) and
// ContactsyncOptionSegments (segments(first:, after:), cursor pages).
func (s *Server) setupQuery(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.spend(1)
	if !ok {
		throttled(w, ext)
		return
	}
	first, _ := req.Variables["first"].(float64)
	switch {
	case strings.Contains(req.Query, "query ContactsyncCheck"):
		writeJSON(w, map[string]any{"data": map[string]any{"shop": map[string]any{"name": strings.TrimSuffix(s.opts.Domain, ".myshopify.com")}}, "extensions": ext})
	case strings.Contains(req.Query, "query ContactsyncOptionTags"):
		if first < 1 || first > 250 {
			writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "first must be 1-250", "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
			return
		}
		s.mu.Lock()
		var tags []string
		for _, c := range s.customers {
			tags = append(tags, c.Tags...)
		}
		s.mu.Unlock()
		slices.Sort(tags)
		tags = slices.Compact(tags)
		edges := []map[string]any{}
		for _, t := range tags[:min(len(tags), int(first))] {
			edges = append(edges, map[string]any{"node": t})
		}
		writeJSON(w, map[string]any{"data": map[string]any{"shop": map[string]any{"customerTags": map[string]any{
			"edges": edges, "pageInfo": map[string]any{"hasNextPage": len(tags) > int(first)}}}}, "extensions": ext})
	case strings.Contains(req.Query, "query ContactsyncOptionSegments"):
		if first < 1 || first > 250 {
			writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "first must be 1-250", "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
			return
		}
		start := 0
		if after, _ := req.Variables["after"].(string); after != "" {
			b, err := base64.StdEncoding.DecodeString(after)
			n, perr := strconv.Atoi(string(b))
			if err != nil || perr != nil || n < 0 {
				writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "Invalid cursor", "extensions": map[string]string{"code": "BAD_REQUEST"}}}})
				return
			}
			start = n
		}
		s.mu.Lock()
		all := slices.Clone(s.segments) // AddSegment (segments.go)
		s.mu.Unlock()
		edges := []map[string]any{}
		end := min(len(all), start+int(first))
		for i := start; i < end; i++ {
			edges = append(edges, map[string]any{"node": map[string]any{"id": all[i].gid(), "name": all[i].Name}})
		}
		writeJSON(w, map[string]any{"data": map[string]any{"segments": map[string]any{"edges": edges,
			"pageInfo": map[string]any{"hasNextPage": end < len(all), "endCursor": base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end)))}}}, "extensions": ext})
	default:
		writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "unsupported operation", "extensions": map[string]string{"code": "NOT_SUPPORTED"}}}})
	}
}
