package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/routes"
)

// The sandbox runs each function as deployed: its timeout is every
// invocation's deadline, and its queue consumer has the deployed event
// source's settings.
func TestSandbox_RunsFunctionsWithTheirDeployedSettings(t *testing.T) {
	for _, r := range routes.All() {
		f, _ := resources.FunctionByName(r.Function)
		var deadline time.Time
		var ok bool
		h := withDeadline(r.Function, 0, func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			deadline, ok = ctx.Deadline()
			return events.APIGatewayV2HTTPResponse{}, nil
		})
		start := time.Now()
		_, _ = h(context.Background(), events.APIGatewayV2HTTPRequest{})
		if !ok || deadline.Before(start.Add(f.Timeout)) || deadline.After(time.Now().Add(f.Timeout)) {
			t.Errorf("%s (%s): deadline %v (%v), want its timeout %v from the call", r.Key(), r.Function, deadline.Sub(start), ok, f.Timeout)
		}
	}
	for _, fn := range []string{"bulksync", "outbox"} {
		f, _ := resources.FunctionByName(fn)
		p := pollerFor(fn, Config{})
		es := f.EventSource
		if p.BatchSize != es.BatchSize || p.Concurrency != es.MaxConcurrency || p.WholeBatch == es.ReportBatchItemFailures || p.Timeout != f.Timeout {
			t.Errorf("%s poller %+v, deployed %+v timeout %v", fn, p, es, f.Timeout)
		}
	}
}
