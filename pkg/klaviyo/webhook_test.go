package klaviyo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

const sampleDelivery = `{"data":[{"topic":"profile:updated","external_id":"x1","payload":{"data":{"type":"profile","id":"01KABC","attributes":{"email":"a@b.co","phone_number":"+61412345678","updated":"2026-05-01T00:00:00Z","subscriptions":{"sms":{"marketing":{"consent":"UNSUBSCRIBED","consent_timestamp":"2026-05-01T00:00:00Z","method":"TEXT"}}}}}}}],"meta":{"klaviyo_webhook_id":"w1","timestamp":"2026-05-01T00:00:01Z"}}`

// sampleAt is the Klaviyo-Timestamp of signed deliveries.
var sampleAt = time.Unix(1714521601, 0)

func signed(secret, body string) http.Header {
	h := http.Header{}
	h.Set("Klaviyo-Timestamp", "1714521601")
	h.Set("Klaviyo-Webhook-Id", "w1") // the webhook's id, as meta.klaviyo_webhook_id
	h.Set("Klaviyo-Signature", klaviyo.Signature(secret, []byte(body), "1714521601"))
	return h
}

func TestSignedWebhookVerifiesAndAFlippedByteFails(t *testing.T) {
	t.Parallel()
	h := signed("s3cret", sampleDelivery)
	if err := klaviyo.VerifyWebhook("s3cret", h, []byte(sampleDelivery), sampleAt); err != nil {
		t.Fatalf("verify: %v", err)
	}
	b := []byte(sampleDelivery)
	b[10] ^= 1
	if err := klaviyo.VerifyWebhook("s3cret", h, b, sampleAt); !errors.Is(err, klaviyo.ErrInvalidSignature) {
		t.Fatalf("flipped byte: %v", err)
	}
	if err := klaviyo.VerifyWebhook("other", h, []byte(sampleDelivery), sampleAt); !errors.Is(err, klaviyo.ErrInvalidSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestProfileWebhookBecomesRecordWithConsent(t *testing.T) {
	t.Parallel()
	wh, err := klaviyo.ParseWebhook(signed("s", sampleDelivery), []byte(sampleDelivery), source.Options{ConnectionID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if wh.DeliveryID == "" || len(wh.Records) != 1 || wh.Records[0].Consent.State != source.SignalUnsubscribed || wh.Records[0].ExternalID != "01KABC" || wh.Records[0].Partial {
		t.Fatalf("webhook = %+v", wh)
	}
}

func TestWebhookWithoutProfileIsUnsupported(t *testing.T) {
	t.Parallel()
	body := `{"data":[{"topic":"event:klaviyo.sent_sms","payload":{"type":"event","id":"e"}}]}`
	_, err := klaviyo.ParseWebhook(signed("s", body), []byte(body), source.Options{})
	if !errors.Is(err, klaviyo.ErrUnsupportedTopic) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(sampleDelivery))
	f.Add([]byte(consentDelivery("w1", "unsubscribed_from_sms_marketing", "ev1", "01KPROF", sampleEvent)))
	f.Add([]byte(`{"data":[]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set("Klaviyo-Webhook-Id", "w1")
		wh, err := klaviyo.ParseWebhook(h, body, source.Options{})
		if err != nil {
			return
		}
		if len(wh.Records) == 0 {
			t.Fatal("success without records")
		}
		if wh.DeliveryID == "" || len(wh.DeliveryID) > 80 {
			t.Fatalf("delivery id %q", wh.DeliveryID)
		}
		for _, r := range wh.Records {
			if r.ExternalID == "" {
				t.Fatalf("a record without its profile id: %+v", r)
			}
		}
		again, err := klaviyo.ParseWebhook(h, body, source.Options{})
		if err != nil || again.DeliveryID != wh.DeliveryID {
			t.Fatalf("parsed again: %q, %v; first %q", again.DeliveryID, err, wh.DeliveryID)
		}
	})
}

func TestFakeSendsWebhookTheClientVerifiesAndParses(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 3, Seed: 4})
	defer s.Close()
	got := make(chan error, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := klaviyo.VerifyWebhook("whsec", r.Header, body, time.Unix(1714521601, 0))
		if err == nil {
			var wh source.Webhook
			wh, err = klaviyo.ParseWebhook(r.Header, body, source.Options{})
			if err == nil && (len(wh.Records) != 1 || wh.Records[0].ExternalID == "") {
				err = errors.New("want one profile record")
			}
		}
		got <- err
	}))
	defer hook.Close()
	resp, err := s.SendWebhook(context.Background(), hook.URL, "whsec", "profile:updated", 2, time.Unix(1714521601, 0))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
