package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// requestCounter counts the AWS requests a client sends, by operation: it
// sits in the real client's middleware stack, so it sees every call the
// store and the queue sender make to the emulators. A request whose
// context carries a gate waits at it before its first write (gate).
type requestCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

type gateKey struct{}

// gate holds the first DynamoDB write of a request made with its context:
// arrived is closed when the write comes, and it goes on once release is
// closed.
type gate struct {
	arrived, release chan struct{}
	once             sync.Once
}

func (c *requestCounter) option(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countRequests",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.ops[op]++
			c.mu.Unlock()
			if g, ok := ctx.Value(gateKey{}).(*gate); ok && strings.HasPrefix(op, "DynamoDB.") && isWrite(op) {
				g.once.Do(func() {
					close(g.arrived)
					<-g.release
				})
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func isWrite(op string) bool {
	for _, w := range []string{"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"} {
		if strings.HasSuffix(op, "."+w) {
			return true
		}
	}
	return false
}

// take returns the counts since the last take: DynamoDB requests (their
// total) and every operation.
func (c *requestCounter) take() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops, n := c.ops, 0
	for op, v := range ops {
		if strings.HasPrefix(op, "DynamoDB.") {
			n += v
		}
	}
	c.ops = map[string]int{}
	return ops, n
}

func breakdown(ops map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, ops[k]))
	}
	return strings.Join(parts, " ")
}

// countRig is a WooCommerce connection's webhook handler whose DynamoDB
// and SQS clients count their requests.
type countRig struct {
	st      *store.Store
	h       *webhook.Handler
	counter *requestCounter
	tenant  string
	conn    store.Connection
	outbox  string
	sqs     *sqs.Client
	sealer  *seal.Sealer
	usage   *store.Usage
}

func newCountRig(t *testing.T, consentMode string, opts ...func(*webhook.Deps)) *countRig {
	t.Helper()
	s := stacktest.New(t)
	ctx := context.Background()
	counter := &requestCounter{ops: map[string]int{}}
	cfg := s.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, counter.option)
	usage := &store.Usage{}
	st := store.New(awsenv.NewDynamoDB(cfg), s.Table, store.WithUsage(usage))
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"storeUrl": "http://127.0.0.1:9", "consumerKey": "k", "consumerSecret": "s", "webhookSecret": "whsec"})
	conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
		ConsentMode: consentMode, DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: sealer.Seal(tenant.ID, raw)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	deps := webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Outbox: queue.NewSender(awsenv.NewSQS(cfg), s.OutboxQueueURL)}
	for _, o := range opts {
		o(&deps)
	}
	h := webhook.New(deps)
	counter.take()
	return &countRig{st: st, h: h, counter: counter, tenant: tenant.ID, conn: conn, outbox: s.OutboxQueueURL, sqs: s.SQS, sealer: sealer, usage: usage}
}

var countBase = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// customer is version v of WooCommerce customer id, with a phone and an
// email, modified v minutes after countBase.
func countCustomer(id int64, v int) woocommerce.Customer {
	c := woocommerce.Customer{ID: id, Email: fmt.Sprintf("c%d@example.com", id), FirstName: fmt.Sprint("v", v), LastName: "Count", Role: "customer",
		Billing: woocommerce.Address{FirstName: fmt.Sprint("v", v), LastName: "Count", Phone: fmt.Sprintf("0412 000 %03d", id), Country: "AU", Email: fmt.Sprintf("c%d@example.com", id)}}
	c.DateCreatedGMT = woocommerce.WCTime{Time: countBase}
	c.DateModifiedGMT = woocommerce.WCTime{Time: countBase.Add(time.Duration(v) * time.Minute)}
	return c
}

func withRole(c woocommerce.Customer, role string) woocommerce.Customer {
	c.Role = role
	return c
}

// deliver hands a signed delivery to the handler and returns its answer.
func (r *countRig) deliver(t *testing.T, ctx context.Context, c woocommerce.Customer, topic, deliveryID string) (int, string) {
	t.Helper()
	return r.deliverSigned(t, ctx, c, topic, deliveryID, "whsec")
}

