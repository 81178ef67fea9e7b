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

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
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

func shopifyEvent(topic string, body []byte) events.APIGatewayV2HTTPRequest {
	return apiRequest("POST", "/webhooks/shopify/"+SampleShopify, "", map[string]string{
		"content-type": "application/json", "x-shopify-topic": topic, "x-shopify-shop-domain": "sample.myshopify.com",
		"x-shopify-api-version": "2026-07", "x-shopify-webhook-id": "sample-" + strings.ReplaceAll(topic, "/", "-"),
		"x-shopify-hmac-sha256": shopify.Sign(SampleShopifySecret, body),
	}, string(body))
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
	shopCustomer, err := os.ReadFile(filepath.Join(root, "pkg", "shopify", "testdata", "webhook-customers-create.docs-2026-07.json"))
	if err != nil {
		return err
	}
	mcUnsub, err := os.ReadFile(filepath.Join(root, "pkg", "mailchimp", "testdata", "unsubscribe.classic-docs.form"))
	if err != nil {
		return err
	}
	klBody := []byte(`{"data":[{"topic":"profile:updated","external_id":"x1","payload":{"data":{"type":"profile","id":"01KSAMPLE","attributes":{"email":"sam@example.com","phone_number":"+61412345679","updated":"2026-11-24T09:00:00Z","subscriptions":{"sms":{"marketing":{"consent":"SUBSCRIBED","consent_timestamp":"2026-11-24T09:00:00Z","method":"TEXT"}}}}}}}],"meta":{"klaviyo_webhook_id":"w1","timestamp":"2026-11-24T09:00:01Z"}}`)
	sinchBody := []byte(`{"type":"mo_text","id":"01SAMPLEMO0000000000000001","from":"61412345678","to":"61400000000","body":"HELP","received_at":"2026-11-24T09:00:00Z"}`)
	mmBody := []byte(`{"reply_id":"a175e797-2b54-468b-9850-000000000001","message_id":"877c19ef-fa2e-4cec-827a-e1df9b5509f7","content":"YES","date_received":"2026-11-24T09:00:00Z","source_number":"+61412345678","destination_number":"+61400000000","metadata":{},"vendor_account_id":{"vendor_id":"SinchEU","account_id":"Sample"}}`)
	joined, err := os.ReadFile(filepath.Join(root, "pkg", "shopify", "testdata", "webhook-customer-joined-segment.docs-2026-07.json"))
	if err != nil {
		return err
	}
	guestOrder := []byte(`{"id":450789469,"email":"bob.norman@mail.example.com","contact_email":"bob.norman@mail.example.com","phone":"+557734881234","customer":null,"order_number":1001,"line_items":[{"id":466157049,"title":"IPod Nano - 8gb","quantity":1,"price":"199.00"}],"admin_graphql_api_id":"gid://shopify/Order/450789469","created_at":"2026-11-24T09:00:00Z","billing_address":{"first_name":"Bob","last_name":"Norman","phone":"+1(502)-459-2181","country_code":"US"}}`)
	adminH := map[string]string{"authorization": "Bearer " + SampleAdminToken, "content-type": "application/json"}
	keyH := map[string]string{"authorization": "Bearer " + SampleTenant + "." + SampleAPISecret}
	files := map[string]any{
		"webhook/woocommerce-customer-created.json":    wooEvent("customer.created", bytes.TrimSpace(customer), SampleWooSecret),
		"webhook/woocommerce-guest-order-created.json": wooEvent("order.created", compact(order), SampleWooSecret),
		"webhook/woocommerce-bad-signature.json":       wooEvent("customer.created", bytes.TrimSpace(customer), "not-the-secret"),
		"webhook/woocommerce-ping.json": apiRequest("POST", "/webhooks/woocommerce/"+SampleConnection, "",
			map[string]string{"content-type": "application/x-www-form-urlencoded"}, "webhook_id=7"),
		"webhook/shopify-customers-create.json":    shopifyEvent("customers/create", bytes.TrimSpace(shopCustomer)),
		"webhook/shopify-guest-orders-create.json": shopifyEvent("orders/create", guestOrder),
		// customer.left_segment has the same shape (2026-07 docs).
		"webhook/shopify-customer-joined-segment.json": shopifyEvent("customer.joined_segment", compact(joined)),
		"webhook/shopify-customer-left-segment.json":   shopifyEvent("customer.left_segment", compact(joined)),
		"webhook/mailchimp-unsubscribe.json": apiRequest("POST", "/webhooks/mailchimp/"+SampleMailchimp, "token="+SampleMailchimpTok,
			map[string]string{"content-type": "application/x-www-form-urlencoded", "user-agent": "MailChimp"}, string(bytes.TrimSpace(mcUnsub))),
		"webhook/klaviyo-profile-updated.json": apiRequest("POST", "/webhooks/klaviyo/"+SampleKlaviyo, "", map[string]string{
			"content-type": "application/json", "klaviyo-webhook-id": "sample-delivery-1", "klaviyo-timestamp": "1795510800",
			"klaviyo-signature": klaviyo.Signature(SampleKlaviyoSecret, klBody, "1795510800")}, string(klBody)),
		"inbound/messagemedia-yes.json": apiRequest("POST", "/sms/inbound/messagemedia/"+SampleTenantMM, "token="+SampleMMToken,
			map[string]string{"content-type": "application/json"}, string(mmBody)),
		"inbound/sinch-help.json": apiRequest("POST", "/sms/inbound/sinch/"+SampleTenantSinch, "", map[string]string{
			"content-type": "application/json", sinch.HeaderNonce: "01JSAMPLENONCE", sinch.HeaderTimestamp: "1795510800",
			"x-sinch-webhook-signature-algorithm": "HmacSHA256", sinch.HeaderSignature: sinch.Sign(SampleSinchSecret, sinchBody, "01JSAMPLENONCE", "1795510800")}, string(sinchBody)),
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
