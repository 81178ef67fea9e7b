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
	"time"
)

// SendWebhook posts a system-webhook delivery for profile n (1-based) to
// hookURL in the (unconfirmed, see package klaviyo) shape: body
// {data:[{topic, external_id, payload:{data:<profile>}}], meta{...}},
// headers Klaviyo-Webhook-Id, Klaviyo-Timestamp and Klaviyo-Signature =
// hex HMAC-SHA256(secret, body + timestamp).
func (s *Server) SendWebhook(ctx context.Context, hookURL, secret, topic string, n int, at time.Time) (*http.Response, error) {
	s.mu.Lock()
	if n < 1 || n > len(s.profiles) {
		s.mu.Unlock()
		return nil, fmt.Errorf("klaviyotest: no profile %d", n)
	}
	body, err := deliveryBody(topic, "wh-fake", s.profiles[n-1], at)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return post(ctx, hookURL, secret, body, fmt.Sprintf("fake-%d-%d", n, at.Unix()), at)
}

// deliveryBody is a delivery of topic about profile p (the caller holds
// s.mu: p is encoded now).
func deliveryBody(topic, webhookID string, p map[string]any, at time.Time) ([]byte, error) {
	body, err := json.Marshal(map[string]any{
		"data": []any{map[string]any{"topic": topic, "external_id": p["id"], "payload": map[string]any{"data": p}}},
		"meta": map[string]any{"klaviyo_account_id": "FAKE01", "klaviyo_webhook_id": webhookID, "timestamp": at.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return nil, fmt.Errorf("klaviyotest: encoding webhook: %w", err)
	}
	return body, nil
}

// post signs body with secret at the time at and posts it to hookURL.
func post(ctx context.Context, hookURL, secret string, body []byte, deliveryID string, at time.Time) (*http.Response, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(ts))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Klaviyo-Webhook-Id", deliveryID)
	req.Header.Set("Klaviyo-Timestamp", ts)
	req.Header.Set("Klaviyo-Signature", hex.EncodeToString(m.Sum(nil)))
	return http.DefaultClient.Do(req)
}
