package store

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// DynamoDB key limits: a partition key is at most 2,048 bytes, a sort key
// 1,024. Every value a caller can put into a key is bounded well below them
// here, before it reaches DynamoDB (which would answer ValidationException).
const (
	maxKeyBytes = 1024
	// MaxIDLen bounds an id token after its prefix (generated ids have 20
	// hex digits; the sample tenant of `make invoke` uses short words).
	MaxIDLen = 64
	// MaxFilterBytes bounds a listing filter (q, group, source): a group name
	// is at most source.MaxGroupNameRunes runes plus its label.
	MaxFilterBytes = 512
)

// ErrBadFilter: a listing filter that cannot be part of a key (too long,
// or not valid UTF-8).
var ErrBadFilter = errors.New("store: invalid filter")

// idToken reports whether s is prefix followed by 1..MaxIDLen characters of
// [A-Za-z0-9_-], the alphabet of NewID and of the sample ids.
func idToken(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || rest == "" || len(rest) > MaxIDLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidTenantID reports whether id has the shape of a tenant id ("t_…").
func ValidTenantID(id string) bool { return idToken(id, "t_") }

// ValidContactID reports whether id has the shape of a contact id ("c_…").
func ValidContactID(id string) bool { return idToken(id, "c_") }

// ValidConnectionID reports whether id has the shape of a connection id
// ("<tenant id>.c_…", NewConnectionID).
func ValidConnectionID(id string) bool {
	tenant, rest, ok := strings.Cut(id, ".")
	return ok && ValidTenantID(tenant) && idToken(rest, "c_")
}

// ValidRunID reports whether id has the shape of a sync run id ("r…",
// newRunID).
func ValidRunID(id string) bool { return idToken(id, "r") }

// keyable reports whether s can be part of a key: valid UTF-8, not empty,
// and short enough to leave room for the key's prefix.
func keyable(s string) bool {
	return s != "" && len(s) <= maxKeyBytes/2 && utf8.ValidString(s)
}

// checkFilter refuses listing filters that cannot be keys or key
// conditions.
func checkFilter(f ContactFilter) error {
	for _, v := range []string{f.Query, f.Group, f.Source} {
		if len(v) > MaxFilterBytes || !utf8.ValidString(v) {
			return ErrBadFilter
		}
	}
	return nil
}
