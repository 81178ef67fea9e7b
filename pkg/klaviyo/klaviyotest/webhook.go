package klaviyotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Deliveries are shaped as Klaviyo's guide "Working with system webhooks"
// describes them: body {data:[{topic, external_id, payload}],
// meta{klaviyo_account_id, klaviyo_webhook_id, timestamp}}, headers
// Klaviyo-Webhook-Id (the webhook's id, equal to meta.klaviyo_webhook_id,
// the same on every delivery and retry of a webhook), Klaviyo-Timestamp
// (Unix seconds) and Klaviyo-Signature = hex HMAC-SHA256(secret_key,
// body + timestamp) (the signature scheme is unconfirmed, see package
// klaviyo). An event's payload has the shape of a Get Event answer:
// {data: <event resource>, included: [<its profile>]}, external_id the
// event's id. Whether Klaviyo includes the profile is not documented; the
// fake does (without its subscriptions, which Get Event's profile fields
// do not offer), so a consent event carries the profile's phone.

// FakeWebhookID is the webhook id SendWebhook's deliveries name.
const FakeWebhookID = "wh-fake"

// SendWebhook posts a delivery of topic about profile n (1-based) to
// hookURL, signed with secret at the time at: an event topic
// ("event:...") as an event of that profile (SetSMSConsent's shape, the
// profile unchanged), any other topic with the profile resource as its
// payload ({data: <profile>}, which ParseWebhook also maps).
func (s *Server) SendWebhook(ctx context.Context, hookURL, secret, topic string, n int, at time.Time) (*http.Response, error) {
	s.mu.Lock()
	if n < 1 || n > len(s.profiles) {
		s.mu.Unlock()
		return nil, fmt.Errorf("klaviyotest: no profile %d", n)
	}
	var body []byte
	var err error
	if strings.HasPrefix(topic, "event:") {
		body, err = eventDelivery(topic, FakeWebhookID, s.nextEventID(), s.profiles[n-1], at, true)
	} else {
		s.hooks.events++
		body, err = delivery(FakeWebhookID, at, map[string]any{"topic": topic, "external_id": fmt.Sprintf("01KPE%021d", s.hooks.events),
			"payload": map[string]any{"data": s.profiles[n-1]}})
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return post(ctx, hookURL, secret, body, FakeWebhookID, at)
}

// nextEventID is a new event id (s.mu held).
func (s *Server) nextEventID() string {
	s.hooks.events++
	return fmt.Sprintf("01KEV%021d", s.hooks.events)
}

// eventDelivery is a delivery of one event of topic about profile p at
// the time at, as Get Event with include=profile answers it (the caller
// holds s.mu: p is encoded now).
func eventDelivery(topic, webhookID, eventID string, p map[string]any, at time.Time, includeProfile bool) ([]byte, error) {
	attrs := map[string]any{}
	for k, v := range p["attributes"].(map[string]any) {
		if k != "subscriptions" {
			attrs[k] = v
		}
	}
	profileID := p["id"]
	metric := "FAKE" + strings.ToUpper(strings.TrimPrefix(topic, "event:klaviyo."))
	ev := map[string]any{
		"type": "event", "id": eventID,
		"attributes": map[string]any{
			// The space-separated form of Klaviyo's webhook example.
			"datetime":  at.UTC().Format("2006-01-02 15:04:05+00:00"),
			"timestamp": at.Unix(), "uuid": fmt.Sprintf("fake-%s", eventID), "event_properties": map[string]any{},
		},
		"relationships": map[string]any{
			"profile": map[string]any{"data": map[string]any{"type": "profile", "id": profileID}},
			"metric":  map[string]any{"data": map[string]any{"type": "metric", "id": metric}},
		},
		"links": map[string]any{"self": "https://a.klaviyo.com/api/events/" + eventID + "/"},
	}
	payload := map[string]any{"data": ev}
	if includeProfile {
		payload["included"] = []any{map[string]any{"type": "profile", "id": profileID, "attributes": attrs}}
	}
	return delivery(webhookID, at, map[string]any{"topic": topic, "external_id": eventID, "payload": payload})
}

// delivery is the body of a delivery of items for webhook webhookID.
func delivery(webhookID string, at time.Time, items ...any) ([]byte, error) {
	body, err := json.Marshal(map[string]any{
		"data": items,
		"meta": map[string]any{"klaviyo_account_id": "FAKE01", "klaviyo_webhook_id": webhookID, "timestamp": at.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return nil, fmt.Errorf("klaviyotest: encoding webhook: %w", err)
	}
	return body, nil
}

// post signs body with secret at the time at and posts it to hookURL as a
// delivery of webhook webhookID.
func post(ctx context.Context, hookURL, secret string, body []byte, webhookID string, at time.Time) (*http.Response, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(ts))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Klaviyo-Webhook-Id", webhookID)
	req.Header.Set("Klaviyo-Timestamp", ts)
	req.Header.Set("Klaviyo-Signature", hex.EncodeToString(m.Sum(nil)))
	return http.DefaultClient.Do(req)
}
