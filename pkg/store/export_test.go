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
// uncapped credits and folding them into the month's committed credits;
// it is given the shard.
func SetBeforeFold(s *Store, f func(shard int)) { s.beforeFold = f }

// UsageShard is the usage shard a message reference is counted on.
func UsageShard(ref string) int { return usageShard(ref) }

// MonthCommitted reads the month's committed credits (the credit cap's
// central item), consistently.
func MonthCommitted(ctx context.Context, s *Store, tenant, month string) (int, error) {
	got, err := s.batchGet(ctx, []map[string]types.AttributeValue{usageCentralKey(tenant, month)}, true)
	if err != nil {
		return 0, err
	}
	return numAttr(got[tenantPK(tenant)+"|"+usageSK(month)], "committed")
}

// BucketSize is how many new contacts of a page share a membership bundle.
const BucketSize = bucketSize

// CreatorID is the id of the contact source record (conn, ext) creates.
func CreatorID(tenant, conn, ext string) string { return creatorID(tenant, conn, ext) }

// GroupBundleKey is the key of group's member bundle of bucket.
func GroupBundleKey(tenant, group, bucket string) (pk, sk string) {
	return groupPK(tenant, group, bucket), membersSK + bucket
}
