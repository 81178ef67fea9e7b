package source

import (
	"maps"
	"regexp"
	"slices"
)

// FieldSample infers the types of the custom keys a sample of records
// carries (Klaviyo properties, WooCommerce meta), where the platform lists
// no schema: a key keeps a type while every sampled value agrees, else it
// is text.
type FieldSample map[string]string

// Add records a value of type typ for key; a new key past most keys is
// ignored.
func (s FieldSample) Add(key, typ string, most int) {
	switch seen := s[key]; {
	case seen == "" && len(s) >= most:
	case seen == "" || seen == typ:
		s[key] = typ
	default:
		s[key] = FieldText
	}
}

// Fields are the sampled keys in order, each labelled with its key.
func (s FieldSample) Fields() []Field {
	var out []Field
	for _, k := range slices.Sorted(maps.Keys(s)) {
		out = append(out, Field{Key: k, Label: k, Type: s[k]})
	}
	return out
}

// ISODate matches a sampled value that looks like a date (YYYY-MM-DD).
var ISODate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
