package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// ForgetSourceRecord honours a privacy redaction (Shopify customers/redact,
// shop/redact) for one source record: the source is removed from its
// contact as if deleted at the source (the contact goes with its last
// source), and if the contact's number had opted out, a hashed suppression
// entry keeps that opt-out without keeping the number.
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
	return s.Suppress(ctx, t.TenantID, phone, p.Ledger.OptOutAt, "redacted opt-out")
}

func (s *Store) linkedContact(ctx context.Context, tenant, conn, ext string) (string, bool, error) {
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{keyOf(linkPK(tenant, conn, ext), skLink)}, true)
	if err != nil {
		return "", false, err
	}
	item, ok := items[linkPK(tenant, conn, ext)+"|"+skLink]
	if !ok {
		return "", false, nil
	}
	var it linkItem
	if err := unmarshalMap(item, &it); err != nil {
		return "", false, err
	}
	return it.ContactID, true, nil
}
