package source

import (
	"maps"
	"regexp"
	"slices"
)

// FieldSample infers the types of the custom keys a sample of records
// carries (Klaviyo properties, WooCommerce meta), where the platform lists
// no schema: a key keeps a type while every sampled value agrees, else it
// is text; at most Max keys are kept.
type FieldSample struct {
	Max   int
	types map[string]string
}

// Add records a value of type typ for key (a new key past Max is ignored).
func (s *FieldSample) Add(key, typ string) {
	if s.types == nil {
		s.types = map[string]string{}
	}
	switch seen := s.types[key]; {
	case seen == "" && len(s.types) >= s.Max:
	case seen == "" || seen == typ:
		s.types[key] = typ
	default:
		s.types[key] = FieldText
	}
}

// Fields are the sampled keys in order, each labelled with its key.
func (s *FieldSample) Fields() []Field {
	var out []Field
	for _, k := range slices.Sorted(maps.Keys(s.types)) {
		out = append(out, Field{Key: k, Label: k, Type: s.types[k]})
	}
	return out
}

// IsISODate reports whether a sampled value looks like a date
// (YYYY-MM-DD).
func IsISODate(s string) bool { return isoDate.MatchString(s) }

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
