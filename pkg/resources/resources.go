package resources

import "time"

// AttrType is a DynamoDB scalar attribute type used in a key.
type AttrType string

// Key attribute types.
const (
	String AttrType = "S"
	Number AttrType = "N"
)

// KeyAttr is one key attribute of a table or index.
type KeyAttr struct {
	Name string
	Type AttrType
}

// Index is a global secondary index. Projection is always ALL: every access
// pattern served by an index reads whole items.
type Index struct {
	Name         string
	PartitionKey KeyAttr
	SortKey      KeyAttr
}

// Table describes the DynamoDB table.
type Table struct {
	Name         string
	PartitionKey KeyAttr
	SortKey      KeyAttr
	GSIs         []Index
	// TTLAttribute holds epoch seconds after which DynamoDB may delete the
	// item (lazily: reads must filter expired items themselves).
	TTLAttribute string
}

// Queue describes an SQS queue. A queue with a DeadLetter gets a redrive
// policy sending a message there after MaxReceiveCount receives.
type Queue struct {
	Name              string
	VisibilityTimeout time.Duration
	RetentionPeriod   time.Duration
	DeadLetter        *Queue
	MaxReceiveCount   int
}

// Function describes a Lambda function: its runtime limits, what it reads
// at start-up and may touch (the CDK app derives its environment and IAM
// grants from these, pkg/compose loads exactly these, and infra's tests
// compare the template with them), and the SQS event source feeding it.
type Function struct {
	Name       string // folder under functions/
	Timeout    time.Duration
	MemoryMB   int
	SQSTrigger string // logical queue name feeding it, "" for none
	// EventSource is the SQS event source mapping's settings when
	// SQSTrigger is set (the sandbox's pollers use the same).
	EventSource EventSource

	Table bool     // reads and writes the table (CONTACTSYNC_TABLE)
	Sends []string // queues it sends to: QueuePages, QueueOutbox, QueuePagesDLQ (their *_URL variables)
	// Consumes lists the queues it receives from and deletes in itself,
	// not as an event source (the scheduler drains the pages DLQ); each
	// must also be in Sends (its URL variable).
	Consumes   []string
	SealKey    bool // the pkg/seal key (a Secrets Manager secret, read at cold start)
	AdminToken bool // HUB_ADMIN_TOKEN (a Secrets Manager secret, read at cold start)
	PublicURL  bool // PUBLIC_BASE_URL (webhook URLs, signed URLs)
	// OAuthApps are the platforms whose OAuth app it reads (OAuthShopify,
	// OAuthMailchimp, OAuthKlaviyo): its client id as a plain setting and
	// its client secret from Secrets Manager at cold start (their
	// CONTACTSYNC_OAUTH_<PLATFORM>_CLIENT_ID and _CLIENT_SECRET_ARN). The
	// api function runs the installs (every app); the functions that open
	// connections may refresh a Klaviyo token (only Klaviyo's tokens expire).
	OAuthApps []string
	// PageWindow (the pages-queue consumer only) is how many pages of one
	// sync run the pages queue holds at once, queued or in flight: a plan
	// with more pages enqueues that many and each page that ends enqueues
	// the next (pkg/bulksync), so another tenant's page waits behind at most
	// this many of a big install's instead of its whole backlog. The CDK
	// app sets it as the function's CONTACTSYNC_PAGE_WINDOW; 0: no window.
	PageWindow int
}

// Platforms with an OAuth app (resources.Function.OAuthApps).
const (
	OAuthShopify   = "shopify"
	OAuthMailchimp = "mailchimp"
	OAuthKlaviyo   = "klaviyo"
)

// EventSource is an SQS event source mapping's settings.
type EventSource struct {
	BatchSize               int
	MaxBatchingWindow       time.Duration
	MaxConcurrency          int  // concurrent invocations (2-1000)
	ReportBatchItemFailures bool // partial batch responses
}

