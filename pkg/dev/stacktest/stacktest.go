// Package stacktest gives integration tests their own table and queues on a
// running AWS-compatible stack, and fails (never skips) when there is none.
//
// Where the stack comes from:
//   - AWS_ENDPOINT_URL (LocalStack) or AWS_ENDPOINT_URL_DYNAMODB /
//     AWS_ENDPOINT_URL_SQS set: that stack is used as it is.
//   - Otherwise the embedded stack on its default ports is used, and started
//     (installing it under .local/ first) when it is not running. It is left
//     running for the next test run; `make stack-down` stops it.
//
// Each New call creates a table and queues with unique names and deletes them
// when the test ends, so tests can run with t.Parallel().
package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/dev/embedded"
	"github.com/contactsync/contactsync/pkg/dev/provision"
	"github.com/contactsync/contactsync/pkg/resources"
)

// Stack is one test's view of the stack: clients and its own resources.
type Stack struct {
	Config   aws.Config
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	// Table is this test's table, created from resources.MainTable.
	Table string
	// PagesQueueURL, OutboxQueueURL and their DLQ URLs are this test's queues.
	PagesQueueURL, PagesDLQURL   string
	OutboxQueueURL, OutboxDLQURL string
}

// Option changes what New creates.
type Option func(*options)

type options struct {
	visibility time.Duration
	maxReceive int
}

// WithVisibilityTimeout sets the work queues' visibility timeout (tests of
// redelivery want seconds, not the production minutes).
func WithVisibilityTimeout(d time.Duration) Option { return func(o *options) { o.visibility = d } }

// WithMaxReceiveCount sets the work queues' maxReceiveCount.
func WithMaxReceiveCount(n int) Option { return func(o *options) { o.maxReceive = n } }

// started records, once per test process, whether the embedded stack had
// to be found or started: that is expensive and shared by every test of the
// package.
var started struct {
	once sync.Once
	err  error
}

// New returns a Stack with a fresh table and fresh queues. It fails the test
// when no stack can be reached or started.
func New(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	o := options{}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cfg, err := Config(ctx)
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	s := &Stack{
		Config:   cfg,
		DynamoDB: awsenv.NewDynamoDB(cfg),
		SQS:      awsenv.NewSQS(cfg),
	}
	base := uniqueName(t.Name())
	s.Table = base
	if err := provision.Table(ctx, s.DynamoDB, resources.MainTable(s.Table)); err != nil {
		t.Fatalf("stacktest: cannot create a table on the stack (is the emulator reachable?): %v", err)
	}
	t.Cleanup(func() { s.deleteTable(t) })

	queues := resources.Queues(base+"-pages", base+"-outbox")
	for i := range queues {
		if o.visibility > 0 {
			queues[i].VisibilityTimeout = o.visibility
		}
		if o.maxReceive > 0 {
			queues[i].MaxReceiveCount = o.maxReceive
		}
	}
	urls, err := provision.Queues(ctx, s.SQS, queues)
	if err != nil {
		t.Fatalf("stacktest: cannot create queues on the stack: %v", err)
	}
	t.Cleanup(func() { s.deleteQueues(t, urls) })
	s.PagesQueueURL, s.PagesDLQURL = urls[base+"-pages"], urls[base+"-pages"+resources.DLQSuffix]
	s.OutboxQueueURL, s.OutboxDLQURL = urls[base+"-outbox"], urls[base+"-outbox"+resources.DLQSuffix]
	return s
}

// Config returns an aws.Config aimed at the test stack through the same
// resolution production uses (sharedconfig.Load). When the environment names no
// endpoint, it starts the embedded stack if needed and sets
// AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS for this test process
// (once, before any client exists), so code under test and the processes
// it starts find the stack exactly as they would in `make run`.
func Config(ctx context.Context) (aws.Config, error) {
	started.once.Do(func() {
		if awsenv.LocalEndpoint(os.Getenv) {
			return
		}
		started.err = startEmbedded(ctx)
	})
	if started.err != nil {
		return aws.Config{}, started.err
	}
	return sharedconfig.Load(ctx)
}

func startEmbedded(ctx context.Context) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := embedded.FindRoot(wd)
	if err != nil {
		return fmt.Errorf("no AWS_ENDPOINT_URL* set and %w", err)
	}
	c, err := embedded.ConfigFromEnv(root, os.Getenv)
	if err != nil {
		return err
	}
	if _, err := embedded.Up(ctx, c, os.Stderr); err != nil {
		return fmt.Errorf("no AWS_ENDPOINT_URL* set and the embedded stack could not start: %w", err)
	}
	if err := os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", c.DynamoDBEndpoint()); err != nil {
		return err
	}
	return os.Setenv("AWS_ENDPOINT_URL_SQS", c.SQSEndpoint())
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// uniqueName builds a name valid for both a table and a queue (queue names:
// at most 80 of [A-Za-z0-9_-]; the longest suffix added is "-outbox-dlq").
func uniqueName(testName string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	n := strings.Trim(unsafeChars.ReplaceAllString(testName, "-"), "-")
	if len(n) > 48 {
		n = n[:48]
	}
	return "t-" + n + "-" + hex.EncodeToString(b)
}

func (s *Stack) deleteTable(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(s.Table)}); err != nil {
		t.Errorf("stacktest: deleting table %s: %v", s.Table, err)
	}
}

func (s *Stack) deleteQueues(t testing.TB, urls provision.QueueURLs) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, u := range urls {
		if _, err := s.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil && !queueGone(err) {
			t.Errorf("stacktest: deleting queue %s: %v", u, err)
		}
	}
}

// queueGone reports whether SQS answered that the queue does not exist.
// Deleting is done then. (Seen once in a CI run, at a test's cleanup:
// the probable cause is the SDK retrying a DeleteQueue whose answer did
// not arrive, whose retry finds the queue the first attempt deleted.)
func queueGone(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	c := api.ErrorCode()
	return c == "QueueDoesNotExist" || c == "AWS.SimpleQueueService.NonExistentQueue"
}
