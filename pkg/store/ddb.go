package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/contactsync/contactsync/pkg/resources"
)

func marshalMap(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, fmt.Errorf("encoding item: %w", err)
	}
	return m, nil
}

func unmarshalMap(m map[string]types.AttributeValue, v any) error {
	if err := attributevalue.UnmarshalMap(m, v); err != nil {
		return fmt.Errorf("decoding item: %w", err)
	}
	return nil
}

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk},
		"SK": &types.AttributeValueMemberS{Value: sk},
	}
}

func numAV(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// itemKey identifies an item by its primary key: "PK|SK".
func itemKey(item map[string]types.AttributeValue) string {
	pk, _ := item["PK"].(*types.AttributeValueMemberS)
	sk, _ := item["SK"].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "|" + sk.Value
}

// getItem reads one item into v: ErrNotFound when there is none.
func (s *Store) getItem(ctx context.Context, what string, consistent bool, pk, sk string, v any) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(pk, sk), ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	if out.Item == nil {
		return ErrNotFound
	}
	return unmarshalMap(out.Item, v)
}

// listPage reads the page of listing l that follows cursor with the query
// in: items decoded as I, returned as keep makes them, until limit items
// passed its filter or the partition ends. It reads one item more than it
// returns, so the cursor is "" exactly when there is no next page.
func listPage[I, T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, l listing, cursor string, limit int, keep func(I) T) ([]T, string, error) {
	start, _, err := decodeCursor(cursor, l)
	if err != nil {
		return nil, "", err
	}
	in.ExclusiveStartKey = start
	keyNames := []string{"PK", "SK"}
	if in.IndexName != nil {
		idx := *in.IndexName
		keyNames = append(keyNames, idx+"PK", idx+"SK")
	}
	var items []map[string]types.AttributeValue
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("query: %w", err)
		}
		s.trackOne(false, out.ConsumedCapacity)
		items = append(items, out.Items...)
		if len(items) > limit || out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		key := map[string]types.AttributeValue{}
		for _, k := range keyNames {
			if v, ok := last[k]; ok {
				key[k] = v
			}
		}
		next = encodeCursor(key, 0)
	}
	out := make([]T, 0, len(items))
	for _, item := range items {
		var it I
		if err := unmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		out = append(out, keep(it))
	}
	return out, next, nil
}

// prefixQuery queries the items of partition pk whose sort key begins
// with prefix.
func (s *Store) prefixQuery(pk, prefix string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String(keyPrefix),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":p": &types.AttributeValueMemberS{Value: prefix},
		},
	}
}

// dueQuery queries the entries of shard pk of a sparse GSI2 index that are
// due by upper.
func (s *Store) dueQuery(pk, upper string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(resources.GSI2),
		KeyConditionExpression: aws.String(keyDue),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":up": &types.AttributeValueMemberS{Value: upper},
		},
	}
}

// queryAll runs a query to its end, calling page with each response.
func (s *Store) queryAll(ctx context.Context, what string, in *dynamodb.QueryInput, page func(*dynamodb.QueryOutput) error) error {
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := page(out); err != nil {
			return err
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (s *Store) put(ctx context.Context, item map[string]types.AttributeValue) error {
	s.estimate(true, writeUnits(item, false))
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item, ReturnConsumedCapacity: s.capacityMode()})
	if out != nil {
		s.trackOne(true, out.ConsumedCapacity)
	}
	return err
}

// writeItem performs one conditional put or delete on its own (one item
// needs no transaction, which would cost twice the units).
func (s *Store) writeItem(ctx context.Context, it types.TransactWriteItem) error {
	if p := it.Put; p != nil {
		s.estimate(true, writeUnits(p.Item, false))
		out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression,
			ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues, ReturnConsumedCapacity: s.capacityMode()})
		if out != nil {
			s.trackOne(true, out.ConsumedCapacity)
		}
		return err
	}
	if d := it.Delete; d != nil {
		s.estimate(true, 1)
		out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: d.TableName, Key: d.Key, ConditionExpression: d.ConditionExpression,
			ExpressionAttributeNames: d.ExpressionAttributeNames, ExpressionAttributeValues: d.ExpressionAttributeValues, ReturnConsumedCapacity: s.capacityMode()})
		if out != nil {
			s.trackOne(true, out.ConsumedCapacity)
		}
		return err
	}
	if u := it.Update; u != nil {
		s.estimate(true, 2) // a contact's folded link: the item and its index entry
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
			ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames,
			ExpressionAttributeValues: u.ExpressionAttributeValues, ReturnConsumedCapacity: s.capacityMode()})
		if out != nil {
			s.trackOne(true, out.ConsumedCapacity)
		}
		return err
	}
	return errors.New("store: unsupported single write")
}