// deliverSigned is deliver with the delivery signed with secret.
func (r *countRig) deliverSigned(t *testing.T, ctx context.Context, c woocommerce.Customer, topic, deliveryID, secret string) (int, string) {
	t.Helper()
	body, _ := woocommercetest.EncodePHP(c)
	resp, err := r.h.Handle(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/webhooks/woocommerce/" + r.conn.ID, Body: string(body),
		Headers:        map[string]string{"x-wc-webhook-topic": topic, "x-wc-webhook-delivery-id": deliveryID, "x-wc-webhook-signature": woocommerce.Sign(secret, body)},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}})
	if err != nil {
		t.Fatalf("delivery %s: %v", deliveryID, err)
	}
	return resp.StatusCode, resp.Body
}

// queued receives what the outbox queue holds (SMS messages), waiting at
// most until deadline for want of them, then taking whatever else came.
func (r *countRig) queued(t *testing.T, want int) int {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		wait := int32(1)
		if got < want {
			wait = 2
		}
		out, err := r.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &r.outbox, MaxNumberOfMessages: 10, WaitTimeSeconds: wait, VisibilityTimeout: 300})
		if err != nil {
			t.Fatal(err)
		}
		got += len(out.Messages)
		if len(out.Messages) == 0 && got >= want {
			return got
		}
	}
	return got
}

// TestWebhook_RequestsPerDelivery counts the DynamoDB requests each kind
// of delivery the bench sends costs on a warm handler — a new customer
// (phone and email), a newer version, an older version arriving after
// it, the same delivery again, the same payload under a new delivery id —
// with a counting middleware on the real client against the emulator:
// none may take more than 4 (issue 21 item 5).
func TestWebhook_RequestsPerDelivery(t *testing.T) {
	t.Parallel()
	r := newCountRig(t, "inferred")
	ctx := context.Background()
	// The container's first delivery reads the connection.
	if code, body := r.deliver(t, ctx, countCustomer(1, 1), "customer.created", "warm"); code != 200 {
		t.Fatalf("first delivery: %d %s", code, body)
	}
	ops, n := r.counter.take()
	t.Logf("%-30s %d requests: %s", "first delivery (cold)", n, breakdown(ops))
	if n > 5 {
		t.Errorf("the first delivery: %d DynamoDB requests (%s), want at most 5 (the connection's read and 4)", n, breakdown(ops))
	}
	cases := []struct {
		name, topic, id, want string
		c                     woocommerce.Customer
		max                   int
	}{
		{"new customer", "customer.created", "d1", `"created"`, countCustomer(2, 1), 4},
		{"newer version", "customer.updated", "d2", `"updated"`, countCustomer(2, 3), 4},
		{"older version after it", "customer.updated", "d3", `"unchanged"`, countCustomer(2, 2), 3},
		{"same delivery again", "customer.updated", "d2", `"duplicate"`, countCustomer(2, 3), 1},
		{"same payload, new delivery id", "customer.updated", "d4", `"unchanged"`, countCustomer(2, 3), 3},
		{"it again, new delivery id", "customer.updated", "d5", `"unchanged"`, countCustomer(2, 3), 2},
		// A role other than "customer" is a group: its membership goes
		// in the decision's transaction, not a request of its own. The
		// group's first member in a container also writes the group's
		// list entry (once per group and container).
		{"first of a group", "customer.created", "d6", `"created"`, withRole(countCustomer(3, 1), "wholesale"), 5},
		{"new customer in the group", "customer.created", "d7", `"created"`, withRole(countCustomer(4, 1), "wholesale"), 4},
		{"it leaves the group", "customer.updated", "d8", `"updated"`, countCustomer(4, 2), 4},
	}
	for _, c := range cases {
		r.usage.Reset()
		code, body := r.deliver(t, ctx, c.c, c.topic, c.id)
		ops, n := r.counter.take()
		_, wcu := r.usage.Estimated()
		t.Logf("%-30s %d requests, %.1f WCU: %s (%s)", c.name, n, wcu, breakdown(ops), body)
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("%s: answered %d %s, want %s", c.name, code, body, c.want)
		}
		if n > c.max {
			t.Errorf("%s: %d DynamoDB requests (%s), want at most %d", c.name, n, breakdown(ops), c.max)
		}
	}
}

