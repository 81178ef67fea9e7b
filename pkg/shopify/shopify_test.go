package shopify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

func client(t testing.TB, s *shopifytest.Server) *shopify.Client {
	t.Helper()
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL()}, source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listAll(t *testing.T, c *shopify.Client, plan source.Plan) []source.Record {
	t.Helper()
	var all []source.Record
	cur := plan.Fanout[0]
	for pages := 0; ; pages++ {
		p, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Records...)
		if p.Next == "" {
			return all
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		cur = p.Next
	}
}

func TestBulkListing_EveryCustomerExactlyOnceDespiteFailuresAndThrottling(t *testing.T) {
	t.Parallel()
	// A bucket that refills fast but is small: THROTTLED answers happen.
	s := shopifytest.NewServer(shopifytest.Options{Customers: 10000, Seed: 1, FailEvery: 5, MaxAvailable: 600, RestoreRate: 20000})
	defer s.Close()
	c := client(t, s)
	plan, err := c.PlanBulk(context.Background())
	if err != nil || !plan.Chained || len(plan.Fanout) != 1 {
		t.Fatalf("plan = %+v %v", plan, err)
	}
	seen := map[string]int{}
	for _, r := range listAll(t, c, plan) {
		seen[r.ExternalID]++
		if r.Label != "Shopify" || !r.HasGroups {
			t.Fatalf("record %+v", r)
		}
	}
	if len(seen) != 10000 {
		t.Fatalf("%d distinct customers, want 10000", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("customer %s listed %d times", id, n)
		}
	}
}

func TestIncrementalListing_OnlyChanges(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 600, Seed: 2, RestoreRate: 10000})
	defer s.Close()
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{5, 300, 599} {
		s.Update(n, since.Add(time.Hour), func(first, _ *string) { *first = "Changed" })
	}
	c := client(t, s)
	plan, _ := c.PlanIncremental(context.Background(), since)
	recs := listAll(t, c, plan)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for _, r := range recs {
		if r.FirstName != "Changed" {
			t.Errorf("unexpected %+v", r)
		}
	}
}

func TestMapping_ConsentPhonesAndBigIDs(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 50, Seed: 3, RestoreRate: 10000})
	defer s.Close()
	c := client(t, s)
	plan, _ := c.PlanBulk(context.Background())
	states := map[source.SignalState]int{}
	for _, r := range listAll(t, c, plan) {
		states[r.Consent.State]++
		if !strings.HasPrefix(r.ExternalID, "70640550693037") {
			t.Fatalf("external id %s lost precision", r.ExternalID)
		}
		if r.Consent.State != source.SignalNeverAsked && r.Consent.At.IsZero() {
			t.Errorf("explicit consent without its timestamp: %+v", r.Consent)
		}
	}
	if states[source.SignalSubscribed] == 0 || states[source.SignalUnsubscribed] == 0 {
		t.Fatalf("consent states %v", states)
	}
}

func TestAuthAndWriteBack(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 5, Seed: 4})
	defer s.Close()
	bad, _ := shopify.New(shopify.Config{ShopDomain: "x", AccessToken: "wrong", APIBaseURL: s.URL()}, source.Options{}, nil)
	if _, err := bad.PlanBulk(context.Background()); !errors.Is(err, shopify.ErrUnauthorized) {
		t.Fatalf("bad token: plan %v", err) // the plan lists the segments
	}
	plan, _ := bad.PlanIncremental(context.Background(), time.Time{})
	if _, err := bad.FetchPage(context.Background(), plan.Fanout[0]); !errors.Is(err, shopify.ErrUnauthorized) {
		t.Fatalf("bad token: %v", err)
	}
	c := client(t, s)
	if err := c.WriteBackOptOut(context.Background(), "7064055069303700001", "+61400000000"); err != nil {
		t.Fatal(err)
	}
	if wb := s.WriteBacks(); len(wb) != 1 || wb[0] != "gid://shopify/Customer/7064055069303700001" {
		t.Fatalf("write-backs %v", wb)
	}
	if err := c.WriteBackOptOut(context.Background(), "order:1", ""); err == nil {
		t.Fatal("write-back to a guest order succeeded")
	}
}

func TestVerify_PublishedAndDerivedVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/hmac-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Name, Secret, Body, Expected string
			BodyFile                     string `json:"body_file"`
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vectors {
		body := []byte(v.Body)
		if v.BodyFile != "" {
			if body, err = os.ReadFile("testdata/" + v.BodyFile); err != nil {
				t.Fatal(err)
			}
		}
		h := http.Header{}
		h.Set("X-Shopify-Hmac-Sha256", v.Expected)
		if err := shopify.VerifyWebhook([]string{"old-secret", v.Secret}, h, body); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
		flipped := append([]byte{}, body...)
		flipped[0] ^= 1
		if shopify.VerifyWebhook([]string{v.Secret}, h, flipped) == nil {
			t.Errorf("%s: flipped byte verified", v.Name)
		}
		lower := http.Header{"shopify-hmac-sha256": {v.Expected}}
		lower2 := http.Header{}
		for k, vs := range lower {
			lower2[http.CanonicalHeaderKey(k)] = vs
		}
		if shopify.VerifyWebhook([]string{v.Secret}, lower2, body) != nil {
			t.Errorf("%s: events-style header not accepted", v.Name)
		}
	}
	if shopify.VerifyWebhook([]string{"s"}, http.Header{}, []byte("{}")) == nil {
		t.Error("missing header verified")
	}
}

