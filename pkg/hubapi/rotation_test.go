package hubapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// Changing a Shopify connection's webhookSecret keeps the old one as
// previousWebhookSecret with the time of the rotation (the webhook handler
// accepts it for an hour after that time); a caller cannot set that time.
func TestAPI_WebhookSecretRotationIsTimed(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	a := &api{t: t, st: st, h: hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", Now: func() time.Time { return now },
		Starter: syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour},
	})}
	key := a.tenant()
	code, out := a.do("POST", "/v1/connections", key, shopifyConn, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["id"].(string)
	config := func() map[string]string {
		t.Helper()
		tenant, _, _ := strings.Cut(key, ".")
		conn, err := st.GetConnection(context.Background(), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := hubapi.OpenConfig(sealer, conn)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if cfg := config(); cfg["previousWebhookSecret"] != "" || cfg["webhookSecretRotatedAt"] != "" {
		t.Fatalf("a new connection has a rotation: %v", cfg)
	}
	now = now.Add(time.Hour)
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"config":{"webhookSecret":"whsec-2"}}`, nil); code != http.StatusOK {
		t.Fatalf("rotate: %d %v", code, out)
	}
	cfg := config()
	if cfg["webhookSecret"] != "whsec-2" || cfg["previousWebhookSecret"] != "whsec" || cfg["webhookSecretRotatedAt"] != now.Format(time.RFC3339Nano) {
		t.Fatalf("after rotation the config is %v, want the old secret as previous, rotated at %v", cfg, now)
	}
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"config":{"webhookSecretRotatedAt":"2099-01-01T00:00:00Z"}}`, nil); code != http.StatusBadRequest {
		t.Fatalf("caller-set rotation time: %d %v, want 400", code, out)
	}
	if code, out := a.do("PATCH", "/v1/connections/"+id, key, `{"config":{"previousWebhookSecret":""}}`, nil); code != http.StatusOK {
		t.Fatalf("clear previous: %d %v", code, out)
	}
	if cfg := config(); cfg["previousWebhookSecret"] != "" || cfg["webhookSecretRotatedAt"] != "" {
		t.Fatalf("after clearing, the config is %v", cfg)
	}
}
