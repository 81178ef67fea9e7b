// Command invoke runs one function's real handler with a sample event
// against the local stack and prints the response, the way `sam local
// invoke` would:
//
//	make invoke FN=webhook EVENT=events/webhook/woocommerce-customer-created.json
//	go run ./localstack/invoke -fn webhook -event events/webhook/....json
//
// It first seeds, idempotently, the sample tenant the events are signed for
// (tenant t_sample, API key "t_sample.sample_api_key_for_local_use", a
// WooCommerce connection t_sample.c_woocommerce with webhook secret
// "sample_woocommerce_webhook_secret", and Twilio with auth token
// "sample_twilio_auth_token"; signed URLs use https://hooks.example.com).
//
//	go run ./localstack/invoke -write-events   regenerates the signed events
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/apifn"
	"github.com/contactsync/contactsync/pkg/compose/bulksyncfn"
	"github.com/contactsync/contactsync/pkg/compose/inboundfn"
	"github.com/contactsync/contactsync/pkg/compose/outboxfn"
	"github.com/contactsync/contactsync/pkg/compose/schedulerfn"
	"github.com/contactsync/contactsync/pkg/compose/webhookfn"
	"github.com/contactsync/contactsync/pkg/dev/provision"
	"github.com/contactsync/contactsync/pkg/health"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/store"
)

// The sample tenant the events are made for.
const (
	SampleTenant        = "t_sample"
	SampleAPISecret     = "sample_api_key_for_local_use"
	SampleConnection    = "t_sample.c_woocommerce"
	SampleWooSecret     = "sample_woocommerce_webhook_secret"
	SampleTwilioToken   = "sample_twilio_auth_token"
	SampleTwilioAccount = "AC0000000000000000000000000000sample"
	SamplePublicBaseURL = "https://hooks.example.com"
	SampleAdminToken    = "sample_admin_token"

	SampleShopify       = "t_sample.c_shopify"
	SampleShopifySecret = "sample_shopify_webhook_secret"
	SampleMailchimp     = "t_sample.c_mailchimp"
	SampleMailchimpTok  = "sample_mailchimp_url_token"
	SampleKlaviyo       = "t_sample.c_klaviyo"
	SampleKlaviyoSecret = "sample_klaviyo_webhook_secret"
	// Tenants whose SMS provider is MessageMedia (URL token) and Sinch (HMAC).
	SampleTenantMM    = "t_samplemm"
	SampleMMToken     = "sample_messagemedia_url_token"
	SampleTenantSinch = "t_samplesinch"
	SampleSinchSecret = "sample_sinch_webhook_secret"
)

// sampleSealKey seals the sample tenant's secrets (not a secret itself).
var sampleSealKey = []byte("contactsync-sample-seal-key-32by")

func main() {
	fn := flag.String("fn", "", "function: webhook, inbound, api, scheduler, bulksync, outbox, health")
	event := flag.String("event", "", "path of the event JSON")
	write := flag.Bool("write-events", false, "regenerate the signed sample events under events/")
	flag.Parse()
	var err error
	if *write {
		err = writeEvents(".", "events")
	} else {
		err = run(*fn, *event)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(fn, eventPath string) error {
	if fn == "" || eventPath == "" {
		return errors.New("usage: invoke -fn NAME -event FILE")
	}
	raw, err := os.ReadFile(eventPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := invoke(ctx, fn, raw)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// invoke seeds the sample tenant and calls fn's handler with the event.
func invoke(ctx context.Context, fn string, raw []byte) (any, error) {
	cfg, err := sharedconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	names := awsenv.NamesFrom(os.Getenv)
	db, sq := awsenv.NewDynamoDB(cfg), awsenv.NewSQS(cfg)
	if err := provision.Table(ctx, db, resources.MainTable(names.Table)); err != nil {
		return nil, fmt.Errorf("the local stack is not reachable (make stack-up): %w", err)
	}
	urls, err := provision.Queues(ctx, sq, resources.Queues(names.PagesQueue, names.OutboxQueue))
	if err != nil {
		return nil, err
	}
	sealer, err := seal.New(sampleSealKey)
	if err != nil {
		return nil, err
	}
	// The handlers, built by the same composition root as the Lambda
	// mains and the sandbox (same run lock, queues and optional parts).
	names.PagesQueueURL, names.OutboxQueueURL = urls[names.PagesQueue], urls[names.OutboxQueue]
	names.PagesDLQURL = urls[names.PagesQueue+resources.DLQSuffix]
	// The sample events' fakes are on loopback (AllowPrivateHosts), and
	// their signatures carry the time they were made (Now).
	env := compose.Env{DynamoDB: db, SQS: sq, Names: names, Sealer: sealer, AdminToken: SampleAdminToken, PublicBaseURL: SamplePublicBaseURL,
		AllowPrivateHosts: true, Now: receivedAt(raw)}
	if err := seed(ctx, env.Store(), sealer); err != nil {
		return nil, err
	}
	// As Lambda does, the function's timeout is the invocation's deadline.
	if f, ok := resources.FunctionByName(fn); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.Timeout)
		defer cancel()
	}
	apiEvent := func(h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)) (any, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("event is not an API Gateway v2 request: %w", err)
		}
		return h(ctx, ev)
	}
	sqsEvent := func(h func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) (any, error) {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("event is not an SQS event: %w", err)
		}
		return h(ctx, ev)
	}
	switch fn {
	case "webhook":
		return apiEvent(webhookfn.New(env.For(fn)).Handle)
	case "inbound":
		return apiEvent(inboundfn.New(env.For(fn)).Handle)
	case "api":
		return apiEvent(apifn.New(env.For(fn)).Handle)
	case "health":
		return apiEvent(health.Handler{Version: "invoke"}.Handle)
	case "scheduler":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("event is not an EventBridge event: %w", err)
		}
		return schedulerfn.New(env.For(fn)).Handle(ctx, ev)
	case "bulksync":
		return sqsEvent(bulksyncfn.New(env.For(fn)).Handle)
	case "outbox":
		return sqsEvent(outboxfn.New(env.For(fn)).Handle)
	}
	return nil, fmt.Errorf("unknown function %q", fn)
}

