package store

import "context"

// MonthBlocks reads the credits each usage shard holds in its block of the
// month (blocks.go), consistently.
func MonthBlocks(ctx context.Context, s *Store, tenant, month string) ([]int, error) {
	snap, err := s.readBlocks(ctx, tenant, month)
	return snap.blocks[:], err
}

// BlockExtra is what a usage shard takes beyond a text's credits when it
// takes a block under limit.
func BlockExtra(limit, credits int) int { return blockExtra(limit, credits) }
