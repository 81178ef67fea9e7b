package store

import (
	"context"
	"fmt"
)

// MonthBlocks reads the credits each usage shard holds in its block of the
// month (blocks.go), consistently.
func MonthBlocks(ctx context.Context, s *Store, tenant, month string) ([]int, error) {
	snap, err := s.readBlocks(ctx, tenant, month)
	return snap.blocks[:], err
}

// BlockExtra is what a usage shard takes beyond a text's credits when it
// takes a block under limit.
func BlockExtra(limit, credits int) int { return blockExtra(limit, credits) }

// MonthStamps reads each usage shard's block of the month and returns its
// spent stamp (blocks.go) as "free/cap", or "" where there is none.
func MonthStamps(ctx context.Context, s *Store, tenant, month string) ([]string, error) {
	out := make([]string, usageShards)
	for k := range usageShards {
		st, err := s.readStamp(ctx, tenant, k, month)
		if err != nil {
			return nil, err
		}
		if st.Free != nil {
			out[k] = fmt.Sprintf("%d/%d", *st.Free, st.Cap)
		}
	}
	return out, nil
}

// SetBeforeStamp installs a hook that runs between the read that holds a
// text and the spent stamp it writes.
func SetBeforeStamp(s *Store, f func()) { s.beforeStamp = f }
