package merge_test

import (
	"fmt"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

func ExampleMerge() {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	conn := merge.Connection{ID: "shop-1", Label: "Shopify", Mode: consent.Confirmation, DefaultRegion: "AU"}
	rec := source.Record{
		Platform: source.Shopify, ConnectionID: "shop-1", ExternalID: "7001", UpdatedAt: now.Add(-time.Hour),
		Emails: []string{"Jane.Doe@Example.com"}, Phones: []source.PhoneField{{Raw: "0412 345 678"}},
		Groups: []string{"VIP"}, HasGroups: true,
		Consent: source.ConsentSignal{State: source.SignalSubscribed, At: now.Add(-time.Hour)},
	}
	var st merge.State
	d := merge.Merge(merge.Input{Record: rec, Identity: merge.Identify(rec, conn.DefaultRegion), Connection: conn, Now: now, NewID: "c-1", State: st})
	fmt.Println(d.Outcome, d.ContactID)
	for _, m := range d.Mutations {
		switch m.Kind {
		case merge.MutSetField, merge.MutClaimPhone, merge.MutClaimEmail:
			fmt.Println(" ", m.Kind, m.Field, m.Value)
		case merge.MutAddGroup:
			fmt.Println(" ", m.Kind, m.Group())
		case merge.MutConsent:
			fmt.Println(" ", m.Kind, m.Consent.Phone, m.Consent.Change.To)
		case merge.MutQueueMessage:
			fmt.Println(" ", m.Kind, m.Message.Purpose)
		default:
			fmt.Println(" ", m.Kind)
		}
	}
	st = merge.Apply(st, d)
	c := st.Contacts["c-1"]
	fmt.Println(c.FirstName.Value, c.Phone, c.EmailKey, c.Groups, merge.Status(c, st.Ledger(c.Phone)))

	// The same payload fired again changes nothing.
	again := merge.Merge(merge.Input{Record: rec, Identity: merge.Identify(rec, conn.DefaultRegion), Connection: conn, Now: now, NewID: "c-2", State: st})
	fmt.Println(again.Outcome, again.Reason, len(again.Mutations))
	// Output:
	// created c-1
	//   create_contact
	//   claim_phone  +61412345678
	//   claim_email  jane.doe@example.com
	//   set_field firstName Jane.Doe
	//   set_field email Jane.Doe@Example.com
	//   put_link
	//   add_group Shopify - VIP
	//   consent +61412345678 subscribed
	//   queue_message confirmation
	// Jane.Doe +61412345678 jane.doe@example.com [Shopify - VIP] subscribed
	// unchanged duplicate 0
}
