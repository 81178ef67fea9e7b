package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrBadCursor: a pagination cursor that this store did not issue for this
// tenant and listing.
var ErrBadCursor = errors.New("store: invalid cursor")

// Cursor bounds. A cursor this store issues holds at most four key
// attributes of at most maxKeyBytes each (base64 of their JSON); anything
// longer was not issued here and is refused before it is decoded.
const (
	maxCursorLen    = 8192
	maxCursorOffset = 1 << 20 // report rows inside one page item
)

// cursorState is what an opaque cursor carries: the string attributes of a
// LastEvaluatedKey plus an offset inside an item (report rows).
type cursorState struct {
	Key    map[string]string `json:"k,omitempty"`
	Offset int               `json:"o,omitempty"`
}

// listing is the query a cursor must belong to: the key attributes of its
// start key and the values they can take. A start key outside the query's
// partition or key condition, with other attributes, or with values
// DynamoDB refuses as keys, is not a cursor of this listing (DynamoDB would
// answer ValidationException, or read elsewhere).
type listing struct {
	pk, pkValue  string // the queried partition key and its value
	sk, skPrefix string // its sort key and the prefix the key condition requires ("" = any)
	// index queries: the start key also holds the item's table key, whose
	// PK is tablePK (or, with tablePKPrefix, begins with it) and whose SK
	// begins with tableSK.
	index         bool
	tablePK       string
	tablePKPrefix bool
	tableSK       string
	// offsetOnly: a cursor may carry an offset and no key (report rows of
	// the listing's first item).
	offsetOnly bool
}

// tableListing is a query on the table's PK with begins_with(SK, prefix).
func tableListing(pk, skPrefix string) listing {
	return listing{pk: "PK", pkValue: pk, sk: "SK", skPrefix: skPrefix}
}

func encodeCursor(key map[string]types.AttributeValue, offset int) string {
	if len(key) == 0 && offset == 0 {
		return ""
	}
	c := cursorState{Key: map[string]string{}, Offset: offset}
	for k, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			c.Key[k] = s.Value
		}
	}
	b, _ := json.Marshal(c) // a map of strings always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor of listing l. It accepts exactly the start
// keys l's query can produce: the listing's key attributes and no other,
// its partition, a sort key its key condition allows, and, for an index,
// a table key of the same tenant's kind of item; every value a valid key.
func decodeCursor(cursor string, l listing) (map[string]types.AttributeValue, int, error) {
	if cursor == "" {
		return nil, 0, nil
	}
	if len(cursor) > maxCursorLen {
		return nil, 0, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, 0, ErrBadCursor
	}
	var c cursorState
	if err := json.Unmarshal(b, &c); err != nil || c.Offset < 0 || c.Offset > maxCursorOffset {
		return nil, 0, ErrBadCursor
	}
	if len(c.Key) == 0 {
		if l.offsetOnly && c.Offset > 0 {
			return nil, c.Offset, nil
		}
		return nil, 0, ErrBadCursor
	}
	want := map[string]bool{l.pk: true, l.sk: true}
	if l.index {
		want["PK"], want["SK"] = true, true
	}
	if len(c.Key) != len(want) {
		return nil, 0, ErrBadCursor
	}
	key := make(map[string]types.AttributeValue, len(c.Key))
	for k, v := range c.Key {
		if !want[k] || v == "" || len(v) > maxKeyBytes {
			return nil, 0, ErrBadCursor
		}
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	ok := c.Key[l.pk] == l.pkValue && strings.HasPrefix(c.Key[l.sk], l.skPrefix)
	if l.index {
		pk := c.Key["PK"]
		if l.tablePKPrefix {
			ok = ok && strings.HasPrefix(pk, l.tablePK) && len(pk) > len(l.tablePK)
		} else {
			ok = ok && pk == l.tablePK
		}
		ok = ok && strings.HasPrefix(c.Key["SK"], l.tableSK)
	}
	if !ok {
		return nil, 0, ErrBadCursor
	}
	return key, c.Offset, nil
}
