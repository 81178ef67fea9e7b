package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/webhook"
)

// partialHub is the webhook handler on the embedded stack, for tests that make
// their own tenants and connections.
type partialHub struct {
	st     *store.Store
	sealer *seal.Sealer
	base   string // .../webhooks
}

func newPartialHub(t *testing.T) *partialHub {
	t.Helper()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h := webhook.New(webhook.Deps{Store: st, Opener: sealer, Connectors: connectors.Webhooks(), Outbox: queue.NewSender(s.SQS, s.OutboxQueueURL)})
	srv := httptest.NewServer(sandbox.HTTP("/webhooks/{platform}/{connectionId}", h.Handle))
	t.Cleanup(srv.Close)
	return &partialHub{st: st, sealer: sealer, base: srv.URL + "/webhooks/"}
}

func (h *partialHub) tenant(t *testing.T) string {
	t.Helper()
	tn, _, err := h.st.CreateTenant(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// connect adds a connection to tenant and returns its id and webhook URL.
func (h *partialHub) connect(t *testing.T, tenant, platform, label, mode string, cfg map[string]string) (string, string) {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	c := store.Connection{TenantID: tenant, ID: store.NewConnectionID(tenant), Platform: platform, Label: label,
		ConsentMode: mode, DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: h.sealer.Seal(tenant, raw)}
	if err := h.st.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.ID, h.base + platform + "/" + c.ID
}

func (h *partialHub) contacts(t *testing.T, tenant string) []store.ContactView {
	t.Helper()
	list, _, err := h.st.ListContacts(context.Background(), tenant, store.ContactFilter{}, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// postSignedShopify posts a signed Shopify webhook (API 2025-01 headers).
func postSignedShopify(t *testing.T, u, secret, topic string, payload any) string {
	t.Helper()
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign(secret, body))
	req.Header.Set("X-Shopify-Webhook-Id", fmt.Sprintf("wh-%s-%d", topic, time.Now().UnixNano()))
	req.Header.Set("X-Shopify-Shop-Domain", "acme.myshopify.com")
	req.Header.Set("X-Shopify-API-Version", "2025-01")
	req.Header.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	code, b := status(t)(http.DefaultClient.Do(req))
	if code != http.StatusOK {
		t.Fatalf("%s: %d %s", topic, code, b)
	}
	return b
}

const (
	partialPhone   = "+61412345678"
	partialPhoneAU = "0412 345 678"
)

var partialAt = time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)

func partialShopifyCustomer(id int, email, phone, first string) map[string]any {
	return map[string]any{"id": id, "email": email, "phone": phone, "first_name": first, "last_name": "Doe",
		"created_at": partialAt.Format(time.RFC3339), "updated_at": partialAt.Format(time.RFC3339),
		"default_address": map[string]any{"country_code": "AU", "phone": nil}}
}

func partialOrders() [][]int {
	return [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
}

// TestWebhook_ShopifyCustomerConsentAndTags_AnyOrder sends what Shopify
// (API 2025-01+) sends for one new customer — customers/create (no tags,
// no consent), customers_marketing_consent/update (id, phone, consent) and
// customer.tags_added — all with one timestamp, in every order. Whatever
// the order, the customer ends on one contact with its tags and its
// consent, and no contact is ever deleted. When its phone belongs to
// another contact already, that is the contact, and it keeps its own
// email (the customer's stays on its source record).
func TestWebhook_ShopifyCustomerConsentAndTags_AnyOrder(t *testing.T) {
	t.Parallel()
	h := newPartialHub(t)
	names := []string{"create", "consent", "tags"}
	for _, phoneTaken := range []bool{true, false} {
		for _, order := range partialOrders() {
			name := fmt.Sprintf("phoneTaken=%v/%s-%s-%s", phoneTaken, names[order[0]], names[order[1]], names[order[2]])
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				tenant := h.tenant(t)
				connID, u := h.connect(t, tenant, "shopify", "Shopify", "explicit", map[string]string{
					"shopDomain": "acme.myshopify.com", "accessToken": "shpat_x", "webhookSecret": "whsec"})
				seen := map[string]bool{}
				check := func(step string) {
					t.Helper()
					ids := map[string]bool{}
					for _, c := range h.contacts(t, tenant) {
						ids[c.ID] = true
					}
					for id := range seen {
						if !ids[id] {
							t.Fatalf("after %s: contact %s was deleted", step, id)
						}
					}
					for id := range ids {
						seen[id] = true
					}
				}
				var x string
				if phoneTaken {
					postSignedShopify(t, u, "whsec", "customers/create", partialShopifyCustomer(1, "xena@example.com", partialPhone, "Xena"))
					list := h.contacts(t, tenant)
					if len(list) != 1 {
						t.Fatalf("contacts = %+v", list)
					}
					x = list[0].ID
					check("customer 1")
				}
				steps := []func() string{
					func() string {
						return postSignedShopify(t, u, "whsec", "customers/create", partialShopifyCustomer(7, "Jane.Doe@Example.com", partialPhoneAU, "Jane"))
					},
					func() string {
						return postSignedShopify(t, u, "whsec", "customers_marketing_consent/update", map[string]any{
							"id": 7, "phone": partialPhone, "email_address": nil,
							"sms_marketing_consent": map[string]any{"state": "subscribed", "opt_in_level": "single_opt_in",
								"consent_updated_at": partialAt.Format(time.RFC3339), "consent_collected_from": "SHOPIFY"}})
					},
					func() string {
						return postSignedShopify(t, u, "whsec", "customer.tags_added", map[string]any{
							"customerId": "gid://shopify/Customer/7", "tags": []string{"VIP"}, "occurredAt": partialAt.Format(time.RFC3339)})
					},
				}
				for _, i := range order {
					body := steps[i]()
					if strings.Contains(body, "phone_conflict") {
						t.Fatalf("%s: %s", names[i], body)
					}
					check(names[i])
				}
				list := h.contacts(t, tenant)
				if len(list) != 1 {
					t.Fatalf("contacts = %+v, want one", list)
				}
				c := list[0]
				wantEmail := "jane.doe@example.com"
				if phoneTaken {
					wantEmail = "xena@example.com"
					if c.ID != x {
						t.Errorf("customer 7 is on %s, want the phone's contact %s", c.ID, x)
					}
				}
				if c.Phone != partialPhone || c.EmailKey != wantEmail {
					t.Errorf("contact phone %s email %s, want %s %s", c.Phone, c.EmailKey, partialPhone, wantEmail)
				}
				if !slices.Contains(c.Groups, "Shopify - VIP") {
					t.Errorf("groups = %v, want Shopify - VIP", c.Groups)
				}
				if c.Status != "subscribed" {
					t.Errorf("status = %s, want subscribed", c.Status)
				}
				l, ok := c.Link(merge.LinkKey{ConnectionID: connID, ExternalID: "7"})
				if !ok || !slices.Equal(l.Groups, []string{"VIP"}) {
					t.Errorf("customer 7's link = %+v (%v)", l, ok)
				}
				if phoneTaken && l.Email != "Jane.Doe@Example.com" {
					t.Errorf("customer 7's link email = %q, want its own email kept there", l.Email)
				}
				members, _, err := h.st.ListContacts(context.Background(), tenant, store.ContactFilter{Group: "Shopify - VIP"}, 10, "")
				if err != nil || len(members) != 1 || members[0].ID != c.ID {
					t.Errorf("members of Shopify - VIP = %+v, %v", members, err)
				}
			})
		}
	}
}

// postMailchimpForm posts a Mailchimp list webhook with the URL's token.
func postMailchimpForm(t *testing.T, u, token string, form url.Values) string {
	t.Helper()
	resp, err := http.Post(u+"?token="+url.QueryEscape(token), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	code, b := status(t)(resp, err)
	if code != http.StatusOK {
		t.Fatalf("%s: %d %s", form.Get("type"), code, b)
	}
	return b
}

// TestWebhook_MailchimpProfileUpdateStaysOnItsContact: a member's profile
// webhook (merge fields, no tags, no SMS status) whose PHONE belongs to
// another contact updates the member's own contact; it does not move the
// member to the phone's contact or delete its contact (design.md §3
// partial records).
func TestWebhook_MailchimpProfileUpdateStaysOnItsContact(t *testing.T) {
	t.Parallel()
	h := newPartialHub(t)
	tenant := h.tenant(t)
	_, shop := h.connect(t, tenant, "shopify", "Shopify", "explicit", map[string]string{
		"shopDomain": "acme.myshopify.com", "accessToken": "shpat_x", "webhookSecret": "whsec"})
	_, mc := h.connect(t, tenant, "mailchimp", "Mailchimp", "explicit", map[string]string{
		"apiKey": "k-us1", "listId": "l1", "webhookToken": "tok"})
	postSignedShopify(t, shop, "whsec", "customers/create", partialShopifyCustomer(1, "xena@example.com", partialPhone, "Xena"))
	member := func(typ, first, phone string) url.Values {
		return url.Values{"type": {typ}, "fired_at": {partialAt.Format("2006-01-02 15:04:05")}, "data[id]": {"m1"},
			"data[email]": {"bea@example.com"}, "data[merges][FNAME]": {first}, "data[merges][PHONE]": {phone}}
	}
	postMailchimpForm(t, mc, "tok", member("subscribe", "Bea", ""))
	var n string
	for _, c := range h.contacts(t, tenant) {
		if c.EmailKey == "bea@example.com" {
			n = c.ID
		}
	}
	if n == "" {
		t.Fatalf("no contact for the member: %+v", h.contacts(t, tenant))
	}
	later := member("profile", "Beatrice", partialPhoneAU)
	later.Set("fired_at", partialAt.Add(time.Minute).Format("2006-01-02 15:04:05"))
	postMailchimpForm(t, mc, "tok", later)
	list := h.contacts(t, tenant)
	if len(list) != 2 {
		t.Fatalf("contacts = %+v, want the member's and the phone's", list)
	}
	for _, c := range list {
		switch c.ID {
		case n:
			if c.EmailKey != "bea@example.com" || c.FirstName.Value != "Beatrice" || c.Phone != "" || !slices.Equal(c.Labels(), []string{"Mailchimp"}) {
				t.Errorf("member's contact = %+v", c.Contact)
			}
		default:
			if c.Phone != partialPhone || c.EmailKey != "xena@example.com" || !slices.Equal(c.Labels(), []string{"Shopify"}) {
				t.Errorf("phone's contact = %+v", c.Contact)
			}
		}
	}
	// An unsubscribe (an email unsubscribe, partial too) leaves it there.
	postMailchimpForm(t, mc, "tok", member("unsubscribe", "Beatrice", partialPhoneAU))
	if list := h.contacts(t, tenant); len(list) != 2 {
		t.Fatalf("after unsubscribe: %+v", list)
	}
}
