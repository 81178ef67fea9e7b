package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DynamoDBAPI lists the DynamoDB calls the store makes.
type DynamoDBAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is the DynamoDB adapter. It is safe for concurrent use.
type Store struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
	// maxAttempts bounds retries of conflicts and throttling inside the
	// store (the SDK retryer handles transport-level retries first).
	maxAttempts int
	usage       *Usage
	// groups remembers group list entries this process wrote.
	groups sync.Map
	// beforeWrite, when set (tests only), runs between reading a record's
	// state and writing its decision, to drive interleavings.
	beforeWrite func()
	// afterWrite, when set (tests only), runs after a decision commits and
	// before its side writes; an error fails the record there (a crash).
	afterWrite func() error
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the store's clock (tests drive TTL and lock expiry with it).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithMaxAttempts bounds conflict/throttle retries (default 10).
func WithMaxAttempts(n int) Option { return func(s *Store) { s.maxAttempts = n } }

// WithUsage makes every request ask for consumed capacity and add it to u
// (benchmarks report WCU and RCU per contact from it).
func WithUsage(u *Usage) Option { return func(s *Store) { s.usage = u } }

// New returns a Store on the given table.
func New(db DynamoDBAPI, table string, opts ...Option) *Store {
	s := &Store{db: db, table: table, now: time.Now, maxAttempts: 10}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Errors callers branch on.
var (
	// ErrNotFound: the item does not exist (or expired, or belongs to
	// another tenant — the two are indistinguishable by design).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: an optimistic-lock or claim condition kept failing after
	// the bounded retries.
	ErrConflict = errors.New("store: conflict")
)

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

// retryable reports whether err is throttling or a transaction conflict,
// worth retrying with backoff.
func retryable(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if c := derefStr(r.Code); c == "TransactionConflict" || c == "ThrottlingError" || c == "ProvisionedThroughputExceeded" {
				return true
			}
		}
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException",
			"TransactionConflictException", "TransactionInProgressException", "InternalServerError":
			return true
		}
	}
	return false
}

// withRetry runs op until it succeeds, fails with a non-retryable error, or
// runs out of attempts; it sleeps with full jitter between attempts.
func (s *Store) withRetry(ctx context.Context, name string, op func() error) error {
	var err error
	for attempt := 1; attempt <= s.maxAttempts; attempt++ {
		if err = op(); err == nil || !retryable(err) {
			return err
		}
		if attempt == s.maxAttempts {
			break
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return werr
		}
	}
	return &RetryError{Op: name, Attempts: s.maxAttempts, Err: err}
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

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
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
		codes[i] = derefStr(r.Code)
	}
	return codes
}
