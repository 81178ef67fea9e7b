package source

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// NewCursor is a connector's page position v (a small struct) as a
// Cursor: prefix (the connector's kind and version, e.g. "mc1.") then v's
// JSON in base64url.
func NewCursor(prefix string, v any) Cursor {
	b, _ := json.Marshal(v) // a small struct of plain fields always encodes
	return Cursor(prefix + base64.RawURLEncoding.EncodeToString(b))
}

// Decode reads a cursor NewCursor made with prefix into v; it reports
// false for any other string (another prefix, not base64url, not JSON of
// v's shape). The connector then checks v's fields.
func (c Cursor) Decode(prefix string, v any) bool {
	raw, ok := strings.CutPrefix(string(c), prefix)
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	return err == nil && json.Unmarshal(b, v) == nil
}
