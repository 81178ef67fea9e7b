package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// shopifyTags is a customer.tags_added for record i of c: no identifier.
func shopifyTags(c merge.Connection, i int, tags ...string) source.Record {
	r := record(c, i, t0, "", source.ConsentSignal{})
	return source.Record{Platform: r.Platform, Label: r.Label, ConnectionID: r.ConnectionID, ExternalID: r.ExternalID,
		UpdatedAt: t0, AddGroups: tags, Partial: true}
}

// shopifyCreate is a 2025-01 customers/create: no tags, no consent.
func shopifyCreate(c merge.Connection, i int) source.Record {
	r := record(c, i, t0, "Ann", source.ConsentSignal{})
	r.Groups, r.HasGroups = nil, false
	return r
}

func groupMembers(t *testing.T, st *store.Store, group string) []store.ContactView {
	t.Helper()
	list, _, err := st.ListContacts(context.Background(), "t1", store.ContactFilter{Group: group}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// Tags that arrive before their customer are held on the source record
// (skipped, unknown_source_record) and the customer's create applies them.
func TestApply_TagsBeforeTheirCustomer_AreHeldForIt(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("s1", "Shopify", consent.Explicit)
	tgt := store.Target{TenantID: "t1", Conn: c}
	a, err := st.ApplyRecord(ctx, tgt, shopifyTags(c, 3, "VIP"), clk.now())
	if err != nil || a.Decision.Outcome != merge.Skipped || a.Decision.Reason != merge.ReasonUnknownSourceRecord {
		t.Fatalf("tags first: %+v %v", a.Decision, err)
	}
	// A replay holds nothing more.
	if a, err := st.ApplyRecord(ctx, tgt, shopifyTags(c, 3, "VIP"), clk.now()); err != nil || a.Wrote {
		t.Fatalf("replayed tags: %+v wrote %v, %v", a.Decision, a.Wrote, err)
	}
	if all, _, _ := st.ListContacts(ctx, "t1", store.ContactFilter{}, 10, ""); len(all) != 0 {
		t.Fatalf("held tags made contacts: %+v", all)
	}
	a, err = st.ApplyRecord(ctx, tgt, shopifyCreate(c, 3), clk.now())
	if err != nil || a.Decision.Outcome != merge.Created {
		t.Fatalf("create: %+v %v", a.Decision, err)
	}
	if m := groupMembers(t, st, "Shopify - VIP"); len(m) != 1 || m[0].ID != a.Decision.ContactID {
		t.Fatalf("members of Shopify - VIP: %+v", m)
	}
	// More tags now go to the linked contact.
	if a, err := st.ApplyRecord(ctx, tgt, shopifyTags(c, 3, "Gold"), clk.now()); err != nil || a.Decision.Outcome != merge.Updated {
		t.Fatalf("tags after: %+v %v", a.Decision, err)
	}
	got, err := st.GetContact(ctx, "t1", a.Decision.ContactID)
	if err != nil || !slices.Equal(got.Groups, []string{"Shopify - Gold", "Shopify - VIP"}) {
		t.Fatalf("contact groups %v, %v", got.Groups, err)
	}
}

// A tag webhook that lands between the customer's create transaction and
// its link (it finds no link, so it holds its tags) is not lost: the
// create's link is conditioned on the link item it read, and applies what
// was held meanwhile.
func TestApply_TagsRacingTheirCustomersCreate_AreNotLost(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("s1", "Shopify", consent.Explicit)
	tgt := store.Target{TenantID: "t1", Conn: c}
	fired := false
	store.SetAfterWrite(st, func() error {
		if fired {
			return nil
		}
		fired = true
		a, err := st.ApplyRecord(ctx, tgt, shopifyTags(c, 4, "VIP"), clk.now())
		if err == nil && a.Decision.Outcome != merge.Skipped {
			t.Errorf("the racing tags were %s, want held (skipped)", a.Decision.Outcome)
		}
		return err
	})
	a, err := st.ApplyRecord(ctx, tgt, shopifyCreate(c, 4), clk.now())
	if err != nil || !fired {
		t.Fatalf("create: %v (hook fired %v)", err, fired)
	}
	got, err := st.GetContact(ctx, "t1", a.Decision.ContactID)
	if err != nil || !slices.Equal(got.Groups, []string{"Shopify - VIP"}) {
		t.Fatalf("contact groups %v, %v: the racing tags were lost", got.Groups, err)
	}
	if m := groupMembers(t, st, "Shopify - VIP"); len(m) != 1 {
		t.Fatalf("members of Shopify - VIP: %+v", m)
	}
}
