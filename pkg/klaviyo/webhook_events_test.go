package klaviyo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

// sampleEvent is the payload of an SMS consent event as Get Event answers
// it with include=profile (Klaviyo's guide: each data[].payload has "the
// same structure as a Get Event API call"), its datetime in the
// space-separated form of the guide's example. %[1]s is the event id,
// %[2]s the profile id.
const sampleEvent = `{"data":{"type":"event","id":"%[1]s","attributes":{"uuid":"96150200-374e-11ee-8001-a163313bc6c2","datetime":"2026-05-01 09:30:00+00:00","timestamp":1777627800,"event_properties":{}},` +
	`"relationships":{"profile":{"data":{"type":"profile","id":"%[2]s"}},"metric":{"data":{"type":"metric","id":"RESQ6t"}}},"links":{"self":"https://a.klaviyo.com/api/events/%[1]s/"}},` +
	`"included":[{"type":"profile","id":"%[2]s","attributes":{"email":"a@b.co","phone_number":"+61412345678","first_name":"Ann","location":{"country":"Australia"}}}]}`

// consentDelivery is a delivery of webhook hookID holding one event of
// topic event:klaviyo.<topic> with id eventID about profile, its payload
// the format payload (sampleEvent or another) filled with the two ids.
func consentDelivery(hookID, topic, eventID, profile, payload string) string {
	return fmt.Sprintf(`{"data":[{"topic":"event:klaviyo.%s","external_id":%q,"payload":%s}],"meta":{"klaviyo_account_id":"AbC123","klaviyo_webhook_id":%q,"timestamp":"2026-05-01T09:30:05+00:00"}}`,
		topic, eventID, fmt.Sprintf(payload, eventID, profile), hookID)
}

func parseAs(t *testing.T, hookID, body string) (source.Webhook, error) {
	t.Helper()
	h := http.Header{}
	h.Set("Klaviyo-Webhook-Id", hookID)
	return klaviyo.ParseWebhook(h, []byte(body), source.Options{ConnectionID: "c"})
}

// An SMS consent event (the topics we subscribe to) becomes a partial
// record of its profile with the topic's signal at the event's time.
// Before, its event payload was refused as ErrUnsupportedTopic.
func TestSMSConsentEventBecomesPartialRecord(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		topic string
		want  source.SignalState
	}{
		{"unsubscribed_from_sms_marketing", source.SignalUnsubscribed},
		{"subscribed_to_sms_marketing", source.SignalSubscribed},
	} {
		wh, err := parseAs(t, "wh1", consentDelivery("wh1", tc.topic, "ev1", "01KPROF", sampleEvent))
		if err != nil {
			t.Fatalf("%s: %v", tc.topic, err)
		}
		if len(wh.Records) != 1 {
			t.Fatalf("%s: %d records", tc.topic, len(wh.Records))
		}
		r := wh.Records[0]
		if r.ExternalID != "01KPROF" || !r.Partial || !r.IsPartial() || r.Platform != source.Klaviyo || r.Label != "Klaviyo" || r.ConnectionID != "c" {
			t.Errorf("%s: record %+v", tc.topic, r)
		}
		if r.Consent.State != tc.want || !r.Consent.At.Equal(at) || r.Consent.Method != "event:klaviyo."+tc.topic {
			t.Errorf("%s: consent %+v, want %s at %s", tc.topic, r.Consent, tc.want, at)
		}
		// The included profile lends its phone, nothing else (a partial
		// record: design.md §3).
		if len(r.Phones) != 1 || r.Phones[0].Raw != "+61412345678" || r.Phones[0].Country != "AU" || len(r.Emails) != 0 || r.FirstName != "" || !r.UpdatedAt.IsZero() || r.HasGroups {
			t.Errorf("%s: from the included profile %+v", tc.topic, r)
		}
		if wh.Topic != "event:klaviyo."+tc.topic {
			t.Errorf("topic %q", wh.Topic)
		}
	}

	// The bare event resource, without an included profile, an ISO 8601
	// datetime with a T: the profile id and the signal, no phone.
	bare := `{"type":"event","id":"%s","attributes":{"datetime":"2026-05-01T09:30:00+00:00"},"relationships":{"profile":{"data":{"type":"profile","id":"%s"}}}}`
	wh, err := parseAs(t, "wh1", consentDelivery("wh1", "unsubscribed_from_sms_marketing", "ev2", "01KPROF", bare))
	if err != nil || len(wh.Records) != 1 || wh.Records[0].ExternalID != "01KPROF" || len(wh.Records[0].Phones) != 0 || !wh.Records[0].Consent.At.Equal(at) {
		t.Fatalf("bare event: %+v, %v", wh, err)
	}
	// No datetime: the timestamp (Unix seconds) dates it.
	stamped := `{"data":{"type":"event","id":"%s","attributes":{"timestamp":1777627800},"relationships":{"profile":{"data":{"id":"%s"}}}}}`
	wh, err = parseAs(t, "wh1", consentDelivery("wh1", "subscribed_to_sms_marketing", "ev3", "01KPROF", stamped))
	if err != nil || len(wh.Records) != 1 || !wh.Records[0].Consent.At.Equal(at) {
		t.Fatalf("timestamp only: %+v, %v", wh, err)
	}
}