// seed creates the sample tenants, connections and SMS providers if missing.
func seed(ctx context.Context, st *store.Store, sealer *seal.Sealer) error {
	for _, t := range []string{SampleTenant, SampleTenantMM, SampleTenantSinch} {
		if err := st.EnsureTenant(ctx, t, "Sample tenant", SampleAPISecret); err != nil {
			return err
		}
	}
	conns := []struct {
		id, platform, label string
		cfg                 map[string]string
	}{
		{SampleConnection, "woocommerce", "WooCommerce", map[string]string{"storeUrl": "http://127.0.0.1:9/sample-store", "consumerKey": "ck_sample", "consumerSecret": "cs_sample", "webhookSecret": SampleWooSecret}},
		{SampleShopify, "shopify", "Shopify", map[string]string{"shopDomain": "sample.myshopify.com", "accessToken": "shpat_sample", "webhookSecret": SampleShopifySecret, "apiBaseUrl": "http://127.0.0.1:9"}},
		{SampleMailchimp, "mailchimp", "Mailchimp", map[string]string{"apiKey": "sample-us6", "audienceId": "a6b5da1054", "webhookToken": SampleMailchimpTok, "apiBaseUrl": "http://127.0.0.1:9"}},
		{SampleKlaviyo, "klaviyo", "Klaviyo", map[string]string{"privateApiKey": "pk_sample", "webhookSecret": SampleKlaviyoSecret, "apiBaseUrl": "http://127.0.0.1:9"}},
	}
	for _, c := range conns {
		cfg, _ := json.Marshal(c.cfg)
		err := st.CreateConnection(ctx, store.Connection{
			TenantID: SampleTenant, ID: c.id, Platform: c.platform, Label: c.label, ConsentMode: "inferred",
			// Enabled, so the sample events take effect (a disabled connection
			// ignores webhooks and refuses "sync now"), but never due: the
			// sample scheduler tick must not sync stores that do not exist.
			DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, NextSyncAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
			Config: sealer.Seal(SampleTenant, cfg),
		})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	providers := []struct {
		tenant string
		s      sms.Settings
	}{
		{SampleTenant, sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Sample Co", APIBaseURL: "http://127.0.0.1:9/twilio",
			Credentials: map[string]string{"accountSid": SampleTwilioAccount, "authToken": SampleTwilioToken}}},
		{SampleTenantMM, sms.Settings{Provider: sms.MessageMedia, Sender: "+61400000000", CompanyName: "Sample Co", APIBaseURL: "http://127.0.0.1:9/mm",
			Credentials: map[string]string{"apiKey": "mm_sample", "apiSecret": "mm_sample_secret", "webhookToken": SampleMMToken}}},
		{SampleTenantSinch, sms.Settings{Provider: sms.Sinch, Sender: "+61400000000", CompanyName: "Sample Co", HelpText: "Call 1300 000 000.", APIBaseURL: "http://127.0.0.1:9/sinch",
			Credentials: map[string]string{"servicePlanId": "plan_sample", "apiToken": "sinch_sample", "webhookSecret": SampleSinchSecret}}},
	}
	for _, p := range providers {
		raw, _ := json.Marshal(p.s)
		if err := st.SetSMSProvider(ctx, p.tenant, sealer.Seal(p.tenant, raw)); err != nil {
			return err
		}
	}
	return nil
}

// receivedAt is the clock of a webhook or inbound handler invoked with a
// stored event: the time API Gateway received it (requestContext.timeEpoch),
// so a signature that covers a timestamp is judged at the moment the event
// was signed for, not days later as a replay. Events without a time use
// the real clock.
func receivedAt(raw []byte) func() time.Time {
	var ev events.APIGatewayV2HTTPRequest
	if json.Unmarshal(raw, &ev) != nil || ev.RequestContext.TimeEpoch == 0 {
		return time.Now
	}
	at := time.UnixMilli(ev.RequestContext.TimeEpoch)
	return func() time.Time { return at }
}
