package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// partialShopifyTags is a customer.tags_added for record i of c: no identifier.
func partialShopifyTags(c merge.Connection, i int, tags ...string) source.Record {
	r := record(c, i, t0, "", source.ConsentSignal{})
	return source.Record{Platform: r.Platform, Label: r.Label, ConnectionID: r.ConnectionID, ExternalID: r.ExternalID,
		UpdatedAt: t0, AddGroups: tags, Partial: true}
}

// partialShopifyCreate is a 2025-01 customers/create: no tags, no consent.
func partialShopifyCreate(c merge.Connection, i int) source.Record {
	r := record(c, i, t0, "Ann", source.ConsentSignal{})
	r.Groups, r.HasGroups = nil, false
	return r
}

func partialGroupMembers(t *testing.T, st *store.Store, group string) []store.ContactView {
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
	a, err := st.ApplyRecord(ctx, tgt, partialShopifyTags(c, 3, "VIP"), clk.now())
	if err != nil || a.Decision.Outcome != merge.Skipped || a.Decision.Reason != merge.ReasonUnknownSourceRecord {
		t.Fatalf("tags first: %+v %v", a.Decision, err)
	}
	// A replay holds nothing more.
	if a, err := st.ApplyRecord(ctx, tgt, partialShopifyTags(c, 3, "VIP"), clk.now()); err != nil || a.Wrote {
		t.Fatalf("replayed tags: %+v wrote %v, %v", a.Decision, a.Wrote, err)
	}
	if all, _, _ := st.ListContacts(ctx, "t1", store.ContactFilter{}, 10, ""); len(all) != 0 {
		t.Fatalf("held tags made contacts: %+v", all)
	}
	a, err = st.ApplyRecord(ctx, tgt, partialShopifyCreate(c, 3), clk.now())
	if err != nil || a.Decision.Outcome != merge.Created {
		t.Fatalf("create: %+v %v", a.Decision, err)
	}
	if m := partialGroupMembers(t, st, "Shopify - VIP"); len(m) != 1 || m[0].ID != a.Decision.ContactID {
		t.Fatalf("members of Shopify - VIP: %+v", m)
	}
	// More tags now go to the linked contact.
	if a, err := st.ApplyRecord(ctx, tgt, partialShopifyTags(c, 3, "Gold"), clk.now()); err != nil || a.Decision.Outcome != merge.Updated {
		t.Fatalf("tags after: %+v %v", a.Decision, err)
	}
	got, err := st.GetContact(ctx, "t1", a.Decision.ContactID)
	if err != nil || !slices.Equal(got.Groups, []string{"Shopify - Gold", "Shopify - VIP"}) {
		t.Fatalf("contact groups %v, %v", got.Groups, err)
	}
}

// A customer deleted (or redacted) before its create: the tags held for
// it go with it.
func TestApply_HeldTagsGoWithTheirDeletedCustomer(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("s1", "Shopify", consent.Explicit)
	tgt := store.Target{TenantID: "t1", Conn: c}
	if _, err := st.ApplyRecord(ctx, tgt, partialShopifyTags(c, 3, "VIP"), clk.now()); err != nil {
		t.Fatal(err)
	}
	del := source.Record{Platform: source.Shopify, Label: c.Label, ConnectionID: c.ID, ExternalID: "s1-3", Deleted: true}
	if a, err := st.ApplyRecord(ctx, tgt, del, clk.now()); err != nil || a.Decision.Reason != merge.ReasonNotLinked || !a.Wrote {
		t.Fatalf("delete: %+v wrote %v, %v", a.Decision, a.Wrote, err)
	}
	if _, err := st.ApplyRecord(ctx, tgt, partialShopifyCreate(c, 3), clk.now()); err != nil {
		t.Fatal(err)
	}
	if m := partialGroupMembers(t, st, "Shopify - VIP"); len(m) != 0 {
		t.Fatalf("the deleted customer's held tags reached a contact: %+v", m)
	}
}

// A tag webhook that races its customer's create is not lost. Landing
// between the create's reads and its write, it finds neither link nor
// contact and holds its tags: the create's first link (folded into the
// contact) checks the link item it read, still absent, and applies what
// was held meanwhile. Landing after the create's write, it finds the link
// folded into the new contact and updates it.
func TestApply_TagsRacingTheirCustomersCreate_AreNotLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hook func(*store.Store, func())
		want merge.Outcome
	}{
		{"before the create's write", func(st *store.Store, f func()) { store.SetBeforeWrite(st, f) }, merge.Skipped},
		{"after the create's write", func(st *store.Store, f func()) { store.SetAfterWrite(st, func() error { f(); return nil }) }, merge.Updated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, clk := newStore(t)
			ctx := context.Background()
			c := conn("s1", "Shopify", consent.Explicit)
			tgt := store.Target{TenantID: "t1", Conn: c}
			fired := false
			tc.hook(st, func() {
				if fired {
					return
				}
				fired = true
				a, err := st.ApplyRecord(ctx, tgt, partialShopifyTags(c, 4, "VIP"), clk.now())
				if err != nil || a.Decision.Outcome != tc.want {
					t.Errorf("the racing tags were %s (%v), want %s", a.Decision.Outcome, err, tc.want)
				}
			})
			a, err := st.ApplyRecord(ctx, tgt, partialShopifyCreate(c, 4), clk.now())
			if err != nil || !fired {
				t.Fatalf("create: %v (hook fired %v)", err, fired)
			}
			got, err := st.GetContact(ctx, "t1", a.Decision.ContactID)
			if err != nil || !slices.Equal(got.Groups, []string{"Shopify - VIP"}) {
				t.Fatalf("contact groups %v, %v: the racing tags were lost", got.Groups, err)
			}
			if m := partialGroupMembers(t, st, "Shopify - VIP"); len(m) != 1 {
				t.Fatalf("members of Shopify - VIP: %+v", m)
			}
		})
	}
}