// Other topics stay unsupported; a consent event naming no profile and a
// delivery without Klaviyo-Webhook-Id are malformed.
func TestEventDeliveriesRefused(t *testing.T) {
	t.Parallel()
	if _, err := parseAs(t, "wh1", consentDelivery("wh1", "sent_sms", "ev1", "01KPROF", sampleEvent)); !errors.Is(err, klaviyo.ErrUnsupportedTopic) {
		t.Errorf("sent_sms: %v", err)
	}
	if _, err := parseAs(t, "wh1", consentDelivery("wh1", "subscribed_to_email_marketing", "ev1", "01KPROF", sampleEvent)); !errors.Is(err, klaviyo.ErrUnsupportedTopic) {
		t.Errorf("email consent: %v", err)
	}
	noProfile := `{"data":{"type":"event","id":"%s","attributes":{"datetime":"2026-05-01T09:30:00+00:00"},"relationships":{}},"x":%q}`
	if _, err := parseAs(t, "wh1", consentDelivery("wh1", "subscribed_to_sms_marketing", "ev1", "01KPROF", noProfile)); !errors.Is(err, klaviyo.ErrMalformed) {
		t.Errorf("no profile: %v", err)
	}
	if _, err := parseAs(t, "", consentDelivery("wh1", "subscribed_to_sms_marketing", "ev1", "01KPROF", sampleEvent)); !errors.Is(err, klaviyo.ErrMalformed) {
		t.Errorf("no Klaviyo-Webhook-Id: %v", err)
	}
}