func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	for _, it := range items {
		switch {
		case it.Put != nil:
			s.estimate(true, writeUnits(it.Put.Item, true))
		case it.Update != nil, it.Delete != nil:
			s.estimate(true, 2)
		}
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ReturnConsumedCapacity: s.capacityMode()})
	if out != nil {
		s.track(true, out.ConsumedCapacity...)
	}
	return err
}

// putItems marshals items and puts them with batchWrite; what names them
// in the error.
func (s *Store) putItems(ctx context.Context, what string, items []any) error {
	writes := make([]types.WriteRequest, 0, len(items))
	for _, it := range items {
		av, err := marshalMap(it)
		if err != nil {
			return err
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	}
	if err := s.batchWrite(ctx, writes); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// batchWrite writes up to 25 requests per call. The SDK retries a failed
// call; the unprocessed items of a successful one are sent again here.
func (s *Store) batchWrite(ctx context.Context, writes []types.WriteRequest) error {
	writes = dedupWrites(writes)
	for _, w := range writes {
		if w.PutRequest != nil {
			s.estimate(true, writeUnits(w.PutRequest.Item, false))
		} else {
			s.estimate(true, 1)
		}
	}
	for start := 0; start < len(writes); start += 25 {
		req := map[string][]types.WriteRequest{s.table: writes[start:min(start+25, len(writes))]}
		for attempt := 0; len(req) > 0; attempt++ {
			if err := s.unprocessedPause(ctx, "batch write", attempt, len(req[s.table])); err != nil {
				return err
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req, ReturnConsumedCapacity: s.capacityMode()})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			s.track(true, out.ConsumedCapacity...)
			req = out.UnprocessedItems
		}
	}
	return nil
}

// dedupWrites keeps the last write of each key: one BatchWriteItem request
// must not name a key twice.
func dedupWrites(writes []types.WriteRequest) []types.WriteRequest {
	index := map[string]int{}
	out := writes[:0:0]
	for _, w := range writes {
		var k string
		if w.PutRequest != nil {
			k = itemKey(w.PutRequest.Item)
		} else if w.DeleteRequest != nil {
			k = itemKey(w.DeleteRequest.Key)
		}
		if i, ok := index[k]; ok && k != "" {
			out[i] = w
			continue
		}
		index[k] = len(out)
		out = append(out, w)
	}
	return out
}

// batchGet reads items by key (≤ 100 per request) and returns them by
// itemKey. The SDK retries a failed call; the unprocessed keys of a
// successful one are asked for again here.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) (map[string]map[string]types.AttributeValue, error) {
	out := make(map[string]map[string]types.AttributeValue, len(keys))
	seen := map[string]bool{}
	var pending []map[string]types.AttributeValue
	for _, k := range keys {
		if id := itemKey(k); !seen[id] {
			seen[id] = true
			pending = append(pending, k)
		}
	}
	perKey := 0.5
	if consistent {
		perKey = 1
	}
	s.estimate(false, perKey*float64(len(pending)))
	for len(pending) > 0 {
		n := min(len(pending), 100)
		req := map[string]types.KeysAndAttributes{s.table: {Keys: pending[:n], ConsistentRead: aws.Bool(consistent)}}
		pending = pending[n:]
		for attempt := 0; len(req) > 0; attempt++ {
			if err := s.unprocessedPause(ctx, "batch get", attempt, len(req[s.table].Keys)); err != nil {
				return nil, err
			}
			resp, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: s.capacityMode()})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			s.track(false, resp.ConsumedCapacity...)
			for _, item := range resp.Responses[s.table] {
				out[itemKey(item)] = item
			}
			req = resp.UnprocessedKeys
		}
	}
	return out, nil
}

// unprocessedPause comes before a batch's attempt: none before the first,
// a jittered pause before sending unprocessed items again (DynamoDB
// returns them under load), and a RetryError after 3*maxAttempts rounds.
func (s *Store) unprocessedPause(ctx context.Context, op string, attempt, left int) error {
	if attempt > 3*s.maxAttempts {
		return &RetryError{Op: op, Attempts: attempt, Err: fmt.Errorf("%d items unprocessed", left)}
	}
	if attempt == 0 {
		return nil
	}
	return sleep(ctx, backoff(min(attempt, 6)))
}

