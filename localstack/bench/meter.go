package main

import (
	"context"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
)

// meter counts what the product asks of AWS — requests per service and
// operation, and DynamoDB items written by kind — plus each handler
// invocation and its duration (what Lambda bills). It sits in the AWS SDK's
// middleware stack of the sandbox's clients, so it sees the real calls.
// Empty SQS receives (the sandbox poller idling) are counted apart, as
// "SQS.ReceiveMessage.empty", and not in "SQS": their number follows the
// wall clock, not the work.
type meter struct {
	mu          sync.Mutex
	requests    map[string]int // "DynamoDB", "SQS", "DynamoDB.TransactWriteItems", ...
	items       map[string]int // items written, by kind (see itemKind)
	invocations map[string]int
	billed      map[string]time.Duration
}

func newMeter() *meter {
	m := &meter{}
	m.reset()
	return m
}

// snapshot is the meter's counts at one moment.
type snapshot struct {
	Requests    map[string]int
	Items       map[string]int
	Invocations map[string]int
	Billed      map[string]time.Duration
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests, m.items, m.invocations, m.billed = map[string]int{}, map[string]int{}, map[string]int{}, map[string]time.Duration{}
}

func (m *meter) snapshot() snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := snapshot{Requests: map[string]int{}, Items: map[string]int{}, Invocations: map[string]int{}, Billed: map[string]time.Duration{}}
	for k, v := range m.requests {
		s.Requests[k] = v
	}
	for k, v := range m.items {
		s.Items[k] = v
	}
	for k, v := range m.invocations {
		s.Invocations[k] = v
	}
	for k, v := range m.billed {
		s.Billed[k] = v
	}
	return s
}

// invoked records one handler invocation (sandbox.Config.OnInvoke).
func (m *meter) invoked(function string, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.invocations[function]++
	m.billed[function] += took
}

// option adds the meter to an AWS client's middleware stack.
func (m *meter) option(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("contactsyncBenchMeter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
			out, md, err := next.HandleInitialize(ctx, in)
			if r, ok := out.Result.(*sqs.ReceiveMessageOutput); ok && err == nil && len(r.Messages) == 0 {
				// An empty poll: the sandbox poller's idle loop, whose
				// number follows the wall clock, not the work (Lambda's
				// own pollers differ). Counted apart, not as a request.
				m.mu.Lock()
				m.requests[service+"."+op+".empty"]++
				m.mu.Unlock()
				return out, md, err
			}
			m.count(service, op, in.Parameters)
			return out, md, err
		}), middleware.After)
}

func (m *meter) count(service, op string, params any) {
	var written []map[string]types.AttributeValue
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		written = append(written, in.Item)
	case *dynamodb.UpdateItemInput:
		written = append(written, in.Key)
	case *dynamodb.DeleteItemInput:
		written = append(written, in.Key)
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				written = append(written, it.Put.Item)
			case it.Update != nil:
				written = append(written, it.Update.Key)
			case it.Delete != nil:
				written = append(written, it.Delete.Key)
			}
		}
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				switch {
				case r.PutRequest != nil:
					written = append(written, r.PutRequest.Item)
				case r.DeleteRequest != nil:
					written = append(written, r.DeleteRequest.Key)
				}
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[service]++
	m.requests[service+"."+op]++
	for _, item := range written {
		m.items[itemKind(item)]++
	}
}

// contactKinds are the item kinds that hold a contact's data (pkg/store's
// key design): the contact, its phone (claim and consent ledger), email
// claims, source links, group memberships and history. Everything else is
// run bookkeeping (runs, page markers, report rows, locks, idempotency and
// outbox markers).
var contactKinds = map[string]bool{"C": true, "P": true, "EMAILS": true, "S": true, "G": true, "H": true, "SUP": true}

// itemKind names an item by the segment after the tenant in its partition
// key ("T#<tenant>#<kind>#..."); items of the tenant partition itself
// (runs, locks, groups, connections) are "tenant".
func itemKind(item map[string]types.AttributeValue) string {
	pk, _ := item["PK"].(*types.AttributeValueMemberS)
	if pk == nil {
		return "other"
	}
	parts := strings.SplitN(pk.Value, "#", 4)
	if len(parts) < 3 {
		return "tenant"
	}
	return parts[2]
}

// contactItems sums the items of contact kinds in s.
func (s snapshot) contactItems() int {
	n := 0
	for k, v := range s.Items {
		if contactKinds[k] {
			n += v
		}
	}
	return n
}

// allItems sums every item written.
func (s snapshot) allItems() int {
	n := 0
	for _, v := range s.Items {
		n += v
	}
	return n
}

// since returns the counts added after an earlier snapshot.
func (s snapshot) since(before snapshot) snapshot {
	d := snapshot{Requests: map[string]int{}, Items: map[string]int{}, Invocations: map[string]int{}, Billed: map[string]time.Duration{}}
	for k, v := range s.Requests {
		d.Requests[k] = v - before.Requests[k]
	}
	for k, v := range s.Items {
		d.Items[k] = v - before.Items[k]
	}
	for k, v := range s.Invocations {
		d.Invocations[k] = v - before.Invocations[k]
	}
	for k, v := range s.Billed {
		d.Billed[k] = v - before.Billed[k]
	}
	return d
}