// partialKlaviyoProfile is a profile as the Klaviyo API lists it.
func partialKlaviyoProfile(t *testing.T, email, phone string) klaviyo.Profile {
	t.Helper()
	var p klaviyo.Profile
	raw := fmt.Sprintf(`{"id":"01KPROFILE","attributes":{"email":%q,"phone_number":%q,"first_name":"Kim","last_name":"Lee",
		"updated":"2026-11-01T09:30:00Z","location":{"country":"Australia"},
		"subscriptions":{"sms":{"marketing":{"consent":"SUBSCRIBED","consent_timestamp":"2026-11-01T09:30:00Z","method":"TEXT"}}}}}`, email, phone)
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A Klaviyo profile page and a list member page of the same profile, in
// both orders, when the profile's phone belongs to another contact X (a
// Shopify customer): the profile lands on X (phone first), X keeps its
// email, gets the list's group, and no contact is created or deleted.
func TestApply_KlaviyoMemberPageAndProfilePage_EitherOrder(t *testing.T) {
	t.Parallel()
	for _, memberFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("memberFirst=", memberFirst), func(t *testing.T) {
			t.Parallel()
			st, _, clk := newStore(t)
			ctx := context.Background()
			shop := conn("s1", "Shopify", consent.Explicit)
			x := record(shop, 5, t0, "Xena", source.ConsentSignal{State: source.SignalNeverAsked})
			xa, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: shop}, x, clk.now())
			if err != nil {
				t.Fatal(err)
			}
			kc := conn("k1", "Klaviyo", consent.Explicit)
			opts := source.Options{ConnectionID: kc.ID, Label: kc.Label}
			p := partialKlaviyoProfile(t, "kim@example.com", "+61 412 000 005") // x's phone
			page := []source.Record{p.Record(opts), p.MembershipRecord(opts, "Newsletter")}
			if memberFirst {
				page[0], page[1] = page[1], page[0]
			}
			for _, r := range page {
				a, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: kc, RunID: "run-1"}, r, clk.now())
				if err != nil {
					t.Fatal(err)
				}
				if a.Decision.ContactID != xa.Decision.ContactID || a.Decision.Outcome == merge.Created {
					t.Fatalf("record (partial %v) decided %+v, want it on X %s", r.Partial, a.Decision, xa.Decision.ContactID)
				}
			}
			all, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{}, 10, "")
			if err != nil || len(all) != 1 {
				t.Fatalf("contacts = %+v, %v", all, err)
			}
			c := all[0]
			if c.EmailKey != "user005@example.com" || !slices.Contains(c.Groups, "Klaviyo - Newsletter") ||
				!slices.Equal(c.Labels(), []string{"Klaviyo", "Shopify"}) || c.Status != "subscribed" {
				t.Errorf("contact = %+v status %s", c.Contact, c.Status)
			}
		})
	}
}

// A profile linked to an email-only contact N whose member page now
// carries a phone that contact X has: the member page (partial) stays on
// N and adds its group; only the profile's full record moves the profile
// to X, and even then N, with its email, is not deleted.
func TestApply_KlaviyoMemberPageNeverMovesItsProfile(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	shop := conn("s1", "Shopify", consent.Explicit)
	xa, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: shop}, record(shop, 5, t0, "Xena", source.ConsentSignal{}), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	kc := conn("k1", "Klaviyo", consent.Explicit)
	tgt := store.Target{TenantID: "t1", Conn: kc}
	opts := source.Options{ConnectionID: kc.ID, Label: kc.Label}
	n, err := st.ApplyRecord(ctx, tgt, partialKlaviyoProfile(t, "kim@example.com", "").Record(opts), clk.now())
	if err != nil || n.Decision.Outcome != merge.Created {
		t.Fatalf("profile: %+v %v", n.Decision, err)
	}
	withPhone := partialKlaviyoProfile(t, "kim@example.com", "+61 412 000 005")
	a, err := st.ApplyRecord(ctx, tgt, withPhone.MembershipRecord(opts, "Newsletter"), clk.now())
	if err != nil || a.Decision.ContactID != n.Decision.ContactID {
		t.Fatalf("member page: %+v %v, want it on %s", a.Decision, err, n.Decision.ContactID)
	}
	got, err := st.GetContact(ctx, "t1", n.Decision.ContactID)
	if err != nil || !slices.Equal(got.Groups, []string{"Klaviyo - Newsletter"}) || got.Phone != "" {
		t.Fatalf("N = %+v, %v", got, err)
	}
	full := withPhone.Record(opts)
	full.UpdatedAt = full.UpdatedAt.Add(time.Hour)
	a, err = st.ApplyRecord(ctx, tgt, full, clk.now())
	if err != nil || a.Decision.ContactID != xa.Decision.ContactID || a.Decision.Reason != merge.ReasonEmailConflict {
		t.Fatalf("full profile: %+v %v, want it on X", a.Decision, err)
	}
	if got, err := st.GetContact(ctx, "t1", n.Decision.ContactID); err != nil || got.EmailKey != "kim@example.com" {
		t.Fatalf("N after the move = %+v, %v (want it kept with its email)", got, err)
	}
}
