package woocommerce

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// DefaultRole is the role WooCommerce gives every customer; it is no group.
const DefaultRole = "customer"

// maxGroupsValue bounds a groups meta value: a longer one is not read
// (no groups from it); source.Bound caps the count and names of the rest.
const maxGroupsValue = 16 << 10

// Keys are the connection's meta keys the mapping reads.
type Keys struct {
	// Consent is the SMS consent meta key ("" = none: never asked).
	Consent string
	// Groups is the meta key whose value holds the customer's tags or
	// segments ("" = none): a comma-separated string, a JSON array or
	// object of names, or a PHP-serialized list, as tagging plugins store
	// them.
	Groups string
}

// customerGroups is the customer's complete group set: its role when it
// is not the default "customer" (wholesale and membership plugins add
// roles), then the names the groups meta key holds. Names are trimmed and
// de-duplicated case-insensitively, in order.
func customerGroups(cu Customer, groupsKey string) []string {
	var out []string
	add := func(name string) {
		name = strings.TrimSpace(name)
		if name == "" || containsFold(out, name) || len(out) >= source.MaxGroups {
			return
		}
		out = append(out, name)
	}
	if r := strings.TrimSpace(cu.Role); r != "" && !strings.EqualFold(r, DefaultRole) {
		add(r)
	}
	if groupsKey == "" {
		return out
	}
	for _, m := range cu.MetaData {
		if m.Key != groupsKey {
			continue
		}
		for _, name := range groupNames(m.Value) {
			add(name)
		}
	}
	return out
}

// groupNames reads a groups meta value: a JSON array (strings, numbers,
// or objects with a name, label or slug), a JSON object of them (PHP
// arrays with gaps in their keys), or a string that is a PHP-serialized
// list, a JSON array, or comma-separated names.
func groupNames(raw json.RawMessage) []string {
	if len(raw) > maxGroupsValue {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return namesOf(v, 0, false)
}

// namesOf reads v at depth (0: the value itself, 1: an element of it);
// a string holding JSON is read once (unquoted is false then).
func namesOf(v any, depth int, unquoted bool) []string {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if depth > 0 {
			return []string{s}
		}
		if strings.HasPrefix(s, "a:") {
			return phpList(s)
		}
		if !unquoted && (strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{")) {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				return namesOf(inner, 0, true)
			}
		}
		return strings.Split(s, ",")
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}
	case []any:
		if depth > 0 {
			return nil // a list in a list is no name
		}
		var out []string
		for _, e := range x {
			out = append(out, namesOf(e, 1, true)...)
		}
		return out
	case map[string]any:
		for _, k := range []string{"name", "label", "slug"} {
			if s, ok := x[k].(string); ok {
				return []string{s}
			}
		}
		if depth > 0 {
			return nil
		}
		var out []string
		for _, k := range slices.SortedFunc(maps.Keys(x), compareKeys) {
			out = append(out, namesOf(x[k], 1, true)...)
		}
		return out
	}
	return nil
}

// compareKeys orders a PHP array's keys as PHP kept them when they are
// numbers (0, 1, 2, 10), else by text.
func compareKeys(a, b string) int {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	if ea == nil && eb == nil {
		return cmp.Compare(na, nb)
	}
	return strings.Compare(a, b)
}

// phpList reads the string values of a PHP-serialized array
// (a:2:{i:0;s:3:"vip";i:1;s:9:"wholesale";}): every s:<n>:"..." value
// that follows a key. Anything it cannot read ends the list.
func phpList(s string) []string {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return nil
	}
	rest := s[open+1:]
	var out []string
	for isValue := false; len(rest) > 0 && rest[0] != '}'; isValue = !isValue {
		var str string
		var ok bool
		switch rest[0] {
		case 's':
			str, rest, ok = phpString(rest)
		case 'i', 'd', 'b':
			end := strings.IndexByte(rest, ';')
			if end < 2 || rest[1] != ':' {
				return out
			}
			str, rest, ok = rest[2:end], rest[end+1:], true
		default:
			return out // nested arrays and objects are not tag lists
		}
		if !ok {
			return out
		}
		if isValue {
			out = append(out, str)
		}
	}
	return out
}

// phpString reads s:<n>:"<n bytes>"; from the start of s.
func phpString(s string) (string, string, bool) {
	if !strings.HasPrefix(s, "s:") {
		return "", s, false
	}
	colon := strings.IndexByte(s[2:], ':')
	if colon < 0 {
		return "", s, false
	}
	n, err := strconv.Atoi(s[2 : 2+colon])
	start := 2 + colon + 2 // past `:"`
	if err != nil || n < 0 || start+n+2 > len(s) || s[start-1] != '"' || s[start+n:start+n+2] != `";` {
		return "", s, false
	}
	return s[start : start+n], s[start+n+2:], true
}