// The delivery id is the webhook id with the events' external_id (or the
// body when an event has none): every delivery of a webhook carries the
// same Klaviyo-Webhook-Id (Klaviyo's guide: "Unique ID for the webhook"),
// so that header alone would drop every new event after the first as a
// duplicate. A retry of the same events keeps its id.
func TestDeliveryIDNamesTheEventsNotOnlyTheWebhook(t *testing.T) {
	t.Parallel()
	id := func(hookID, body string) string {
		t.Helper()
		wh, err := parseAs(t, hookID, body)
		if err != nil {
			t.Fatal(err)
		}
		return wh.DeliveryID
	}
	first := id("wh1", consentDelivery("wh1", "unsubscribed_from_sms_marketing", "ev1", "01KA", sampleEvent))
	second := id("wh1", consentDelivery("wh1", "unsubscribed_from_sms_marketing", "ev2", "01KB", sampleEvent))
	if first == second || first == "wh1" || second == "wh1" {
		t.Fatalf("two events of one webhook: %q and %q", first, second)
	}
	// A retry: the same event, the delivery sent again with a new meta
	// timestamp.
	retry := strings.Replace(consentDelivery("wh1", "unsubscribed_from_sms_marketing", "ev1", "01KA", sampleEvent), "09:30:05", "09:45:00", 1)
	if got := id("wh1", retry); got != first {
		t.Fatalf("a retry: %q, first %q", got, first)
	}
	// The same event through another webhook is that webhook's delivery.
	if got := id("wh2", consentDelivery("wh2", "unsubscribed_from_sms_marketing", "ev1", "01KA", sampleEvent)); got == first {
		t.Fatal("the same event through another webhook has the first webhook's delivery id")
	}
	// Several events: their order does not matter, their set does.
	two := func(a, b string) string {
		return fmt.Sprintf(`{"data":[{"topic":"event:klaviyo.subscribed_to_sms_marketing","external_id":%q,"payload":%s},{"topic":"event:klaviyo.subscribed_to_sms_marketing","external_id":%q,"payload":%s}],"meta":{"klaviyo_webhook_id":"wh1"}}`,
			a, fmt.Sprintf(sampleEvent, a, "01KA"), b, fmt.Sprintf(sampleEvent, b, "01KB"))
	}
	if ab, ba, ac := id("wh1", two("e1", "e2")), id("wh1", two("e2", "e1")), id("wh1", two("e1", "e3")); ab != ba || ab == ac {
		t.Fatalf("batches: e1+e2 %q, e2+e1 %q, e1+e3 %q", ab, ba, ac)
	}
	// Events without an external_id: the body names the delivery.
	noIDs := func(profile string) string {
		return strings.Replace(consentDelivery("wh1", "unsubscribed_from_sms_marketing", "", profile, sampleEvent), `"external_id":""`, `"x":1`, 1)
	}
	a, again, b := id("wh1", noIDs("01KA")), id("wh1", noIDs("01KA")), id("wh1", noIDs("01KB"))
	if a != again || a == b || a == "" {
		t.Fatalf("without event ids: %q, %q, %q", a, again, b)
	}
}

// The fake delivers a consent change as Klaviyo does: the webhook's id in
// Klaviyo-Webhook-Id and meta, one event with its external_id, the Get
// Event payload; two changes on one webhook are two deliveries.
func TestFakeDeliversConsentEvents(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []source.Webhook
	var headers []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := klaviyo.VerifyWebhook("whsec-kl", r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		wh, err := klaviyo.ParseWebhook(r.Header, body, source.Options{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, wh)
		headers = append(headers, r.Header.Get("Klaviyo-Webhook-Id"))
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 3, Seed: 8, HookPerSecond: -1, HookPerMinute: -1, AllowHTTPEndpoints: true})
	t.Cleanup(kl.Close)
	c := hookClient(t, kl, "whsec-kl")
	c.SetHookPace(1000, 100000)
	if _, err := c.Subscribe(context.Background(), "event:klaviyo.unsubscribed_from_sms_marketing", rcv.URL); err != nil {
		t.Fatal(err)
	}
	hook := kl.Webhooks()[0]
	if kl.SetSMSConsent(2, "UNSUBSCRIBED", time.Now()) != 1 || kl.SetSMSConsent(3, "UNSUBSCRIBED", time.Now()) != 1 {
		t.Fatal("a delivery was refused")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || headers[0] != hook.ID || headers[1] != hook.ID {
		t.Fatalf("deliveries %+v with Klaviyo-Webhook-Id %v, want the webhook's %s", got, headers, hook.ID)
	}
	if got[0].DeliveryID == got[1].DeliveryID {
		t.Fatalf("two consent changes share the delivery id %q", got[0].DeliveryID)
	}
	for i, wh := range got {
		if len(wh.Records) != 1 {
			t.Fatalf("delivery %d: %+v", i, wh)
		}
		r := wh.Records[0]
		if !r.Partial || r.ExternalID == "" || r.Consent.State != source.SignalUnsubscribed || r.Consent.At.IsZero() || len(r.Phones) != 1 {
			t.Errorf("delivery %d: record %+v", i, r)
		}
	}
	if got[0].Records[0].ExternalID == got[1].Records[0].ExternalID {
		t.Error("two profiles' changes name one profile")
	}
}