// TestWebhook_RedeliveryChangesNothingAndSendsNothing: a delivery that
// creates a contact and makes its confirmation text due, then the same
// delivery again (WooCommerce's retry) and the same payload under a new
// delivery id: the redelivery answers duplicate after one read, writes
// nothing and queues nothing; the re-fired payload queues nothing either.
// One contact, one text.
func TestWebhook_RedeliveryChangesNothingAndSendsNothing(t *testing.T) {
	t.Parallel()
	r := newCountRig(t, "confirmation")
	ctx := context.Background()
	cust := countCustomer(7, 1)
	if code, body := r.deliver(t, ctx, cust, "customer.created", "once"); code != 200 || !strings.Contains(body, `"created"`) {
		t.Fatalf("first delivery: %d %s", code, body)
	}
	if ops, _ := r.counter.take(); ops["SQS.SendMessage"]+ops["SQS.SendMessageBatch"] == 0 {
		t.Fatalf("the first delivery queued no text (%s): the test needs one", breakdown(ops))
	}
	code, body := r.deliver(t, ctx, cust, "customer.created", "once")
	ops, _ := r.counter.take()
	if code != 200 || !strings.Contains(body, `"duplicate"`) {
		t.Fatalf("redelivery: %d %s", code, body)
	}
	for op := range ops {
		if op != "DynamoDB.BatchGetItem" {
			t.Errorf("the redelivery sent %s (%s): it must write and send nothing", op, breakdown(ops))
		}
	}
	code, body = r.deliver(t, ctx, cust, "customer.created", "refired")
	ops, _ = r.counter.take()
	if code != 200 || !strings.Contains(body, `"unchanged"`) {
		t.Fatalf("re-fired payload: %d %s", code, body)
	}
	for op := range ops {
		if strings.HasPrefix(op, "SQS.") || op == "DynamoDB.TransactWriteItems" {
			t.Errorf("the re-fired payload sent %s (%s)", op, breakdown(ops))
		}
	}
	if n := r.queued(t, 1); n != 1 {
		t.Errorf("the outbox queue holds %d messages, want the one confirmation", n)
	}
	if list, _, err := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{}, 10, ""); err != nil || len(list) != 1 {
		t.Errorf("contacts: %d %v, want 1", len(list), err)
	}
}

// TestWebhook_CopiesOfOneDeliveryInFlightApplyOnce: WooCommerce sends a
// delivery again while the first copy is still being applied. The first
// copy is held (a gate on its first write) after it read the state; the
// second applies in full; then the first goes on. Both answer 200, one
// contact exists and one confirmation text is queued: the first copy's
// conditional write fails, and it finds the delivery completed before it
// reads the rest again (answering duplicate).
func TestWebhook_CopiesOfOneDeliveryInFlightApplyOnce(t *testing.T) {
	t.Parallel()
	r := newCountRig(t, "confirmation")
	cust := countCustomer(8, 1)
	g := &gate{arrived: make(chan struct{}), release: make(chan struct{})}
	type answer struct {
		code int
		body string
	}
	first := make(chan answer, 1)
	go func() {
		code, body := r.deliver(t, context.WithValue(context.Background(), gateKey{}, g), cust, "customer.created", "twice")
		first <- answer{code, body}
	}()
	select {
	case <-g.arrived:
	case a := <-first:
		t.Fatalf("the first copy finished without a write: %d %s", a.code, a.body)
	case <-time.After(30 * time.Second):
		t.Fatal("the first copy never reached its write")
	}
	code, body := r.deliver(t, context.Background(), cust, "customer.created", "twice")
	if code != 200 || !strings.Contains(body, `"created"`) {
		t.Fatalf("second copy: %d %s", code, body)
	}
	close(g.release)
	var a answer
	select {
	case a = <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("the first copy never finished")
	}
	if a.code != 200 || !strings.Contains(a.body, `"duplicate"`) {
		t.Errorf("first copy, after the second: %d %s, want 200 duplicate (its write went stale, and the key was complete)", a.code, a.body)
	}
	ops, _ := r.counter.take()
	if n := ops["SQS.SendMessage"] + ops["SQS.SendMessageBatch"]; n != 1 {
		t.Errorf("%d sends to the outbox queue (%s), want 1", n, breakdown(ops))
	}
	if n := r.queued(t, 1); n != 1 {
		t.Errorf("the outbox queue holds %d messages, want the one confirmation", n)
	}
	if list, _, err := r.st.ListContacts(context.Background(), r.tenant, store.ContactFilter{}, 10, ""); err != nil || len(list) != 1 {
		t.Errorf("contacts: %d %v, want 1", len(list), err)
	}
	// The delivery is complete now: a third copy is a duplicate.
	if code, body := r.deliver(t, context.Background(), cust, "customer.created", "twice"); code != 200 || !strings.Contains(body, `"duplicate"`) {
		t.Errorf("third copy: %d %s", code, body)
	}
}

