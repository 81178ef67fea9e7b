package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
)

// A phone item is the number's identity claim (which contact owns it, if
// any) and its consent ledger, in one item: consent belongs to the number,
// and one conditional write keeps both consistent.
type phoneItem struct {
	PK        string         `dynamodbav:"PK"`
	SK        string         `dynamodbav:"SK"`
	Phone     string         `dynamodbav:"phone"`
	ContactID string         `dynamodbav:"contactId,omitempty"`
	State     string         `dynamodbav:"state"`
	Ledger    consent.Ledger `dynamodbav:"ledger"`
	Version   int64          `dynamodbav:"version"`
}

// PhoneRecord is a number's claim and consent ledger as stored.
type PhoneRecord struct {
	Phone     string
	ContactID string // "" when no contact holds the number (a suppression)
	Ledger    consent.Ledger
	// Version is the stored version (0: the item does not exist yet).
	Version int64
	// pending is the new contact the claim was written for, as read
	// (apply_claims.go): a ledger update keeps it while the claim is its.
	pending *types.AttributeValueMemberB
}

func phoneRecordFrom(it phoneItem) PhoneRecord {
	l := it.Ledger
	l.Version = it.Version
	return PhoneRecord{Phone: it.Phone, ContactID: it.ContactID, Ledger: l, Version: it.Version}
}

// GetPhone reads a number's record; ok is false when none exists.
func (s *Store) GetPhone(ctx context.Context, tenant, e164 string) (PhoneRecord, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(phonePK(tenant, e164), skPhone), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return PhoneRecord{}, false, fmt.Errorf("reading phone: %w", err)
	}
	if out.Item == nil {
		return PhoneRecord{Phone: e164, Ledger: consent.Ledger{Phone: e164}}, false, nil
	}
	var it phoneItem
	if err := unmarshalMap(out.Item, &it); err != nil {
		return PhoneRecord{}, false, err
	}
	rec := phoneRecordFrom(it)
	rec.pending, _ = out.Item[attrPending].(*types.AttributeValueMemberB)
	return rec, true, nil
}

// phonePut is the conditional put of a phone item at version rec.Version+1.
func (s *Store) phonePut(tenant string, rec PhoneRecord) (*types.Put, error) {
	l := rec.Ledger
	l.Version = rec.Version + 1
	av, err := marshalMap(phoneItem{
		PK: phonePK(tenant, rec.Phone), SK: skPhone, Phone: rec.Phone, ContactID: rec.ContactID,
		State: string(l.State()), Ledger: l, Version: rec.Version + 1,
	})
	if err != nil {
		return nil, err
	}
	if rec.pending != nil && rec.ContactID != "" {
		av[attrPending] = rec.pending // its contact may still be missing (completeCreate checks it is the owner's)
	}
	p := &types.Put{TableName: aws.String(s.table), Item: av}
	if rec.Version == 0 {
		p.ConditionExpression = aws.String(condAbsent)
	} else {
		p.ConditionExpression = aws.String(condVersion)
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":v": numAV(rec.Version)}
	}
	return p, nil
}

// LedgerUpdate is what an UpdateLedger callback returns: the new ledger, the
// history entries to record, and whether anything changed at all.
type LedgerUpdate struct {
	Ledger  consent.Ledger
	History []HistoryEntry
	Changed bool
	// Outbox are the messages the change makes due: their pending markers
	// are written in the same transaction as the ledger, so a lost enqueue
	// is found by the sweeper (SweepOutbox) instead of being lost with it.
	Outbox []OutboxEntry
}

// UpdateLedger applies fn to a number's ledger with optimistic locking: on a
// concurrent change it re-reads and calls fn again (bounded, with jitter).
// The ledger item is created when the number has none (a suppression entry
// for a number no contact holds). When the state changes and a contact owns
// the number, the contact's denormalised status follows. History entries are
// written after the ledger (idempotent by event id).
func (s *Store) UpdateLedger(ctx context.Context, tenant, e164 string, fn func(PhoneRecord) (LedgerUpdate, error)) (PhoneRecord, error) {
	for attempt := 1; ; attempt++ {
		rec, _, err := s.GetPhone(ctx, tenant, e164)
		if err != nil {
			return PhoneRecord{}, err
		}
		upd, err := fn(rec)
		if err != nil {
			return PhoneRecord{}, err
		}
		if !upd.Changed {
			return rec, nil
		}
		next := rec
		next.Ledger = upd.Ledger
		put, err := s.phonePut(tenant, next)
		if err != nil {
			return PhoneRecord{}, err
		}
		items := []types.TransactWriteItem{{Put: put}}
		for _, e := range upd.Outbox {
			m, err := s.outboxPut(e, s.now())
			if err != nil {
				return PhoneRecord{}, err
			}
			items = append(items, m)
			if p, ok, err := s.pendingPut(e); err != nil {
				return PhoneRecord{}, err
			} else if ok {
				items = append(items, p)
			}
			if n, ok, err := s.notificationPut(e); err != nil {
				return PhoneRecord{}, err
			} else if ok {
				items = append(items, n)
			}
		}
		withContact := rec.ContactID != "" && rec.Ledger.State() != upd.Ledger.State()
		if withContact { // last, so its cancellation reason is the last one
			items = append(items, types.TransactWriteItem{Update: s.statusUpdate(tenant, rec.ContactID, upd.Ledger.State())})
		}
		err = s.transact(ctx, items)
		if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
			if err := s.rereadPause(ctx, attempt); err != nil {
				return PhoneRecord{}, fmt.Errorf("updating consent of a number: %w", err)
			}
			continue
		} else if withContact && len(reasons) == len(items) && reasons[len(items)-1] == "ConditionalCheckFailed" {
			// The contact is gone (deleted meanwhile): write the ledger alone.
			if err = s.transact(ctx, items[:len(items)-1]); cancelReasons(err) != nil {
				continue
			}
		}
		if err != nil {
			return PhoneRecord{}, fmt.Errorf("updating consent of a number: %w", err)
		}
		for _, h := range upd.History {
			if err := s.AppendHistory(ctx, tenant, e164, h); err != nil {
				return PhoneRecord{}, err
			}
		}
		next.Version++
		next.Ledger.Version = next.Version
		return next, nil
	}
}
