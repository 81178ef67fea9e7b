package woocommerce_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// The vectors of testdata/signature-vectors.json: the WooCommerce core unit
// test and one derived over the PHP-encoded customer body (see its .md).
func TestVerify_PublishedAndDerivedVectors(t *testing.T) {
	var v struct {
		Vectors []struct {
			Name, Secret, Body, Expected string
			BodyFile                     string `json:"body_file"`
			Wrong                        string `json:"wrong_if_reserialized_without_slash_escapes"`
		}
	}
	if err := json.Unmarshal(readFixture(t, "signature-vectors.json"), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) < 2 {
		t.Fatalf("%d vectors", len(v.Vectors))
	}
	for _, vec := range v.Vectors {
		body := []byte(vec.Body)
		if vec.BodyFile != "" {
			body = readFixture(t, vec.BodyFile)
		}
		if got := woocommerce.Sign(vec.Secret, body); got != vec.Expected {
			t.Errorf("%s: Sign = %s, want %s", vec.Name, got, vec.Expected)
		}
		h := http.Header{}
		h.Set(woocommerce.HeaderSignature, vec.Expected)
		h.Set(woocommerce.HeaderTopic, "customer.created")
		if vec.Secret != "" {
			if err := woocommerce.VerifyWebhook(vec.Secret, h, body); err != nil {
				t.Errorf("%s: verify: %v", vec.Name, err)
			}
			flipped := append([]byte{}, body...)
			flipped[len(flipped)/2] ^= 1
			if err := woocommerce.VerifyWebhook(vec.Secret, h, flipped); err == nil {
				t.Errorf("%s: a flipped byte verified", vec.Name)
			}
		}
		if vec.Wrong != "" {
			h.Set(woocommerce.HeaderSignature, vec.Wrong)
			if err := woocommerce.VerifyWebhook(vec.Secret, h, body); err == nil {
				t.Errorf("%s: the re-serialised signature verified", vec.Name)
			}
		}
	}
}

func TestVerify_MissingSignatureFails(t *testing.T) {
	h := http.Header{}
	h.Set(woocommerce.HeaderTopic, "customer.created")
	if err := woocommerce.VerifyWebhook("s", h, []byte(`{"id":1}`)); err == nil {
		t.Fatal("unsigned delivery verified")
	}
}

func TestParse_DocsCustomerAndGuestOrder(t *testing.T) {
	opts := source.Options{ConnectionID: "c1"}
	h := http.Header{}
	h.Set(woocommerce.HeaderTopic, "customer.created")
	h.Set(woocommerce.HeaderDeliveryID, "d1")
	wh, err := woocommerce.ParseWebhookKeys(h, readFixture(t, "customer.docs-v3.json"), opts, woocommerce.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	r := wh.Records[0]
	if wh.DeliveryID != "d1" || r.ExternalID != "25" || r.FirstName != "John" || r.Emails[0] != "john.doe@example.com" ||
		r.Phones[0].Raw != "(555) 555-5555" || r.Phones[0].Country != "US" || r.Label != "WooCommerce" || r.UpdatedAt.IsZero() {
		t.Fatalf("customer record = %+v", r)
	}
	h.Set(woocommerce.HeaderTopic, "order.created")
	wh, err = woocommerce.ParseWebhookKeys(h, readFixture(t, "order-guest.docs-v3.json"), opts, woocommerce.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	if len(wh.Records) != 1 || !wh.Records[0].Guest || wh.Records[0].ExternalID != "order:727" {
		t.Fatalf("guest order records = %+v", wh.Records)
	}
	h.Set(woocommerce.HeaderTopic, "customer.deleted")
	wh, err = woocommerce.ParseWebhookKeys(h, []byte(`{"id":25}`), opts, woocommerce.Keys{})
	if err != nil || !wh.Records[0].Deleted || wh.Records[0].ExternalID != "25" {
		t.Fatalf("delete = %+v %v", wh, err)
	}
}

func TestParse_RejectsUnknownTopicsAndGarbage(t *testing.T) {
	for _, tc := range []struct{ topic, body string }{
		{"product.created", `{"id":1}`}, {"customer.created", `{`}, {"customer.created", `[]`}, {"customer.deleted", `{"id":"x"}`},
		{"order.created", `{"id":0}`}, {"", `{}`},
	} {
		h := http.Header{}
		h.Set(woocommerce.HeaderTopic, tc.topic)
		if _, err := woocommerce.ParseWebhookKeys(h, []byte(tc.body), source.Options{}, woocommerce.Keys{}); err == nil {
			t.Errorf("topic %q body %s parsed", tc.topic, tc.body)
		}
	}
}

func TestFake_SendsSignedDeliveriesAndPings(t *testing.T) {
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 3, Seed: 9})
	defer s.Close()
	var got []source.Webhook
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := woocommerce.VerifyWebhook("wsec", r.Header, body); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		wh, err := woocommerce.ParseWebhookKeys(r.Header, body, source.Options{}, woocommerce.Keys{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, wh)
	}))
	defer hook.Close()
	cust, _ := s.Customer(2)
	resp, err := s.SendWebhook(context.Background(), hook.URL, "wsec", "customer.updated", cust)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("delivery: %v %v", resp, err)
	}
	if resp, _ := s.SendWebhook(context.Background(), hook.URL, "wrong", "customer.updated", cust); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrongly signed delivery answered %d", resp.StatusCode)
	}
	if resp, err := woocommercetest.SendPing(context.Background(), hook.URL, 7); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ping: %v %v", resp, err)
	}
	if len(got) != 2 || got[0].Records[0].ExternalID != "2" || !got[1].Ping {
		t.Fatalf("deliveries = %+v", got)
	}
}
