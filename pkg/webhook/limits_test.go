package webhook_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestWebhook_OversizedNameIsBoundedNot500: a customer whose first and
// last names are 600 characters each is acknowledged (200) and stored
// with names cut to source.MaxNameRunes (issue 15, item 7). Before, the
// name became the name index's sort key (over DynamoDB's 1,024 bytes):
// the webhook answered 500 on every delivery.
func TestWebhook_OversizedNameIsBoundedNot500(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	cust, _ := r.shop.Customer(4)
	cust.FirstName = strings.Repeat("Ö", 600)
	cust.LastName = strings.Repeat("l", 600)
	cust.Billing.FirstName, cust.Billing.LastName = cust.FirstName, cust.LastName
	code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.created", cust))
	if code != 200 || !strings.Contains(body, `"created"`) {
		t.Fatalf("webhook: %d %s", code, body)
	}
	list, _, err := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{}, 10, "")
	if err != nil || len(list) != 1 {
		t.Fatalf("contacts = %d %v", len(list), err)
	}
	c := list[0]
	if c.FirstName.Value != strings.Repeat("Ö", source.MaxNameRunes) || c.LastName.Value != strings.Repeat("l", source.MaxNameRunes) {
		t.Errorf("stored name: %d + %d characters, want %d each", utf8.RuneCountInString(c.FirstName.Value), utf8.RuneCountInString(c.LastName.Value), source.MaxNameRunes)
	}
	// The same delivery again (a new delivery id) changes nothing.
	if code, body := status(t)(r.shop.SendWebhook(ctx, r.url, "whsec", "customer.created", cust)); code != 200 || !strings.Contains(body, `"unchanged"`) {
		t.Errorf("re-fired: %d %s", code, body)
	}
}
