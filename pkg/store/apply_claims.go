package store

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
)

// A new contact's claims without a transaction (issue 21 item 4).
//
// A decision that only creates a contact and claims its own phone and email
// (the common case of a first sync) writes three conditional puts in a
// fixed order instead of a transaction, which would cost each item twice:
// the phone item, then the email claim, then the contact. Each claim
// carries the contact item it is for (attrPending), so a claim whose
// contact does not exist is completed by whoever reads it next
// (completeCreate): a crash between the puts loses nothing, and a racing
// writer converges on the claimed id. Nobody overwrites a claim whose
// contact is missing while it carries its contact: it is completed first.
// doc.go ("Costs the design is built for") has the proof sketch.

// attrPending is the claim attribute holding the contact item the claim
// was written for (pendingAV: deflated JSON, never indexed). It stays until the
// claim's next write (any other write of a phone or email item drops it;
// UpdateLedger keeps it while the claim still points at that contact).
const attrPending = "pending"

// createOrder says whether a decision's items (contactItems then
// claimItems) are a lone creation: one new contact and claims for it, and
// nothing else. It returns the contact's id, or "".
func createOrder(t Target, k decisionKeys, fx effects, after merge.State, items []types.TransactWriteItem) string {
	if t.dry != nil || len(k.created) != 1 || len(k.deleted) != 0 || len(k.contacts) != 1 ||
		fx.held != nil || fx.heldDel || len(fx.messages) != 0 || len(items) < 2 {
		return ""
	}
	var id string
	for cid := range k.created {
		id = cid
	}
	if !k.contacts[id] {
		return ""
	}
	for p := range k.phones {
		if after.Phones[p] != id {
			return ""
		}
	}
	claims := len(k.phones)
	for e := range k.emails {
		if after.Emails[e] != id {
			return ""
		}
		if _, known := after.Emails[e]; known {
			claims++
		}
	}
	// contactItems wrote the contact first, then claimItems the phones
	// (sorted) and the emails (sorted): a count that differs means items
	// this path does not write (a status update, an email left as it was).
	if len(items) != 1+claims || items[0].Put == nil {
		return ""
	}
	for _, it := range items {
		if it.Put == nil {
			return ""
		}
	}
	return id
}

// commitCreate writes a lone creation (createOrder): the claims in order,
// each carrying the contact, then the contact. A claim already holding
// this contact (a reader completed it) counts as written; another failed
// condition is errStale. The contact's own condition (absent) failing
// means a reader completed it from its claims: its id is this decision's
// alone, so it is written.
func (s *Store) commitCreate(ctx context.Context, id string, items []types.TransactWriteItem) error {
	contact := items[0].Put
	payload, err := pendingAV(contact.Item)
	if err != nil {
		return err
	}
	for _, it := range items[1:] {
		p := *it.Put
		p.Item = withAttr(p.Item, attrPending, payload)
		err := s.writeItem(ctx, types.TransactWriteItem{Put: &p})
		if conditionFailed(err) {
			err = s.claimedFor(ctx, p.Item, id)
		}
		if err != nil {
			return err
		}
		if s.afterClaim != nil {
			if err := s.afterClaim(); err != nil {
				return err // a crash between the puts
			}
		}
	}
	err = s.writeItem(ctx, types.TransactWriteItem{Put: contact})
	if err == nil || conditionFailed(err) {
		return nil
	}
	return fmt.Errorf("applying decision: %w", err)
}

// claimedFor is nil when the claim at item's key holds contact id (read
// consistently) and the same pending contact as item (attrPending), else
// errStale. A contact id is its creator record's (creatorID), so two
// decisions for one record (its webhook and its page) may claim for the
// same id: the one whose claim holds another payload reads again and
// merges onto the contact the other wrote.
func (s *Store) claimedFor(ctx context.Context, item map[string]types.AttributeValue, id string) error {
	key := keyOf(avString(item["PK"]), avString(item["SK"]))
	got, err := s.batchGet(ctx, []map[string]types.AttributeValue{key}, true)
	if err != nil {
		return err
	}
	cur, ok := got[itemKey(key)]
	if !ok || avString(cur["contactId"]) != id {
		return errStale
	}
	if want, ok := item[attrPending].(*types.AttributeValueMemberB); ok {
		if have, ok := cur[attrPending].(*types.AttributeValueMemberB); !ok || !bytes.Equal(have.Value, want.Value) {
			return errStale
		}
	}
	return nil
}

