package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// WriteBack is a source record whose platform should learn of an opt-out.
type WriteBack struct {
	ConnectionID string
	ExternalID   string
}

// WriteBackTargets returns the source records of the contact holding the
// number whose connection has write-back of opt-outs on.
func (s *Store) WriteBackTargets(ctx context.Context, tenant, e164 string) ([]WriteBack, error) {
	p, ok, err := s.GetPhone(ctx, tenant, e164)
	if err != nil || !ok || p.ContactID == "" {
		return nil, err
	}
	cv, err := s.GetContact(ctx, tenant, p.ContactID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []WriteBack
	enabled := map[string]bool{}
	for _, l := range cv.Sources {
		on, seen := enabled[l.ConnectionID]
		if !seen {
			conn, err := s.GetConnection(ctx, tenant, l.ConnectionID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			on = err == nil && conn.WriteBackOptOuts
			enabled[l.ConnectionID] = on
		}
		if on && !l.Guest {
			out = append(out, WriteBack{ConnectionID: l.ConnectionID, ExternalID: l.ExternalID})
		}
	}
	return out, nil
}

// staleHash is the applied hash of a link whose write-back did not happen:
// it matches no record, so the record's next sync or webhook applies it
// again (reading its number's ledger) instead of ending at its link.
const staleHash = "writeback-due"

// StaleLink makes a source record's next apply look at its number again:
// called when an opt-out could not be written back to it (a failed
// write-back), so each sync of the connection tries again and reports it
// rather than the record staying unchanged. A link that does not exist is
// left alone.
func (s *Store) StaleLink(ctx context.Context, tenant, conn, externalID string) error {
	// A link folded into the contact the record created first (only the
	// creator's link is ever folded there, and only while it is a source);
	// the version moves, so a writer that read the contact before puts it
	// again with this hash.
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(contactPK(tenant, creatorID(tenant, conn, externalID)), skContact),
		UpdateExpression:          aws.String("SET lnk.h = :h ADD version :one"),
		ConditionExpression:       aws.String("attribute_exists(lnk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberB{Value: staleFold}, ":one": numAV(1)},
	})
	if !conditionFailed(err) {
		return written(err, nil, "marking a folded link for write-back")
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(linkPK(tenant, conn, externalID), skLink),
		UpdateExpression:          aws.String("SET appliedHash = :h"),
		ConditionExpression:       aws.String(condExists),
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: staleHash}},
	})
	return written(err, nil, "marking link for write-back")
}

// NoteWriteBackUnsupported counts, once per run, that the run's connector
// cannot write opt-outs back (Counts.WriteBackUnsupported): the first call
// counts it, later ones (other pages, retries) change nothing.
func (s *Store) NoteWriteBackUnsupported(ctx context.Context, tenant, runID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), runSK(runID)),
		UpdateExpression:         aws.String("SET writeBackUnsupportedNoted = :t ADD #c.writeBackUnsupported :one"),
		ConditionExpression:      aws.String("#s = :running AND attribute_not_exists(writeBackUnsupportedNoted)"),
		ExpressionAttributeNames: map[string]string{"#c": "counts", "#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberBOOL{Value: true}, ":one": numAV(1),
			":running": &types.AttributeValueMemberS{Value: RunRunning},
		},
	})
	// A failed condition: counted before, or the run is over.
	return written(err, nil, "counting write-back unsupported")
}

// Report outcomes of write-backs (rows next to the record's own row).
const (
	OutcomeWrittenBack     = "written_back"
	OutcomeWriteBackFailed = "write_back_failed"
)

// WriteBackRow is the report row of an opt-out written back to a record
// (OutcomeWrittenBack) or not (OutcomeWriteBackFailed, with the reason):
// the number is masked as in conflict rows, and so is any number or email
// inside the platform's reason.
func WriteBackRow(rec source.Record, contactID, e164, outcome, reason string) ReportRow {
	row := NewReportRow(rec, merge.Decision{Outcome: merge.Outcome(outcome), ContactID: contactID}, merge.Identity{})
	row.Identifier = maskIdentifier(e164)
	row.Reason = clip(logging.MaskText(reason), source.MaxReportReasonRunes)
	return row
}
