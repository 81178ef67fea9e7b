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

// cursorState is what an opaque cursor carries: the string attributes of a
// LastEvaluatedKey plus an offset inside an item (report rows).
type cursorState struct {
	Key    map[string]string `json:"k,omitempty"`
	Offset int               `json:"o,omitempty"`
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

// decodeCursor parses a cursor and checks that every key attribute starting
// with "T#" belongs to tenant, so a cursor cannot move a query elsewhere.
func decodeCursor(cursor, tenant string) (map[string]types.AttributeValue, int, error) {
	if cursor == "" {
		return nil, 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, 0, ErrBadCursor
	}
	var c cursorState
	if err := json.Unmarshal(b, &c); err != nil || c.Offset < 0 {
		return nil, 0, ErrBadCursor
	}
	var key map[string]types.AttributeValue
	for k, v := range c.Key {
		if strings.HasPrefix(v, "T#") && v != tenantPK(tenant) && !strings.HasPrefix(v, tenantPK(tenant)+"#") {
			return nil, 0, ErrBadCursor
		}
		if key == nil {
			key = map[string]types.AttributeValue{}
		}
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, c.Offset, nil
}
