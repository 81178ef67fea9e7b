package resources

import (
	"testing"
	"time"
)

func TestQueues_VisibilityIsSixTimesConsumerTimeout(t *testing.T) {
	for _, q := range Queues(DefaultPagesQueue, DefaultOutboxQueue) {
		var consumer Function
		for _, f := range Functions() {
			if f.SQSTrigger == q.Name {
				consumer = f
			}
		}
		if consumer.Name == "" {
			t.Fatalf("queue %s has no consumer function", q.Name)
		}
		if q.VisibilityTimeout < VisibilityFactor*consumer.Timeout {
			t.Errorf("queue %s visibility %v < %d x %v", q.Name, q.VisibilityTimeout, VisibilityFactor, consumer.Timeout)
		}
		if q.DeadLetter == nil || q.MaxReceiveCount < 5 {
			t.Errorf("queue %s: DLQ %v maxReceiveCount %d, want a DLQ and >= 5", q.Name, q.DeadLetter, q.MaxReceiveCount)
		}
	}
}

func TestMainTable_TenantKeysAndTTL(t *testing.T) {
	tb := MainTable("x")
	if tb.TTLAttribute != "expiresAt" {
		t.Errorf("TTL attribute = %q, want expiresAt", tb.TTLAttribute)
	}
	seen := map[string]bool{}
	for _, g := range tb.GSIs {
		if seen[g.Name] {
			t.Errorf("duplicate index %s", g.Name)
		}
		seen[g.Name] = true
		if g.PartitionKey.Type != String || g.SortKey.Type != String {
			t.Errorf("index %s keys must be strings (tenant-prefixed)", g.Name)
		}
	}
}

func TestMessageTimeout_WellInsideTheConsumersTimeout(t *testing.T) {
	for _, f := range Functions() {
		if f.SQSTrigger == "" {
			continue
		}
		if d, r := MessageTimeout(f.Name), MessageReserve(f.Name); d <= 0 || d > f.Timeout*3/4 || r < 5*time.Second || d+r > f.Timeout {
			t.Errorf("%s: message deadline %v and reserve %v, want at most 3/4 of its timeout %v and at least 5 s to record", f.Name, d, r, f.Timeout)
		}
	}
}

// Functions behind API Gateway routes end before its 30 s integration
// timeout, so their answer (not API Gateway's 503) reaches the caller.
func TestAPIFunctions_EndWithinAPIGatewaysIntegrationTimeout(t *testing.T) {
	for _, name := range []string{"api", "webhook", "inbound", "health"} {
		f, ok := FunctionByName(name)
		if !ok || f.Timeout <= 0 || f.Timeout >= 30*time.Second {
			t.Errorf("%s: timeout %v, want under API Gateway's 30 s", name, f.Timeout)
		}
	}
}
