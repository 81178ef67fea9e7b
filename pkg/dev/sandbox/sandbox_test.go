package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/health"
	"github.com/contactsync/contactsync/pkg/queue"
)

func TestHTTP_TranslatesToAPIGatewayEventAndBack(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = ev
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"X-Test": "yes"}, Body: "created"}, nil
	}))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/webhooks/shopify/c1?a=1&a=2", strings.NewReader(`{"id":1}`))
	req.Header.Set("X-Shopify-Topic", "customers/create")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "created" || resp.Header.Get("X-Test") != "yes" {
		t.Fatalf("response %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if got.Version != "2.0" || got.RequestContext.HTTP.Method != "POST" || got.RawPath != "/webhooks/shopify/c1" ||
		got.Headers["x-shopify-topic"] != "customers/create" || got.Body != `{"id":1}` || got.QueryStringParameters["a"] != "1,2" ||
		got.RouteKey != "POST /webhooks/{platform}/{connectionId}" || got.RequestContext.RequestID == "" {
		t.Fatalf("event = %+v", got)
	}
}

func TestHTTP_HostsARealHandler(t *testing.T) {
	srv := httptest.NewServer(sandbox.HTTP("/health", health.Handler{Version: "v"}.Handle))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestPoller_PartialFailuresRetryThenDeadLetter(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t, stacktest.WithMaxReceiveCount(2), stacktest.WithVisibilityTimeout(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := queue.NewSender(s.SQS, s.PagesQueueURL).Send(ctx, "ok-1", "poison", "ok-2"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handled := map[string]int{}
	p := &sandbox.Poller{
		SQS: s.SQS, QueueURL: s.PagesQueueURL, BatchSize: 10, Concurrency: 1, RetryDelay: time.Second,
		Handler: func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			mu.Lock()
			defer mu.Unlock()
			for _, r := range ev.Records {
				handled[r.Body]++
				if r.Body == `"poison"` {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		},
	}
	go p.Run(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesDLQURL), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 1 {
			if aws.ToString(out.Messages[0].Body) != `"poison"` {
				t.Fatalf("DLQ holds %q", aws.ToString(out.Messages[0].Body))
			}
			mu.Lock()
			defer mu.Unlock()
			// Successes were deleted after one delivery; the failure was
			// redelivered until the queue's maxReceiveCount moved it.
			if handled[`"ok-1"`] != 1 || handled[`"ok-2"`] != 1 || handled[`"poison"`] < 1 || handled[`"poison"`] > 2 {
				t.Fatalf("handled = %v, want ok once each and poison at most maxReceiveCount times", handled)
			}
			return
		}
	}
	t.Fatal("poison message never reached the DLQ")
}
