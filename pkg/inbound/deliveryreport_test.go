package inbound_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/inbound"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia/messagemediatest"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestMessageMediaDeliveryReportsAtTheInboundURLAreAcknowledged: every
// MessageMedia message carries our inbound URL as its callback_url, so its
// delivery reports arrive there too; they are answered 200 (not a 400 the
// provider would retry) and change nothing, and a reply still works.
func TestMessageMediaDeliveryReportsAtTheInboundURLAreAcknowledged(t *testing.T) {
	t.Parallel()
	mm := messagemediatest.NewServer(messagemediatest.Options{Sign: true})
	defer mm.Close()
	key, secret := mm.Credentials()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	tenant, _, _ := st.CreateTenant(ctx, "Acme")
	raw, _ := json.Marshal(sms.Settings{Provider: sms.MessageMedia, Sender: "+61400000000", CompanyName: "Acme",
		Credentials: map[string]string{"apiKey": key, "apiSecret": secret, "signaturePublicKey": mm.PublicKeyPEM()}})
	if err := st.SetSMSProvider(ctx, tenant.ID, sealer.Seal(tenant.ID, raw)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sandbox.HTTP("/sms/inbound/{provider}/{tenantId}", inbound.New(inbound.Deps{Store: st, Opener: sealer, Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL)}).Handle))
	defer srv.Close()
	url := srv.URL + "/sms/inbound/messagemedia/" + tenant.ID
	resp, err := mm.SendDeliveryReport(ctx, url, "877c19ef-fa2e-4cec-827a-e1df9b5509f7", "delivered")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("delivery report: %v %v, want 200", resp, err)
	}
	resp.Body.Close()
	if _, found, err := st.GetPhone(ctx, tenant.ID, "+61491570156"); err != nil || found {
		t.Errorf("a delivery report made a phone record (%v)", err)
	}
	resp, _, err = mm.SendReply(ctx, url, "+61412000999", "+61400000000", "STOP", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("reply: %v %v, want 200", resp, err)
	}
	resp.Body.Close()
}
