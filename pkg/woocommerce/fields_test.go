package woocommerce_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// Fields lists the customer, billing and shipping fields and the meta
// keys of a sample of customers; a record carries the mapped values.
func TestFields_CustomerBillingAndSampledMeta(t *testing.T) {
	t.Parallel()
	s := woocommercetest.NewServer(woocommercetest.Options{Customers: 3, Seed: 4})
	defer s.Close()
	if _, ok := s.Update(1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), func(c *woocommerce.Customer) {
		c.Billing.City = "Perth"
		c.MetaData = append(c.MetaData, woocommerce.Meta{Key: "points", Value: json.RawMessage(`42`)},
			woocommerce.Meta{Key: "mobile", Value: json.RawMessage(`"0412 345 678"`)})
	}); !ok {
		t.Fatal("no customer 1")
	}
	key, secret := s.Credentials()
	c, err := woocommerce.New(woocommerce.Config{StoreURL: s.URL(), ConsumerKey: key, ConsumerSecret: secret, MaxRPS: 1000},
		source.Options{ConnectionID: "c1", FieldMap: map[string]string{"mobile": "phone", "points": "points", "billing.city": "city"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := c.Fields(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range fields {
		types[f.Key] = f.Type
	}
	for k, want := range map[string]string{"first_name": "text", "billing.phone": "phone", "shipping.phone": "phone", "billing.email": "email",
		"billing.city": "text", "points": "number", "mobile": "text"} {
		if types[k] != want {
			t.Errorf("field %s type %q, want %q (all: %v)", k, types[k], want, fields)
		}
	}
	if _, ok := types["shipping.email"]; ok {
		t.Errorf("shipping.email listed: shipping addresses have no email")
	}
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	for _, cur := range plan.Fanout {
		page, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if r.Fields["mobile"] != "" {
				got = r.Fields
			}
		}
	}
	if w := map[string]string{"mobile": "0412 345 678", "points": "42", "billing.city": "Perth"}; !reflect.DeepEqual(got, w) {
		t.Errorf("record fields = %v, want %v", got, w)
	}
}