func parse(t *testing.T, topic, file string) source.Webhook {
	t.Helper()
	body, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK mocks wrap orders as REST responses; webhooks send them bare.
	var wrapped struct {
		Order  json.RawMessage   `json:"order"`
		Orders []json.RawMessage `json:"orders"`
	}
	if json.Unmarshal(body, &wrapped) == nil {
		switch {
		case wrapped.Order != nil:
			body = wrapped.Order
		case len(wrapped.Orders) > 0:
			body = wrapped.Orders[0]
		}
	}
	h := http.Header{}
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Webhook-Id", "w-1")
	wh, err := shopify.ParseWebhook(h, body, source.Options{ConnectionID: "c1"})
	if err != nil {
		t.Fatalf("%s: %v", topic, err)
	}
	return wh
}

func TestParse_DocsPayloads(t *testing.T) {
	wh := parse(t, "customers/create", "webhook-customers-create.docs-2026-07.json")
	r := wh.Records[0]
	if r.ExternalID != "706405506930370084" || r.FirstName != "Bob" || r.Emails[0] != "bob@biller.com" || r.Phones[0].Raw != "555-555-5555" ||
		r.Phones[0].Country != "CA" || r.Consent.State != source.SignalNone || r.HasGroups || wh.DeliveryID != "w-1" {
		t.Fatalf("customers/create = %+v", r)
	}
	if r := parse(t, "customers/delete", "webhook-customers-delete.docs-2026-07.json").Records[0]; !r.Deleted || r.ExternalID != "706405506930370084" {
		t.Fatalf("delete = %+v", r)
	}
	if r := parse(t, "customers_marketing_consent/update", "webhook-customers-marketing-consent-update.docs-2026-07.json").Records[0]; r.Consent.State != source.SignalNeverAsked {
		t.Fatalf("consent update = %+v", r)
	}
	if r := parse(t, "customer.tags_added", "webhook-customer-tags-added.docs-2026-07.json").Records[0]; r.ExternalID != "1" || len(r.AddGroups) != 2 {
		t.Fatalf("tags added = %+v", r)
	}
	g := parse(t, "orders/create", "rest-order-customer-null-with-contact-2024-10.sdk-mock.json")
	if len(g.Records) != 1 || !g.Records[0].Guest || g.Records[0].ExternalID != "order:450789469" || len(g.Records[0].Phones) != 2 {
		t.Fatalf("guest order = %+v", g.Records)
	}
	if none := parse(t, "orders/create", "rest-orders-customer-null-no-contact-2024-10.sdk-mock.json"); len(none.Records) != 0 {
		t.Fatalf("order without contact = %+v", none.Records)
	}
}

func TestParse_RejectsUnknownAndGarbage(t *testing.T) {
	for _, tc := range []struct{ topic, body string }{{"products/create", `{}`}, {"customers/create", `{`}, {"customers/create", `{"id":"x"}`},
		{"customers/delete", `{}`}, {"customer.tags_added", `{"customerId":"gid://shopify/Customer/abc"}`}, {"orders/create", `{"id":-1}`}} {
		h := http.Header{}
		h.Set("X-Shopify-Topic", tc.topic)
		if _, err := shopify.ParseWebhook(h, []byte(tc.body), source.Options{}); err == nil {
			t.Errorf("%s %s parsed", tc.topic, tc.body)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, s := range []string{`{"id":706405506930370084,"email":"a@b.co","default_address":{"phone":"555","country_code":"CA"}}`,
		`{"customerId":"gid://shopify/Customer/1","tags":["a"]}`, `{"id":1,"customer":null,"billing_address":{"phone":"+1 502 459 2181"}}`, `[]`, `null`,
		`{"shop_id":"gid://shopify/Shop/1","customer_id":"gid://shopify/Customer/2","segment_id":"gid://shopify/Segment/3"}`} {
		for _, topic := range []string{"customers/create", "customer.tags_added", "orders/create", "customers/redact", "customers_marketing_consent/update", "customer.joined_segment"} {
			f.Add(topic, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		h := http.Header{}
		h.Set("X-Shopify-Topic", topic)
		wh, err := shopify.ParseWebhookWith(context.Background(), h, body, source.Options{}, segmentNamed("S"))
		if err != nil {
			return
		}
		for _, r := range wh.Records {
			if r.ExternalID == "" {
				t.Fatalf("record without id from %q", body)
			}
		}
	})
}

func TestFake_SignedDeliveryVerifies(t *testing.T) {
	s := shopifytest.NewServer(shopifytest.Options{Customers: 3})
	defer s.Close()
	var got source.Webhook
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(body)
		if err := shopify.VerifyWebhook([]string{"sec"}, r.Header, body); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got, _ = shopify.ParseWebhook(r.Header, body, source.Options{})
	})
	srv := newServer(hook)
	defer srv.Close()
	resp, err := s.SendWebhook(context.Background(), srv.URL, "sec", "customers/update", s.CustomerPayload(2))
	if err != nil || resp.StatusCode != 200 || len(got.Records) != 1 || got.Records[0].ExternalID != "7064055069303700002" {
		t.Fatalf("delivery: %v %v %+v", resp, err, got)
	}
}
