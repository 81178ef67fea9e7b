package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
	in   *dynamodb.QueryInput
	buf  []map[string]types.AttributeValue
	done bool
}

// readShard fills the stream's buffer if it is empty and its query has more.
// A chunk whose items the query's filter left out reads on.
func (s *Store) readShard(ctx context.Context, st *shardStream, chunk int) error {
	for len(st.buf) == 0 && !st.done {
		st.in.Limit = aws.Int32(int32(chunk))
		out, err := s.db.Query(ctx, st.in)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		s.trackOne(false, out.ConsumedCapacity)
		st.buf = out.Items
		st.in.ExclusiveStartKey = out.LastEvaluatedKey
		st.done = out.LastEvaluatedKey == nil
	}
	return nil
}

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
		streams[i] = &shardStream{in: in}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.readShard(ctx, streams[i], chunk)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, false, err
	}
	for {
		best, bestKey := -1, ""
		for i, st := range streams {
			if err := s.readShard(ctx, st, chunk); err != nil {
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