// completeCreate finishes the creation a claim's payload describes (the
// contact item, contactItem-encoded), when the contact is missing: the
// email claim is put when absent (carrying the payload too), an identifier
// another contact holds is left off the contact, the status follows the
// phone's ledger, and the contact is put if still absent. It returns the
// contact item as stored.
func (s *Store) completeCreate(ctx context.Context, tenant, id string, payload []byte) (map[string]types.AttributeValue, error) {
	it, err := decodePending(payload)
	if err != nil || it.Contact.ID != id {
		return nil, err // not this claim's contact: nothing to complete
	}
	c := it.Contact
	ckey := keyOf(contactPK(tenant, id), skContact)
	keys := []map[string]types.AttributeValue{ckey}
	if c.Phone != "" {
		keys = append(keys, keyOf(phonePK(tenant, c.Phone), skPhone))
	}
	if c.EmailKey != "" {
		keys = append(keys, keyOf(emailPK(tenant, c.EmailKey), c.EmailKey))
	}
	got, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return nil, err
	}
	if item, ok := got[itemKey(ckey)]; ok {
		return item, nil
	}
	var ledger consent.Ledger
	if c.Phone != "" {
		item, ok := got[phonePK(tenant, c.Phone)+"|"+skPhone]
		var ph phoneItem
		if ok {
			if err := unmarshalMap(item, &ph); err != nil {
				return nil, err
			}
		}
		if ph.ContactID == id {
			ledger = phoneRecordFrom(ph).Ledger
		} else {
			c.Phone = "" // another contact's (the claim was never this one's)
		}
	}
	if c.EmailKey != "" {
		ekey := keyOf(emailPK(tenant, c.EmailKey), c.EmailKey)
		owner := ""
		if item, ok := got[itemKey(ekey)]; ok {
			owner = avString(item["contactId"])
		} else {
			av, err := marshalMap(emailItem{PK: emailPK(tenant, c.EmailKey), SK: c.EmailKey, ContactID: id})
			if err != nil {
				return nil, err
			}
			err = s.writeItem(ctx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table),
				Item: withAttr(av, attrPending, &types.AttributeValueMemberB{Value: payload}), ConditionExpression: aws.String(condAbsent)}})
			switch {
			case err == nil:
				owner = id
			case conditionFailed(err):
				if s.claimedFor(ctx, withAttr(av, attrPending, &types.AttributeValueMemberB{Value: payload}), id) == nil {
					owner = id
				}
			case rejected(err):
				// Refused for good (its creator's put was too): left off.
			default:
				return nil, err
			}
		}
		if owner != id {
			c.Email, c.EmailKey = merge.Field{}, "" // another contact's
		}
	}
	c.Version = it.Version
	av, err := s.contactAV(tenant, c, string(merge.Status(c, ledger)), it.Marks, it.Link)
	if err != nil {
		return nil, err
	}
	err = s.writeItem(ctx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String(condAbsent)}})
	if conditionFailed(err) {
		// Its writer or another reader put it meanwhile.
		got, err := s.batchGet(ctx, []map[string]types.AttributeValue{ckey}, true)
		if err != nil {
			return nil, err
		}
		return got[itemKey(ckey)], nil
	}
	if rejected(err) {
		// The contact can never be written (its creator's put was refused
		// too, and the record reported invalid): the claim is left as one
		// whose contact is gone.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("completing a new contact: %w", err)
	}
	return av, nil
}

// notePending remembers the payload a claim item carries for its owner
// (decoded only if the owner is missing: completeCreate).
func (l *loaded) notePending(owner string, item map[string]types.AttributeValue) {
	if p, ok := item[attrPending].(*types.AttributeValueMemberB); ok && owner != "" {
		l.pending[owner] = p.Value
	}
}

// pendingAV encodes a new contact's item for its claims: the contactItem
// as JSON, deflated (a phone item with its ledger and the contact stays
// within one KB, one write unit, for a typical contact).
func pendingAV(contact map[string]types.AttributeValue) (*types.AttributeValueMemberB, error) {
	var it contactItem
	if err := unmarshalMap(contact, &it); err != nil {
		return nil, err
	}
	// What completeCreate recomputes is left out.
	it.PK, it.SK, it.GSI1PK, it.GSI1SK, it.Status, it.Labels = "", "", "", "", "", nil
	raw, err := json.Marshal(it)
	if err != nil {
		return nil, err
	}
	z, err := deflateBytes(raw)
	if err != nil {
		return nil, err
	}
	return &types.AttributeValueMemberB{Value: z}, nil
}

// deflateBytes compresses raw (flate, best compression).
func deflateBytes(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// inflateBytes decompresses what deflateBytes made, at most limit bytes
// of it.
func inflateBytes(z []byte, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), limit))
}

// deflaters reuses deflateBytes' compressors: a flate.Writer holds about
// 1 MB of tables and window, which a new one per new contact allocated
// (and the garbage collector then marked and swept): most of what an
// install allocated per contact (issue 21's linear table).
var deflaters = sync.Pool{New: func() any {
	w, err := flate.NewWriter(io.Discard, flate.BestCompression)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return w
}}

// maxPendingBytes bounds a payload's inflated size (a contact item is at
// most 400 KB).
const maxPendingBytes = 400 << 10

func decodePending(b []byte) (contactItem, error) {
	var it contactItem
	raw, err := inflateBytes(b, maxPendingBytes)
	if err != nil {
		return it, fmt.Errorf("reading a claim's pending contact: %w", err)
	}
	if err := json.Unmarshal(raw, &it); err != nil {
		return it, fmt.Errorf("reading a claim's pending contact: %w", err)
	}
	return it, nil
}

// withAttr returns a copy of item with attribute name set to v.
func withAttr(item map[string]types.AttributeValue, name string, v types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item)+1)
	for k, x := range item {
		out[k] = x
	}
	out[name] = v
	return out
}

func avString(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
