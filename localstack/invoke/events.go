package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/sms/twilio"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// apiRequest builds a deterministic API Gateway HTTP API v2 event.
func apiRequest(method, path, query string, headers map[string]string, body string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"host": "hooks.example.com", "user-agent": "sample"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	var qs map[string]string
	if query != "" {
		v, _ := url.ParseQuery(query) // sample queries are well-formed
		qs = map[string]string{}
		for k := range v {
			qs[k] = v.Get(k)
		}
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: h, QueryStringParameters: qs, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "sample", DomainName: "hooks.example.com", Stage: "$default", RequestID: "sample-request-1",
			Time: "24/Nov/2026:09:00:00 +0000", TimeEpoch: 1795510800000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10", UserAgent: "sample"},
		},
	}
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

func wooEvent(topic string, body []byte, secret string) events.APIGatewayV2HTTPRequest {
	return apiRequest("POST", "/webhooks/woocommerce/"+SampleConnection, "", map[string]string{
		"content-type": "application/json", "x-wc-webhook-topic": topic, "x-wc-webhook-source": "https://shop.example.com/",
		"x-wc-webhook-delivery-id": "sample-" + strings.ReplaceAll(topic, ".", "-"), "x-wc-webhook-signature": woocommerce.Sign(secret, body),
	}, string(body))
}

func twilioEvent(text, sid string) events.APIGatewayV2HTTPRequest {
	path := "/sms/inbound/twilio/" + SampleTenant
	form := url.Values{"MessageSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {SampleTwilioAccount}, "From": {"+61412345678"},
		"To": {"+15005550006"}, "Body": {text}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"}}
	return apiRequest("POST", path, "", map[string]string{
		"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": twilio.Signature(SampleTwilioToken, SamplePublicBaseURL+path, form),
	}, form.Encode())
}

func sqsEvent(queue string, bodies ...string) events.SQSEvent {
	ev := events.SQSEvent{}
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i+1), ReceiptHandle: "sample-receipt", Body: b,
			Attributes:  map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795510800000"},
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + queue, AWSRegion: "us-east-1",
		})
	}
	return ev
}

// writeEvents regenerates the sample events (signatures computed with the
// sample secrets, so they verify against the seeded sample tenant).
func writeEvents(root, dir string) error {
	fixture := func(name string) ([]byte, error) {
		return os.ReadFile(filepath.Join(root, "pkg", "woocommerce", "testdata", name))
	}
	customer, err := fixture("customer-created.wire-body.derived.json")
	if err != nil {
		return err
	}
	order, err := fixture("order-guest.docs-v3.json")
	if err != nil {
		return err
	}
	adminH := map[string]string{"authorization": "Bearer " + SampleAdminToken, "content-type": "application/json"}
	keyH := map[string]string{"authorization": "Bearer " + SampleTenant + "." + SampleAPISecret}
	files := map[string]any{
		"webhook/woocommerce-customer-created.json":    wooEvent("customer.created", bytes.TrimSpace(customer), SampleWooSecret),
		"webhook/woocommerce-guest-order-created.json": wooEvent("order.created", compact(order), SampleWooSecret),
		"webhook/woocommerce-bad-signature.json":       wooEvent("customer.created", bytes.TrimSpace(customer), "not-the-secret"),
		"webhook/woocommerce-ping.json": apiRequest("POST", "/webhooks/woocommerce/"+SampleConnection, "",
			map[string]string{"content-type": "application/x-www-form-urlencoded"}, "webhook_id=7"),
		"inbound/twilio-stop.json":  twilioEvent("STOP", "SM00000000000000000000000000000001"),
		"inbound/twilio-yes.json":   twilioEvent("Yes", "SM00000000000000000000000000000002"),
		"inbound/twilio-help.json":  twilioEvent("help", "SM00000000000000000000000000000003"),
		"api/create-tenant.json":    apiRequest("POST", "/admin/tenants", "", adminH, `{"name":"Acme"}`),
		"api/list-contacts.json":    apiRequest("GET", "/v1/contacts", "limit=5&status=subscribed", keyH, ""),
		"api/list-connections.json": apiRequest("GET", "/v1/connections", "", keyH, ""),
		"api/start-sync.json":       apiRequest("POST", "/v1/connections/"+SampleConnection+"/syncs", "", keyH, ""),
		"api/invalid-connection.json": apiRequest("POST", "/v1/connections", "", keyH,
			`{"platform":"shopify","consentMode":"sometimes","defaultRegion":"australia","config":{}}`),
		"bulksync/page-batch.json": sqsEvent("contactsync-pages",
			`{"v":1,"kind":"page","tenantId":"t_sample","connectionId":"t_sample.c_woocommerce","runId":"r0000000000000finished","cursor":"eyJrIjoiYyIsInAiOjF9","pageId":"p1"}`,
			`{"not":"a page message"}`),
		"outbox/sms-batch.json": sqsEvent("contactsync-outbox",
			`{"kind":"sms","tenantId":"t_sample","ref":"sample-ref-1","message":{"Phone":"+61412345678","ConnectionID":"t_sample.c_woocommerce","Purpose":"confirmation","At":"2026-11-24T09:00:00Z"}}`),
	}
	for name, v := range files {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