// Logical names of the queues a function may send to.
const (
	QueuePages    = "pages"
	QueueOutbox   = "outbox"
	QueuePagesDLQ = "pagesDLQ"
)

// Default resource names. The environment can override each (pkg/awsenv).
const (
	DefaultTableName   = "contactsync"
	DefaultPagesQueue  = "contactsync-pages"
	DefaultOutboxQueue = "contactsync-outbox"
	DLQSuffix          = "-dlq"
)

// Attribute names of the table's keys.
const (
	AttrPK        = "PK"
	AttrSK        = "SK"
	AttrGSI1PK    = "GSI1PK"
	AttrGSI1SK    = "GSI1SK"
	AttrGSI2PK    = "GSI2PK"
	AttrGSI2SK    = "GSI2SK"
	AttrExpiresAt = "expiresAt"
)

// Index names.
const (
	GSI1 = "GSI1"
	GSI2 = "GSI2"
)

// MainTable returns the single table of the single-table design under the
// given name. pkg/store documents which access pattern uses which key.
func MainTable(name string) Table {
	return Table{
		Name:         name,
		PartitionKey: KeyAttr{Name: AttrPK, Type: String},
		SortKey:      KeyAttr{Name: AttrSK, Type: String},
		GSIs: []Index{
			{Name: GSI1, PartitionKey: KeyAttr{Name: AttrGSI1PK, Type: String}, SortKey: KeyAttr{Name: AttrGSI1SK, Type: String}},
			{Name: GSI2, PartitionKey: KeyAttr{Name: AttrGSI2PK, Type: String}, SortKey: KeyAttr{Name: AttrGSI2SK, Type: String}},
		},
		TTLAttribute: AttrExpiresAt,
	}
}

// MaxReceiveCount is how often a message is received before it moves to its
// DLQ (AWS guidance: at least 5, so throttling alone does not dead-letter).
const MaxReceiveCount = 5

// VisibilityFactor is the ratio between a queue's visibility timeout and its
// consumer's timeout (AWS guidance: at least 6x the function timeout).
const VisibilityFactor = 6

// Functions returns every Lambda function with its limits.
func Functions() []Function {
	return []Function{
		{Name: "webhook", Timeout: 10 * time.Second, MemoryMB: 256,
			Table: true, Sends: []string{QueueOutbox}, SealKey: true, PublicURL: true, OAuthApps: []string{OAuthKlaviyo}},
		{Name: "inbound", Timeout: 10 * time.Second, MemoryMB: 256,
			Table: true, Sends: []string{QueueOutbox}, SealKey: true, PublicURL: true},
		// The api function answers within API Gateway's 30 s integration
		// limit; a request's platform calls share its deadline
		// (hubapi/deadline.go), so a create's credential check, field
		// check and webhook registration together fit in it.
		{Name: "api", Timeout: 28 * time.Second, MemoryMB: 256,
			Table: true, Sends: []string{QueuePages, QueueOutbox}, SealKey: true, AdminToken: true, PublicURL: true,
			OAuthApps: []string{OAuthShopify, OAuthMailchimp, OAuthKlaviyo}},
		// The scheduler's tick also sweeps undelivered outbox markers (sends
		// to the outbox) and drains the pages DLQ (ends their runs); its
		// daily webhook check calls the platforms with the connections'
		// credentials (the seal key) at their webhook URLs (the public URL).
		{Name: "scheduler", Timeout: 60 * time.Second, MemoryMB: 256,
			Table: true, Sends: []string{QueuePages, QueueOutbox, QueuePagesDLQ}, Consumes: []string{QueuePagesDLQ}, SealKey: true, PublicURL: true,
			OAuthApps: []string{OAuthKlaviyo}},
		// A batch is as many pages as an invocation works on at once
		// (bulksync.Deps.Concurrency's default): every page starts when
		// the invocation does and has its whole MessageTimeout. With 10 a
		// batch, four at a time, the last pages started late and, under
		// load, ran out of the invocation's time on every receive until
		// they were dead-lettered (a 100,000-member Mailchimp install lost
		// two 1,000-record pages so in the linear benchmark).
		{Name: "bulksync", Timeout: 120 * time.Second, MemoryMB: 512, SQSTrigger: DefaultPagesQueue,
			EventSource: EventSource{BatchSize: 4, MaxBatchingWindow: 5 * time.Second, MaxConcurrency: 5, ReportBatchItemFailures: true},
			Table:       true, Sends: []string{QueuePages, QueueOutbox, QueuePagesDLQ}, SealKey: true, OAuthApps: []string{OAuthKlaviyo},
			// The consumer's whole page parallelism (5 invocations × 4
			// pages at once): one install alone still uses every worker.
			PageWindow: 5 * 4},
		{Name: "outbox", Timeout: 30 * time.Second, MemoryMB: 256, SQSTrigger: DefaultOutboxQueue,
			EventSource: EventSource{BatchSize: 10, MaxBatchingWindow: 5 * time.Second, MaxConcurrency: 5, ReportBatchItemFailures: true},
			Table:       true, SealKey: true, OAuthApps: []string{OAuthKlaviyo}},
		{Name: "health", Timeout: 3 * time.Second, MemoryMB: 128},
	}
}

