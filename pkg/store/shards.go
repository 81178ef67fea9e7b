package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A listing of a sharded partition (the name index, a group's members)
// merges one query a shard. Each shard's query returns its items in the
// order of one string attribute whose values are unique across the shards
// (the name key ends with the contact id; a membership's SK is the id), so
// the merge is a total order, and resuming every shard after the last key
// returned continues it with no item twice and none missed.

// shardStream is one shard's query of a merged listing, read a chunk at a
// time.
type shardStream struct {
	in    *dynamodb.QueryInput
	buf   []map[string]types.AttributeValue
	done  bool
	chunk int // items a read evaluates; grows while a filter leaves most out
}

// readShard fills the stream's buffer if it is empty and its query has more.
// A chunk whose items the query's filter left out reads on, with chunks
// four times larger (up to maxShardChunk) while the filter keeps fewer than
// half, so a selective filter (an email prefix) costs few requests.
func (s *Store) readShard(ctx context.Context, st *shardStream) error {
	for len(st.buf) == 0 && !st.done {
		st.in.Limit = aws.Int32(int32(st.chunk))
		out, err := s.db.Query(ctx, st.in)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		s.trackOne(false, out.ConsumedCapacity)
		st.buf = out.Items
		st.in.ExclusiveStartKey = out.LastEvaluatedKey
		st.done = out.LastEvaluatedKey == nil
		if !st.done && len(out.Items) < st.chunk/2 {
			st.chunk = min(4*st.chunk, maxShardChunk)
		}
	}
	return nil
}

// maxShardChunk bounds the items one read of a shard evaluates.
const maxShardChunk = 1000

// queryMerged reads the shard queries ins as one listing ordered by the
// string attribute orderBy (ascending, unique across the shards): its
// first limit items, and whether any follows. Each shard is read in chunks
// of about twice its share of a page (the first chunks concurrently), so a
// page reads about limit items over all shards plus one chunk a shard.
func (s *Store) queryMerged(ctx context.Context, ins []*dynamodb.QueryInput, orderBy string, limit int) (items []map[string]types.AttributeValue, more bool, err error) {
	limit = max(limit, 1)
	chunk := min(limit+1, max(10, 2*limit/len(ins)+1))
	streams := make([]*shardStream, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		streams[i] = &shardStream{in: in, chunk: chunk}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.readShard(ctx, streams[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, false, err
	}
	for {
		best, bestKey := -1, ""
		for i, st := range streams {
			if err := s.readShard(ctx, st); err != nil {
				return nil, false, err
			}
			if len(st.buf) == 0 {
				continue
			}
			if k := attrS(st.buf[0], orderBy); best < 0 || k < bestKey {
				best, bestKey = i, k
			}
		}
		if best < 0 {
			return items, false, nil
		}
		if len(items) == limit {
			return items, true, nil
		}
		items = append(items, streams[best].buf[0])
		streams[best].buf = streams[best].buf[1:]
	}
}

// shardStart is a merged listing's resume key for one shard: the cursor's
// key with the shard's partition in place of the base the cursor carries.
func shardStart(start map[string]types.AttributeValue, pkAttr, shardPK string) map[string]types.AttributeValue {
	if start == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(start))
	for k, v := range start {
		out[k] = v
	}
	out[pkAttr] = &types.AttributeValueMemberS{Value: shardPK}
	return out
}

// mergedCursor is the cursor after a merged listing's last item: its key
// attributes, with the listing's base in place of the shard's partition.
func mergedCursor(last map[string]types.AttributeValue, keyAttrs []string, pkAttr, base string) string {
	key := map[string]types.AttributeValue{}
	for _, k := range keyAttrs {
		if v, ok := last[k]; ok {
			key[k] = v
		}
	}
	key[pkAttr] = &types.AttributeValueMemberS{Value: base}
	return encodeCursor(key, 0)
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// sweepTurn turns the shard a sweep of a sharded index starts at, so no
// shard is always read first.
var sweepTurn atomic.Uint32

// sweepShards reads the entries of a sharded sweep index (GSI2, keyDue:
// due by upper) fairly and boundedly: round after round, every shard that
// may hold more gives at most a chunk (limit spread evenly over the
// shards, at least one), the first round starting at a shard that turns
// with each sweep, until each has counted limit entries or no shard has
// more. A backlog on one shard therefore takes its share of a sweep, not
// all of it, and a round reads at most chunk items a shard. each is
// called in turn and says whether its entry counts (a sweep may pass over
// one that changed meanwhile).
func (s *Store) sweepShards(ctx context.Context, what string, pks []string, upper string, limit int, each func(map[string]types.AttributeValue) (bool, error)) (int, error) {
	chunk := max(1, (limit+len(pks)-1)/len(pks))
	starts := make([]map[string]types.AttributeValue, len(pks))
	done := make([]bool, len(pks))
	first := int(sweepTurn.Add(1)) % len(pks)
	n := 0
	for left := len(pks); left > 0; {
		for j := range pks {
			i := (first + j) % len(pks)
			if done[i] {
				continue
			}
			in := s.dueQuery(pks[i], upper)
			in.ExclusiveStartKey, in.Limit = starts[i], aws.Int32(int32(chunk))
			out, err := s.db.Query(ctx, in)
			if err != nil {
				return n, fmt.Errorf("%s: %w", what, err)
			}
			for _, item := range out.Items {
				took, err := each(item)
				if err != nil {
					return n, err
				}
				if !took {
					continue
				}
				if n++; n >= limit {
					return n, nil
				}
			}
			if starts[i] = out.LastEvaluatedKey; starts[i] == nil {
				done[i] = true
				left--
			}
		}
	}
	return n, nil
}
