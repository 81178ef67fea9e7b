package inbound_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia/messagemediatest"
	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestStopViaEachProvider_ThenDailyResyncInInferredMode: a STOP through
// Twilio, Sinch or MessageMedia unsubscribes the number, and the next daily
// re-sync of an inferred connection (the source still saying "subscribed"
// with an older consent time, as sources do) leaves it unsubscribed.
func TestStopViaEachProvider_ThenDailyResyncInInferredMode(t *testing.T) {
	t.Parallel()
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sn := sinchtest.NewServer(sinchtest.Options{})
	defer sn.Close()
	mm := messagemediatest.NewServer(messagemediatest.Options{Sign: true})
	defer mm.Close()
	twSID, twToken := tw.Credentials()
	plan, snToken := sn.Credentials()
	mmKey, mmSecret := mm.Credentials()
	cases := []struct {
		name     string
		settings sms.Settings
		stop     func(ctx context.Context, url, path, from string) (*http.Response, error)
	}{
		{"twilio", sms.Settings{Provider: sms.Twilio, Credentials: map[string]string{"accountSid": twSID, "authToken": twToken}},
			func(ctx context.Context, url, path, from string) (*http.Response, error) {
				r, _, err := tw.SendInbound(ctx, url, path, from, "+61400000000", "STOP", "")
				return r, err
			}},
		{"sinch", sms.Settings{Provider: sms.Sinch, Credentials: map[string]string{"servicePlanId": plan, "apiToken": snToken, "webhookSecret": "snsec"}},
			func(ctx context.Context, url, _, from string) (*http.Response, error) {
				r, _, err := sn.SendInbound(ctx, url, "snsec", from, "+61400000000", "Stop.", "")
				return r, err
			}},
		{"messagemedia", sms.Settings{Provider: sms.MessageMedia, Credentials: map[string]string{"apiKey": mmKey, "apiSecret": mmSecret, "signaturePublicKey": mm.PublicKeyPEM()}},
			func(ctx context.Context, url, _, from string) (*http.Response, error) {
				r, _, err := mm.SendReply(ctx, url, from, "+61400000000", "unsubscribe", "")
				return r, err
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := stacktest.New(t)
			ctx := context.Background()
			st := store.New(s.DynamoDB, s.Table)
			sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
			tenant, _, _ := st.CreateTenant(ctx, "Acme")
			tc.settings.Sender, tc.settings.CompanyName = "+61400000000", "Acme"
			raw, _ := json.Marshal(tc.settings)
			if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, raw)); err != nil {
				t.Fatal(err)
			}
			conn := merge.Connection{ID: "c1", Label: "WooCommerce", Mode: consent.Inferred, DefaultRegion: "AU"}
			t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			rec := source.Record{Platform: source.WooCommerce, Label: "WooCommerce", ConnectionID: "c1", ExternalID: "9", UpdatedAt: t0,
				Emails: []string{"stop@example.com"}, Phones: []source.PhoneField{{Raw: "0412 000 999", Country: "AU"}},
				Consent: source.ConsentSignal{State: source.SignalSubscribed, At: t0}}
			target := store.Target{TenantID: tenant.ID, Conn: conn}
			if _, err := st.ApplyRecord(ctx, target, rec, time.Now()); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL)}).Handle))
			defer srv.Close()
			path := "/sms/inbound/" + tc.name + "/" + tenant.ID
			resp, err := tc.stop(ctx, srv.URL+path, path, "+61412000999")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("STOP: %v %v", resp, err)
			}
			resp.Body.Close()
			daily := rec
			daily.UpdatedAt = t0.Add(72 * time.Hour)
			daily.FirstName = "Renamed"
			if _, err := st.ApplyRecord(ctx, store.Target{TenantID: tenant.ID, Conn: conn, RunID: "daily"}, daily, time.Now()); err != nil {
				t.Fatal(err)
			}
			p, _, err := st.GetPhone(ctx, tenant.ID, "+61412000999")
			if err != nil || p.Ledger.State() != consent.Unsubscribed {
				t.Fatalf("after STOP and a re-sync: %s %v, want unsubscribed", p.Ledger.State(), err)
			}
			cv, err := st.GetContact(ctx, tenant.ID, p.ContactID)
			if err != nil || cv.FirstName.Value != "Renamed" || cv.Status != string(consent.Unsubscribed) {
				t.Fatalf("contact after the re-sync: %+v %v", cv, err)
			}
		})
	}
}
