package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DeleteContact deletes a contact at the hub's request: the contact item
// and its email claim go in one transaction, the phone item keeps the
// number's consent ledger (opt-outs are never deleted) but loses its owner;
// then the links and memberships are removed.
func (s *Store) DeleteContact(ctx context.Context, tenant, id string) error {
	for attempt := 1; ; attempt++ {
		cv, err := s.GetContact(ctx, tenant, id)
		if err != nil {
			return err
		}
		c := cv.Contact
		items := []types.TransactWriteItem{{Delete: &types.Delete{
			TableName: aws.String(s.table), Key: keyOf(contactPK(tenant, id), skContact),
			ConditionExpression:       aws.String(condVersion),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": numAV(c.Version)},
		}}}
		if c.EmailKey != "" {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table), Key: keyOf(emailPK(tenant, c.EmailKey), c.EmailKey),
				ConditionExpression:       aws.String(condOwner),
				ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: id}},
			}})
		}
		if c.Phone != "" {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: keyOf(phonePK(tenant, c.Phone), skPhone),
				UpdateExpression:          aws.String("REMOVE contactId, " + attrPending + " SET version = version + :one"),
				ConditionExpression:       aws.String(condOwner),
				ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: id}, ":one": numAV(1)},
			}})
		}
		err = s.transact(ctx, items)
		if cancelReasons(err) != nil {
			if err := s.rereadPause(ctx, attempt); err != nil {
				return fmt.Errorf("deleting contact: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("deleting contact: %w", err)
		}
		var writes []types.WriteRequest
		for _, l := range c.Sources {
			writes = append(writes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyOf(linkPK(tenant, l.ConnectionID, l.ExternalID), skLink)}})
		}
		var members memberChanges
		for _, g := range c.Groups {
			members.note(memberChange{group: g, contactID: id, bucket: contactBucket(c)})
		}
		if err := s.writeMembers(ctx, tenant, &members); err != nil {
			return err
		}
		return s.batchWrite(ctx, writes)
	}
}
