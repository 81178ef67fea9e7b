package hubapi

import (
	"strings"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/store"
)

// Bounds of client input that ends up in a DynamoDB key or key condition
// (a sort key is at most 1,024 bytes): ids are checked by their format,
// query strings by length, before they reach the store.
const (
	// maxQueryRunes bounds q (a name or email prefix).
	maxQueryRunes = 200
	// maxFilterRunes bounds group and source filters (a group name is
	// "<label> - <name>", at most 40 + 3 + source.MaxGroupNameRunes runes).
	maxFilterRunes = 250
)

// idKinds maps a route's collection to the format of its {id}.
var idKinds = map[string]func(string) bool{
	"connections": store.ValidConnectionID,
	"contacts":    store.ValidContactID,
	"syncs":       store.ValidRunID,
}

// checkParams answers 404 for a path {id} that cannot be an id of its
// collection (too long, another alphabet, a key separator): no such
// resource can exist, and the value must not reach a key.
func checkParams(pattern string, params map[string]string) (apigw.Response, bool) {
	id, ok := params["id"]
	if !ok {
		return apigw.Response{}, true
	}
	parts := strings.Split(strings.Trim(pattern, "/"), "/")
	for i, p := range parts {
		if p != "{id}" || i == 0 {
			continue
		}
		collection := parts[i-1]
		if valid := idKinds[collection]; valid != nil && !valid(id) {
			return notFound(strings.TrimSuffix(collection, "s")), false
		}
	}
	return apigw.Response{}, true
}

// boundedText reports whether v is valid UTF-8 of at most n runes and
// store.MaxFilterBytes bytes.
func boundedText(v string, n int) bool {
	return len(v) <= store.MaxFilterBytes && utf8.ValidString(v) && utf8.RuneCountInString(v) <= n
}

// checkFilters names the contact filters that are too long to search by.
func checkFilters(q map[string]string) map[string]string {
	bad := map[string]string{}
	if !boundedText(q["q"], maxQueryRunes) {
		bad["q"] = "at most 200 characters"
	}
	for _, k := range []string{"group", "source"} {
		if !boundedText(q[k], maxFilterRunes) {
			bad[k] = "at most 250 characters"
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return bad
}