// retrying is the store's client: its writes (and transactional reads)
// carry conflictRetry.
type retrying struct{ DynamoDBAPI }

func (r retrying) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return r.DynamoDBAPI.PutItem(ctx, in, append(o, conflictRetry)...)
}
func (r retrying) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return r.DynamoDBAPI.UpdateItem(ctx, in, append(o, conflictRetry)...)
}
func (r retrying) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return r.DynamoDBAPI.DeleteItem(ctx, in, append(o, conflictRetry)...)
}
func (r retrying) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return r.DynamoDBAPI.BatchWriteItem(ctx, in, append(o, conflictRetry)...)
}
func (r retrying) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return r.DynamoDBAPI.TransactWriteItems(ctx, in, append(o, conflictRetry)...)
}
func (r retrying) TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error) {
	return r.DynamoDBAPI.TransactGetItems(ctx, in, append(o, conflictRetry)...)
}

// conflictRetry extends a call's retryer to transaction conflicts.
func conflictRetry(o *dynamodb.Options) {
	if r, ok := o.Retryer.(aws.RetryerV2); ok {
		o.Retryer = conflictRetryer{r}
	}
}

// conflictRetryer retries what conflicted also: a write that met a
// transaction on its item, a transaction cancelled for a conflict or
// throttling of one of its items. Those retries wait the store's short
// jittered backoff (a conflict clears in milliseconds) and draw nothing
// from the client's retry quota (the service did not fail).
type conflictRetryer struct{ aws.RetryerV2 }

func (r conflictRetryer) IsErrorRetryable(err error) bool {
	return conflicted(err) || r.RetryerV2.IsErrorRetryable(err)
}

func (r conflictRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if conflicted(err) {
		return backoff(attempt), nil
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

func (r conflictRetryer) GetRetryToken(ctx context.Context, err error) (func(error) error, error) {
	if conflicted(err) {
		return func(error) error { return nil }, nil
	}
	return r.RetryerV2.GetRetryToken(ctx, err)
}

// conflicted reports whether err is a transaction conflict, or a
// transaction cancelled for a conflict or throttling of an item.
func conflicted(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if c := aws.ToString(r.Code); c == "TransactionConflict" || c == "ThrottlingError" || c == "ProvisionedThroughputExceeded" {
				return true
			}
		}
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "TransactionConflictException"
}

// rereadPause is the pause of an optimistic writer whose conditions failed
// before it reads and decides again: jittered and growing, and ErrConflict
// once it has tried s.maxAttempts times.
func (s *Store) rereadPause(ctx context.Context, attempt int) error {
	if attempt >= s.maxAttempts {
		return fmt.Errorf("%w after %d attempts", ErrConflict, attempt)
	}
	return sleep(ctx, backoff(attempt))
}

func backoff(attempt int) time.Duration {
	ceiling := min(10*time.Millisecond<<attempt, time.Second)
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryError is returned when throttling or transaction conflicts persisted
// through every attempt.
type RetryError struct {
	Op       string
	Attempts int
	Err      error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("store: %s gave up after %d attempts: %v", e.Op, e.Attempts, e.Err)
}
func (e *RetryError) Unwrap() error { return e.Err }

// written maps the error of a single write: a failed condition becomes
// onCondition (ErrNotFound, or nil where the write may find nothing to
// do), another error is wrapped with what.
func written(err, onCondition error, what string) error {
	if conditionFailed(err) {
		return onCondition
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// conditionFailed reports whether err is a failed condition of a single-item
// write.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// cancelReasons returns the per-item cancellation codes of a failed
// transaction, or nil.
func cancelReasons(err error) []string {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	codes := make([]string, len(tc.CancellationReasons))
	for i, r := range tc.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes
}

// cancelItem is the item at index i of a cancelled transaction as its
// failed condition found it (ReturnValuesOnConditionCheckFailure), or nil.
func cancelItem(err error, i int) map[string]types.AttributeValue {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || i >= len(tc.CancellationReasons) {
		return nil
	}
	return tc.CancellationReasons[i].Item
}

// rejected reports whether DynamoDB refused a write for good: a
// ValidationException (an item over 400 KB, a key over its limit, a value
// it cannot store), or a transaction cancelled for a ValidationError. No
// retry or re-read can make such a write succeed.
func rejected(err error) bool {
	if err == nil {
		return false
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ValidationError" {
				return true
			}
		}
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException"
}
