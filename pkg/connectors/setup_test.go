package connectors_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// A WooCommerce customer webhook carries the role and the connection's
// groups meta key as the complete group set, as the pages do.
func TestWooWebhook_GroupsFromRoleAndTheGroupsMetaKey(t *testing.T) {
	body := []byte(`{"id":7,"email":"a@example.com","username":"a","role":"wholesale_customer",` +
		`"meta_data":[{"id":1,"key":"_tags","value":["VIP","Gold"]},{"id":2,"key":"other","value":"x,y"}]}`)
	h := http.Header{}
	h.Set(woocommerce.HeaderTopic, "customer.updated")
	wh, err := connectors.Webhooks()[source.WooCommerce].Parse(map[string]string{"groupsMetaKey": "_tags"},
		source.Delivery{Header: h, Body: body}, source.Options{ConnectionID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if r := wh.Records[0]; !r.HasGroups || !slices.Equal(r.Groups, []string{"wholesale_customer", "VIP", "Gold"}) {
		t.Fatalf("groups %q (complete %v)", r.Groups, r.HasGroups)
	}
}
