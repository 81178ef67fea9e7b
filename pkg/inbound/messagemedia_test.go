package inbound_test

import (
	"context"
	"encoding/json"
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
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestMessageMedia_SignedYesConfirmsDoubleOptIn: an RSA-signed MessageMedia
// reply "YES" from a number pending double opt-in subscribes it (signature
// failures are covered in pkg/sms/messagemedia).
func TestMessageMedia_SignedYesConfirmsDoubleOptIn(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	f := messagemediatest.NewServer(messagemediatest.Options{Sign: true})
	defer f.Close()
	key, secret := f.Credentials()
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	settings, _ := json.Marshal(sms.Settings{Provider: sms.MessageMedia, Sender: "+61400000000", CompanyName: "Acme", APIBaseURL: f.URL(),
		Credentials: map[string]string{"apiKey": key, "apiSecret": secret, "signaturePublicKey": f.PublicKeyPEM()}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, settings)); err != nil {
		t.Fatal(err)
	}
	conn := merge.Connection{ID: "c1", Label: "Klaviyo", Mode: consent.DoubleOptIn, DefaultRegion: "AU"}
	rec := source.Record{Platform: source.Klaviyo, Label: "Klaviyo", ConnectionID: "c1", ExternalID: "p1", UpdatedAt: time.Now().Add(-time.Hour),
		Emails: []string{"mm@example.com"}, Phones: []source.PhoneField{{Raw: "+61412999000"}}, Consent: source.ConsentSignal{State: source.SignalNeverAsked}}
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: tenant.ID, Conn: conn}, rec, time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL)}).Handle))
	defer srv.Close()
	resp, _, err := f.SendReply(ctx, srv.URL+"/sms/inbound/messagemedia/"+tenant.ID, "+61412999000", "+61400000000", "YES", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("YES: %v %v", resp, err)
	}
	p, _, err := st.GetPhone(ctx, tenant.ID, "+61412999000")
	if err != nil || p.Ledger.State() != consent.Subscribed {
		t.Fatalf("after YES: %s %v, want subscribed", p.Ledger.State(), err)
	}
}
