package inbound_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestStop_TellsTheHubOnce: a STOP reply from a subscribed contact's number
// sends the tenant's endpoint contact.unsubscribed, signed (checked here
// with HMAC-SHA256 over "id.timestamp.body" keyed with the decoded secret),
// with the contact's id and E.164 number; the provider redelivering the
// same reply, and a second STOP, send nothing more.
func TestStop_TellsTheHubOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sid, token := tw.Credentials()
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(sms.Settings{Provider: sms.Twilio, Sender: "+15005550006", CompanyName: "Acme", APIBaseURL: tw.URL(),
		Credentials: map[string]string{"accountSid": sid, "authToken": token}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	type got struct {
		body  []byte
		valid bool
	}
	var deliveries []got
	secret := notify.NewSecret()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
		mac.Write(body)
		sig, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("webhook-signature"), "v1,"))
		mu.Lock()
		deliveries = append(deliveries, got{body, hmac.Equal(sig, mac.Sum(nil))})
		mu.Unlock()
	}))
	defer hub.Close()
	if err := st.PutNotifyEndpoint(ctx, tenant.ID, store.NotifyEndpoint{URL: hub.URL, Secret: sealer.Seal(tenant.ID, []byte(secret)), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	outboxQ := queue.NewSender(s.SQS, s.OutboxQueueURL)
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true}).Handle, RetryDelay: time.Second}).Run(ctx)
	in := inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: outboxQ, Notify: &notify.Notifier{Store: st, Queue: outboxQ}})
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", in.Handle))
	defer srv.Close()
	hookURL, publicURL := srv.URL+"/sms/inbound/twilio/"+tenant.ID, "/sms/inbound/twilio/"+tenant.ID

	conn := merge.Connection{ID: "c1", Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}
	applied, err := st.ApplyRecord(ctx, store.Target{TenantID: tenant.ID, Conn: conn}, source.Record{Platform: source.Shopify, Label: "Shopify",
		ConnectionID: "c1", ExternalID: "42", UpdatedAt: time.Now(), FirstName: "Ann", Phones: []source.PhoneField{{Raw: "0412 555 001", Country: "AU"}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	reply := func(text, sid string) string {
		t.Helper()
		resp, id, err := tw.SendInbound(ctx, hookURL, publicURL, phone, "+15005550006", text, sid)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reply %q answered %d", text, resp.StatusCode)
		}
		return id
	}
	stop := reply("STOP", "")
	reply("STOP", stop) // redelivered
	reply("stop", "")   // sent again
	s.WaitDrained(t, s.OutboxQueueURL, time.Minute)

	mu.Lock()
	defer mu.Unlock()
	if len(deliveries) != 1 || !deliveries[0].valid {
		t.Fatalf("the hub got %d deliveries (%+v), want one signed contact.unsubscribed", len(deliveries), deliveries)
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ContactID, Phone, Source string
		} `json:"data"`
	}
	if err := json.Unmarshal(deliveries[0].body, &ev); err != nil || ev.Type != "contact.unsubscribed" ||
		ev.Data.ContactID != applied.Decision.ContactID || ev.Data.Phone != phone || ev.Data.Source != "sms_stop" {
		t.Errorf("delivery = %s", deliveries[0].body)
	}
}
