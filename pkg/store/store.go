package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
	TransactGetItems(context.Context, *dynamodb.TransactGetItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
}

// Store is the DynamoDB adapter. It is safe for concurrent use.
type Store struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
	// maxAttempts bounds the rounds of an optimistic writer that re-reads
	// (rereadPause) and of a batch's unprocessed items; the SDK's retryer
	// retries the calls themselves (ddb.go).
	maxAttempts int
	usage       *Usage
	// groups remembers group list entries this process wrote.
	groups sync.Map
	// spent remembers the months whose credit cap this process saw spent
	// (blocks.go).
	spent spentMonths
	// beforeWrite, when set (tests only), runs between reading a record's
	// state and writing its decision, to drive interleavings.
	beforeWrite func()
	// afterWrite, when set (tests only), runs after a decision commits and
	// before its side writes; an error fails the record there (a crash).
	afterWrite func() error
	// afterClaim, when set (tests only), runs after each claim put of a
	// new contact's ordered writes (apply_claims.go); an error fails the
	// record there (a crash between the puts).
	afterClaim func() error
	// beforeFold, when set (tests only), runs between reading a usage
	// shard's free credits and folding them into the cap's committed
	// credits (usage_shards.go).
	beforeFold func(shard int)
	// beforeStamp, when set (tests only), runs between the read that holds
	// a text and the stamp it writes (blocks.go).
	beforeStamp func()
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the store's clock (tests drive TTL and lock expiry with it).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithMaxAttempts bounds re-read rounds on conflicts (default 10).
func WithMaxAttempts(n int) Option { return func(s *Store) { s.maxAttempts = n } }

// WithUsage makes every request ask for consumed capacity and add it to u
// (benchmarks report WCU and RCU per contact from it).
func WithUsage(u *Usage) Option { return func(s *Store) { s.usage = u } }

// New returns a Store on the given table.
func New(db DynamoDBAPI, table string, opts ...Option) *Store {
	s := &Store{db: retrying{db}, table: table, now: time.Now, maxAttempts: 10}
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
