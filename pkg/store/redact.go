package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// ForgetSourceRecord honours a privacy redaction (Shopify customers/redact,
// shop/redact) for one source record: the source is removed from its
// contact as if deleted at the source (the contact goes with its last
// source), and if the contact's number had opted out (for any reason), a
// hashed suppression entry keeps that opt-out and its time without keeping
// the number.
func (s *Store) ForgetSourceRecord(ctx context.Context, t Target, externalID string, now time.Time) error {
	var phone string
	if cid, ok, err := s.linkedContact(ctx, t.TenantID, t.Conn.ID, externalID); err != nil {
		return err
	} else if ok {
		if cv, err := s.GetContact(ctx, t.TenantID, cid); err == nil {
			phone = cv.Phone
		}
	}
	rec := source.Record{ConnectionID: t.Conn.ID, Label: t.Conn.Label, ExternalID: externalID, Deleted: true, UpdatedAt: now}
	if _, err := s.ApplyRecord(ctx, t, rec, now); err != nil {
		return err
	}
	if phone == "" {
		return nil
	}
	p, ok, err := s.GetPhone(ctx, t.TenantID, phone)
	if err != nil || !ok || p.Ledger.State() != consent.Unsubscribed {
		return err
	}
	// Whatever the opt-out came from (a STOP, a hub unsubscribe, a source
	// "unsubscribed" that left OptOutAt zero), the entry keeps its time.
	at, _ := p.Ledger.OptedOutAt()
	if at.IsZero() {
		at = now
	}
	if err := s.Suppress(ctx, t.TenantID, phone, at, "redacted opt-out"); err != nil {
		return err
	}
	if p.ContactID != "" {
		return nil // another source still holds the number: its ledger stays
	}
	// Nothing holds the number any more: keep only the hashed entry.
	if err := s.deleteHistory(ctx, t.TenantID, phone); err != nil {
		return err
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(phonePK(t.TenantID, phone), skPhone),
		ConditionExpression:       aws.String("version = :v AND attribute_not_exists(contactId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": numAV(p.Version)},
	})
	// A failed condition: it changed meanwhile (a new contact took it), keep it.
	return written(err, nil, "dropping the redacted phone")
}

func (s *Store) linkedContact(ctx context.Context, tenant, conn, ext string) (string, bool, error) {
	ckey, lkey := keyOf(contactPK(tenant, creatorID(tenant, conn, ext)), skContact), keyOf(linkPK(tenant, conn, ext), skLink)
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{ckey, lkey}, true)
	if err != nil {
		return "", false, err
	}
	if item, ok := items[itemKey(ckey)]; ok {
		var it contactItem
		if err := unmarshalMap(item, &it); err != nil {
			return "", false, err
		}
		if it.Link != nil && createdBy(tenant, it.Contact, merge.LinkKey{ConnectionID: conn, ExternalID: ext}) {
			return it.Contact.ID, true, nil // the link folded into it
		}
	}
	item, ok := items[itemKey(lkey)]
	if !ok {
		return "", false, nil
	}
	var it linkItem
	if err := unmarshalMap(item, &it); err != nil {
		return "", false, err
	}
	return it.ContactID, true, nil
}

// deleteHistory removes every history item of a subject (redaction).
func (s *Store) deleteHistory(ctx context.Context, tenant, subject string) error {
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPartition),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: historyPK(tenant, subject)}},
		ProjectionExpression:      aws.String("PK, SK"),
	}
	return s.queryAll(ctx, "listing history to redact", in, func(out *dynamodb.QueryOutput) error {
		writes := make([]types.WriteRequest, len(out.Items))
		for i, item := range out.Items {
			writes[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"PK": item["PK"], "SK": item["SK"]}}}
		}
		return s.batchWrite(ctx, writes)
	})
}