// SchedulerTick is how often EventBridge invokes the scheduler. It bounds
// how late a due connection starts (one tick) and makes every
// syncIntervalHours from 1 to 168 keep its promise; a tick with nothing due
// costs one index query per shard.
const SchedulerTick = 15 * time.Minute

// Schedule is an EventBridge rule invoking a function at a fixed rate.
type Schedule struct {
	Name     string // the rule's logical name
	Function string
	Rate     time.Duration
}

// Schedules returns every scheduled invocation: the CDK app creates these
// rules and the sandbox fires the same ticks.
func Schedules() []Schedule {
	return []Schedule{{Name: "SchedulerTick", Function: "scheduler", Rate: SchedulerTick}}
}

// MessageTimeout is the deadline each SQS message of the named consumer gets
// (bulksync, outbox): three quarters of the function's timeout (90 s, 22.5
// s), so a message that hangs on a platform or provider ends, and its
// outcome (or retry) is recorded in the quarter left, before the invocation
// is killed. Handlers also end a message that much before the invocation's
// own deadline (MessageReserve). An unknown name gets 10 s.
func MessageTimeout(consumer string) time.Duration {
	f, ok := FunctionByName(consumer)
	if !ok {
		return 10 * time.Second
	}
	return f.Timeout * 3 / 4
}

// MessageReserve is the time a consumer keeps, before its invocation's
// deadline, to record the outcome of a message that ran out of time.
func MessageReserve(consumer string) time.Duration {
	f, ok := FunctionByName(consumer)
	if !ok {
		return 2 * time.Second
	}
	return f.Timeout - MessageTimeout(consumer)
}

// FunctionByName returns the named function's definition.
func FunctionByName(name string) (Function, bool) {
	for _, f := range Functions() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Queues returns the work queues (each with its DLQ) under the given names.
// Visibility timeouts are VisibilityFactor times the consumer's timeout.
func Queues(pagesName, outboxName string) []Queue {
	return []Queue{
		workQueue(pagesName, "bulksync"),
		workQueue(outboxName, "outbox"),
	}
}

func workQueue(name, consumer string) Queue {
	f, _ := FunctionByName(consumer)
	dlq := &Queue{Name: name + DLQSuffix, VisibilityTimeout: 30 * time.Second, RetentionPeriod: 14 * 24 * time.Hour}
	return Queue{
		Name:              name,
		VisibilityTimeout: VisibilityFactor * f.Timeout,
		RetentionPeriod:   4 * 24 * time.Hour,
		DeadLetter:        dlq,
		MaxReceiveCount:   MaxReceiveCount,
	}
}

// RetentionPeriod is how long history, reports, runs and consent evidence
// are kept (their expiresAt is event time + RetentionPeriod).
const RetentionPeriod = 365 * 24 * time.Hour
