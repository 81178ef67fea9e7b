package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// SetBeforeWrite installs a hook that runs between reading a record's state
// and writing its decision (tests drive interleavings with it).
func SetBeforeWrite(s *Store, f func()) { s.beforeWrite = f }

// SetAfterWrite installs a hook that runs after a decision's transaction
// commits and before its side writes are queued; an error it returns fails
// the record there, as a crash would.
func SetAfterWrite(s *Store, f func() error) { s.afterWrite = f }

// SetAfterClaim installs a hook that runs after each claim put of a new
// contact's ordered writes; an error it returns fails the record there, as
// a crash between the puts would.
func SetAfterClaim(s *Store, f func() error) { s.afterClaim = f }

// EmailOwner reads an email claim's owner, consistently ("" when none).
func EmailOwner(ctx context.Context, s *Store, tenant, emailKey string) (string, error) {
	got, err := s.batchGet(ctx, []map[string]types.AttributeValue{keyOf(emailPK(tenant, emailKey), emailKey)}, true)
	if err != nil {
		return "", err
	}
	return avString(got[emailPK(tenant, emailKey)+"|"+emailKey]["contactId"]), nil
}

// SetBeforeFold installs a hook that runs between reading a usage shard's
// free credits and folding them into the month's committed credits.
func SetBeforeFold(s *Store, f func()) { s.beforeFold = f }