// update changes the stored connection (as PATCH does), with its webhook
// secret when secret is set.
func (r *countRig) update(t *testing.T, secret string, f func(*store.Connection)) {
	t.Helper()
	ctx := context.Background()
	c, err := r.st.GetConnection(ctx, r.tenant, r.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		raw, _ := json.Marshal(map[string]string{"storeUrl": "http://127.0.0.1:9", "consumerKey": "k", "consumerSecret": "s", "webhookSecret": secret})
		c.Config = r.sealer.Seal(r.tenant, raw)
	}
	if f != nil {
		f(&c)
	}
	if _, err := r.st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	r.counter.take()
}

// TestWebhook_RotatedSecretVerifiesWithAKeptConnection: the container
// keeps the connection it read; the merchant rotates the webhook secret.
// A delivery signed with the new secret fails against the kept config, so
// the handler reads the connection again, once, and accepts it; one
// signed with neither secret is still refused, after that one read.
func TestWebhook_RotatedSecretVerifiesWithAKeptConnection(t *testing.T) {
	t.Parallel()
	r := newCountRig(t, "inferred")
	ctx := context.Background()
	if code, body := r.deliver(t, ctx, countCustomer(1, 1), "customer.created", "k1"); code != 200 {
		t.Fatalf("first delivery: %d %s", code, body)
	}
	r.update(t, "whsec-rotated", nil)
	code, body := r.deliverSigned(t, ctx, countCustomer(1, 2), "customer.updated", "k2", "whsec-rotated")
	ops, _ := r.counter.take()
	if code != 200 || !strings.Contains(body, `"updated"`) {
		t.Fatalf("a delivery signed with the new secret: %d %s (%s)", code, body, breakdown(ops))
	}
	if ops["DynamoDB.GetItem"] != 1 {
		t.Errorf("the new secret cost %d connection reads (%s), want 1", ops["DynamoDB.GetItem"], breakdown(ops))
	}
	if code, _ := r.deliverSigned(t, ctx, countCustomer(1, 3), "customer.updated", "k3", "whsec-rotated"); code != 200 {
		t.Errorf("the next delivery with the new secret: %d", code)
	}
	if ops, _ := r.counter.take(); ops["DynamoDB.GetItem"] != 0 {
		t.Errorf("the connection read again was not kept (%s)", breakdown(ops))
	}
	if code, _ := r.deliverSigned(t, ctx, countCustomer(1, 4), "customer.updated", "k4", "whsec"); code != 401 {
		t.Errorf("a delivery signed with the rotated-out secret after the re-read: %d, want 401", code)
	}
	if code, _ := r.deliverSigned(t, ctx, countCustomer(1, 4), "customer.updated", "k5", "forged"); code != 401 {
		t.Errorf("a forged delivery: %d, want 401", code)
	}
}

// TestWebhook_KeptConnectionLastsItsTTL: a connection disabled after a
// container read it is honoured once the TTL has passed (until then the
// kept copy applies deliveries, as doc.go says); a disabled connection is
// not kept, so enabling it again counts at the next delivery.
func TestWebhook_KeptConnectionLastsItsTTL(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	r := newCountRig(t, "inferred", func(d *webhook.Deps) { d.Now = clock })
	ctx := context.Background()
	if code, body := r.deliver(t, ctx, countCustomer(1, 1), "customer.created", "t1"); code != 200 {
		t.Fatalf("first delivery: %d %s", code, body)
	}
	r.update(t, "", func(c *store.Connection) { c.Enabled = false })
	advance(webhook.DefaultConnectionTTL - time.Second)
	if code, body := r.deliver(t, ctx, countCustomer(1, 2), "customer.updated", "t2"); code != 200 || !strings.Contains(body, `"updated"`) {
		t.Errorf("within the TTL: %d %s, want the kept connection to apply it", code, body)
	}
	advance(time.Second)
	if code, body := r.deliver(t, ctx, countCustomer(1, 3), "customer.updated", "t3"); code != 200 || !strings.Contains(body, "connection_disabled") {
		t.Errorf("at the TTL: %d %s, want connection_disabled", code, body)
	}
	r.update(t, "", func(c *store.Connection) { c.Enabled = true })
	if code, body := r.deliver(t, ctx, countCustomer(1, 3), "customer.updated", "t4"); code != 200 || !strings.Contains(body, `"updated"`) {
		t.Errorf("right after enabling: %d %s, want it applied", code, body)
	}
}
