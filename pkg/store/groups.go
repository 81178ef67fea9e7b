package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// groupKnown reports whether this process already wrote the group's list
// entry (so each group costs one write per process, not one per member),
// and remembers it.
func (s *Store) groupKnown(tenant, name string) bool {
	_, loaded := s.groups.LoadOrStore(tenant+"\x00"+name, true)
	return loaded
}

// GroupInfo is one contact group.
type GroupInfo struct {
	Name  string `json:"name"`
	Label string `json:"source"`
}

// ListGroups lists a tenant's groups by name.
func (s *Store) ListGroups(ctx context.Context, tenant string, limit int, cursor string) ([]GroupInfo, string, error) {
	start, _, err := decodeCursor(cursor, tableListing(tenantPK(tenant), "GROUP#"))
	if err != nil {
		return nil, "", err
	}
	var out []GroupInfo
	next, err := s.queryPages(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPrefix),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: tenantPK(tenant)}, ":p": &types.AttributeValueMemberS{Value: "GROUP#"},
		},
		ExclusiveStartKey: start,
	}, limit, func(item map[string]types.AttributeValue) error {
		var g groupItem
		if err := unmarshalMap(item, &g); err != nil {
			return err
		}
		out = append(out, GroupInfo{Name: g.Name, Label: g.Label})
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("listing groups: %w", err)
	}
	return out, next, nil
}
