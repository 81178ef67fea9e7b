package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// TestWebhook_LiveConsentOfAnOptedOutNumberIsWrittenBack: a number texted
// STOP before the shop knew it; then Shopify's consent webhook says the
// customer subscribed (consent dated before the STOP). The opt-out is
// written back to the shop at once, through the outbox, without waiting
// for a sync.
func TestWebhook_LiveConsentOfAnOptedOutNumberIsWrittenBack(t *testing.T) {
	t.Parallel()
	const number = "+61412555101"
	shop := shopifytest.NewServer(shopifytest.Options{Customers: 2, Seed: 3})
	defer shop.Close()
	shop.SetSMSConsent(1, number, "SUBSCRIBED", partialAt)
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(20*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(s.DynamoDB, s.Table)
	sealer, _ := seal.New([]byte(strings.Repeat("k", 32)))
	reg := &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true}
	outboxQ := queue.NewSender(s.SQS, s.OutboxQueueURL)
	go (&sandbox.Poller{SQS: s.SQS, QueueURL: s.OutboxQueueURL, Handler: outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, WriteBacks: reg}).Handle, RetryDelay: time.Second}).Run(ctx)
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Outbox: outboxQ})
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", h.Handle))
	defer srv.Close()

	tn, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]string{"shopDomain": shop.Domain(), "accessToken": shop.AccessToken(), "webhookSecret": "whsec", "apiBaseUrl": shop.URL()})
	conn := store.Connection{TenantID: tn.ID, ID: store.NewConnectionID(tn.ID), Platform: "shopify", Label: "Shopify", ConsentMode: "explicit",
		DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, WriteBackOptOuts: true, Config: sealer.Seal(tn.ID, raw)}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	// The STOP, as the inbound handler records it for a number no
	// contact has yet.
	if _, err := st.UpdateLedger(ctx, tn.ID, number, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		l, ch := r.Ledger.Apply(consent.OptOutEvent(time.Now(), consent.Evidence{Text: "STOP", MessageID: "SM1", Provider: "twilio"}))
		l.Phone = number
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	}); err != nil {
		t.Fatal(err)
	}

	id := shopifytest.BaseID + 1
	u := srv.URL + "/webhooks/shopify/" + conn.ID
	postSignedShopify(t, u, "whsec", "customers/create", partialShopifyCustomer(int(id), "ada@example.com", number, "Ada"))
	consentBody := map[string]any{"id": id, "phone": number, "email_address": nil,
		"sms_marketing_consent": map[string]any{"state": "subscribed", "opt_in_level": "single_opt_in",
			"consent_updated_at": partialAt.Format(time.RFC3339), "consent_collected_from": "SHOPIFY"}}
	postSignedShopify(t, u, "whsec", "customers_marketing_consent/update", consentBody)
	gid := "gid://shopify/Customer/" + strconv.FormatInt(id, 10)
	for deadline := time.Now().Add(30 * time.Second); len(shop.WriteBacks()) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if wb := shop.WriteBacks(); !slices.Equal(wb, []string{gid}) {
		t.Fatalf("shop write-backs = %v, want [%s]", wb, gid)
	}

	rec, _, err := st.GetPhone(ctx, tn.ID, number)
	if err != nil || rec.Ledger.State() != consent.Unsubscribed {
		t.Fatalf("ledger = %+v %v", rec.Ledger, err)
	}
}
