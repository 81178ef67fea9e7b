package merge

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

// The three webhooks Shopify sends for one new customer since API
// 2025-01: the customer (no tags, no consent), its SMS consent (id, phone,
// consent) and its tags (a delta), all at the same time.
func partialShopifyCreate(phone, email string) (source.Record, Identity) {
	r := rec("7", 5, "Jane", "Doe")
	return r, ident(phone, email)
}

func partialShopifyConsent(phone string) (source.Record, Identity) {
	r := source.Record{ExternalID: "7", UpdatedAt: at(5), Partial: true,
		Consent: source.ConsentSignal{State: source.SignalSubscribed, At: at(5)}}
	return r, ident(phone, "")
}

func partialShopifyTags(tags ...string) (source.Record, Identity) {
	return source.Record{ExternalID: "7", UpdatedAt: at(5), AddGroups: tags}, Identity{}
}

func partialOrders(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range partialOrders(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestMerge_PartialRecords_ShopifyTopicsInAnyOrder: whatever the order of
// create, consent and tags_added (all at one time), the customer ends on
// one contact with its tags and consent, and no contact is deleted. With
// the phone on another contact X (another integration's), that is X, which
// keeps its own email (email_conflict).
func TestMerge_PartialRecords_ShopifyTopicsInAnyOrder(t *testing.T) {
	t.Parallel()
	for _, phoneOnX := range []bool{true, false} {
		for _, order := range partialOrders(3) {
			t.Run(fmt.Sprintf("phoneOnX=%v/%v", phoneOnX, order), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				var x Decision
				if phoneOnX {
					x = w.merge(woo, rec("w1", 1, "Xena", ""), ident(phoneA, emailB))
				}
				steps := []func() Decision{
					func() Decision { r, id := partialShopifyCreate(phoneA, emailA); return w.merge(shopify, r, id) },
					func() Decision { r, id := partialShopifyConsent(phoneA); return w.merge(shopify, r, id) },
					func() Decision { r, id := partialShopifyTags("VIP"); return w.merge(shopify, r, id) },
				}
				for _, i := range order {
					d := steps[i]()
					for _, m := range d.Mutations {
						if m.Kind == MutDeleteContact || m.Kind == MutRemoveLink {
							t.Fatalf("step %d: %v in %+v", i, m.Kind, d)
						}
					}
					if d.Reason == ReasonPhoneConflict {
						t.Fatalf("step %d: %+v", i, d)
					}
				}
				if len(w.s.Contacts) != 1 {
					t.Fatalf("contacts = %+v, want one", w.s.Contacts)
				}
				c := w.byPhone(phoneA)
				wantEmail := emailA
				if phoneOnX {
					wantEmail = emailB
					if c.ID != x.ContactID {
						t.Errorf("customer on %s, want X %s", c.ID, x.ContactID)
					}
				}
				if c.EmailKey != wantEmail || c.FirstName.Value != "Jane" && !phoneOnX {
					t.Errorf("contact = %+v", c)
				}
				if !partialContains(c.Groups, "Shopify - VIP") {
					t.Errorf("groups = %v, want Shopify - VIP", c.Groups)
				}
				if got := Status(c, w.s.Ledger(phoneA)); got != consent.Subscribed {
					t.Errorf("status = %s, want subscribed", got)
				}
				if l, ok := c.Link(LinkKey{"shop-1", "7"}); !ok || !reflect.DeepEqual(l.Groups, []string{"VIP"}) {
					t.Errorf("link = %+v %v", l, ok)
				}
				if len(w.s.Held) != 0 {
					t.Errorf("held left over: %v", w.s.Held)
				}
			})
		}
	}
}

func partialContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// TestMerge_PartialRecord_LinkedStaysOnItsContact is the bug: a customer
// on an email-only contact N (its phone belongs to X) gets a consent
// webhook with that phone. It must not re-match by phone, move the link to
// X or delete N; the consent goes to the number.
func TestMerge_PartialRecord_LinkedStaysOnItsContact(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n := w.merge(shopify, rec("7", 1, "Jane", ""), ident("", emailA))
	x := w.merge(woo, rec("w1", 1, "Xena", ""), ident(phoneA, emailB))
	r, id := partialShopifyConsent(phoneA)
	d := w.merge(shopify, r, id)
	if d.ContactID != n.ContactID {
		t.Fatalf("decision = %+v, want it on %s", d, n.ContactID)
	}
	for _, m := range d.Mutations {
		switch {
		case m.Kind == MutConsent, m.Kind == MutQueueMessage:
		case m.Kind == MutPutLink && m.ContactID == n.ContactID: // remembers the partial record
		default:
			t.Errorf("mutation %v on %s: a partial record changed a contact", m.Kind, m.ContactID)
		}
	}
	// Replayed (a new delivery id), it changes nothing.
	if again := w.merge(shopify, r, id); len(again.Mutations) != 0 || again.Reason != ReasonDuplicate {
		t.Errorf("replay = %+v", again)
	}
	if c := w.s.Contacts[n.ContactID]; c.EmailKey != emailA || c.Phone != "" || len(c.Sources) != 1 {
		t.Errorf("N = %+v", c)
	}
	if w.byPhone(phoneA).ID != x.ContactID || w.s.Ledger(phoneA).State() != consent.Subscribed {
		t.Errorf("X = %+v, ledger %s", w.byPhone(phoneA), w.s.Ledger(phoneA).State())
	}
	// A tag delta lands on N too.
	tr, tid := partialShopifyTags("VIP")
	if d := w.merge(shopify, tr, tid); d.ContactID != n.ContactID || !partialContains(w.s.Contacts[n.ContactID].Groups, "Shopify - VIP") {
		t.Errorf("tags: %+v, N %+v", d, w.s.Contacts[n.ContactID])
	}
}

// A partial record fills what its linked contact lacks: a free phone is
// attached.
func TestMerge_PartialRecord_AttachesAFreePhoneToItsContact(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n := w.merge(shopify, rec("7", 1, "Jane", ""), ident("", emailA))
	r, id := partialShopifyConsent(phoneB)
	d := w.merge(shopify, r, id)
	if d.ContactID != n.ContactID || d.Outcome != Updated || w.byPhone(phoneB).ID != n.ContactID {
		t.Fatalf("decision = %+v, contacts %+v", d, w.s.Contacts)
	}
}

// A partial record's time does not hold back the full record: a consent
// or tag event timestamped after the customer's updated_at neither drops
// the customer's next update nor is dropped itself.
func TestMerge_PartialRecord_TimeIsNotTheRecordsVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(shopify, rec("7", 1, "Jane", ""), ident(phoneA, emailA))
	tags := source.Record{ExternalID: "7", UpdatedAt: at(9), AddGroups: []string{"VIP"}}
	w.merge(shopify, tags, Identity{})
	upd := rec("7", 5, "Janet", "")
	if d := w.merge(shopify, upd, ident(phoneA, emailA)); d.Outcome != Updated || w.byPhone(phoneA).FirstName.Value != "Janet" {
		t.Fatalf("update after a later tag event: %+v", d)
	}
	old := source.Record{ExternalID: "7", UpdatedAt: at(2), AddGroups: []string{"Gold"}}
	if d := w.merge(shopify, old, Identity{}); !partialContains(w.byPhone(phoneA).Groups, "Shopify - Gold") {
		t.Fatalf("a tag event older than the customer's update was dropped: %+v", d)
	}
}

// A partial record without identifier for a record not linked yet is
// skipped, its deltas held; a replay holds nothing more; a delete of the
// unlinked record changes nothing.
func TestMerge_PartialRecord_UnlinkedIsHeld(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := source.Record{ExternalID: "7", AddGroups: []string{"VIP", "Gold"}, RemoveGroups: []string{"Gold"}}
	d := w.merge(shopify, r, Identity{})
	if d.Outcome != Skipped || d.Reason != ReasonUnknownSourceRecord || len(d.Mutations) != 1 || d.Mutations[0].Kind != MutHoldLink {
		t.Fatalf("decision = %+v", d)
	}
	if h := w.s.Held[LinkKey{"shop-1", "7"}]; !reflect.DeepEqual(h.Groups, []string{"VIP"}) {
		t.Fatalf("held = %+v", h)
	}
	if d := w.merge(shopify, r, Identity{}); d.Outcome != Skipped || len(d.Mutations) != 0 {
		t.Fatalf("replay = %+v", d)
	}
	noPhone := source.Record{ExternalID: "7", Partial: true, Consent: source.ConsentSignal{State: source.SignalSubscribed}}
	if d := w.merge(shopify, noPhone, Identity{}); d.Outcome != Skipped || len(d.Mutations) != 0 {
		t.Fatalf("consent without phone = %+v", d)
	}
	if len(w.s.Contacts) != 0 {
		t.Fatalf("contacts = %v", w.s.Contacts)
	}
	// A full record with no tags of its own (a 2025-01 customers/create)
	// takes the held ones.
	cr, id := partialShopifyCreate(phoneA, emailA)
	if d := w.merge(shopify, cr, id); d.Outcome != Created || !reflect.DeepEqual(w.byPhone(phoneA).Groups, []string{"Shopify - VIP"}) {
		t.Fatalf("create = %+v, contact %+v", d, w.byPhone(phoneA))
	}
}

// Held deltas go when the customer is deleted before it was linked, or
// when later deltas cancel them.
func TestMerge_PartialRecord_HeldDeltasDropped(t *testing.T) {
	t.Parallel()
	for _, end := range []source.Record{
		{ExternalID: "7", Deleted: true},
		{ExternalID: "7", RemoveGroups: []string{"VIP"}},
	} {
		w := newWorld(t)
		w.merge(shopify, source.Record{ExternalID: "7", AddGroups: []string{"VIP"}}, Identity{})
		d := w.merge(shopify, end, Identity{})
		if len(d.Mutations) != 1 || d.Mutations[0].Kind != MutHoldLink || len(w.s.Held) != 0 {
			t.Fatalf("after %+v: %+v, held %v", end, d, w.s.Held)
		}
		cr, id := partialShopifyCreate(phoneA, emailA)
		if w.merge(shopify, cr, id); len(w.byPhone(phoneA).Groups) != 0 {
			t.Errorf("after %+v the create got %v", end, w.byPhone(phoneA).Groups)
		}
	}
}

// A partial record not linked yet whose identifiers are all invalid is
// invalid, with the phone's reason, as its full record is (nothing held).
func TestMerge_PartialRecord_UnlinkedWithInvalidPhoneIsInvalid(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := source.Record{ExternalID: "7", Partial: true, AddGroups: []string{"VIP"}, Phones: []source.PhoneField{{Raw: "12"}}}
	d := w.merge(shopify, r, Identity{PhoneReason: "too_short"})
	if d.Outcome != Invalid || d.Reason != ReasonNoIdentifier || d.PhoneReason != "too_short" || len(d.Mutations) != 0 {
		t.Fatalf("decision = %+v", d)
	}
}

// TestMerge_PartialConsentWithoutPhone_SpeaksForTheLinkedNumber: a
// partial record that carries a consent signal but no phone (a Klaviyo
// consent event naming only its profile) speaks for the number of the
// contact its source record is linked to; unlinked, it is held, and it
// never creates or moves anything.
func TestMerge_PartialConsentWithoutPhone_SpeaksForTheLinkedNumber(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	full := rec("7", 1, "Jane", "Doe")
	full.Consent = source.ConsentSignal{State: source.SignalSubscribed, At: at(1)}
	w.merge(shopify, full, ident(phoneA, emailA))
	if got := w.s.Ledger(phoneA).State(); got != consent.Subscribed {
		t.Fatalf("after the full record: %s", got)
	}
	stop := source.Record{ExternalID: "7", UpdatedAt: at(5), Partial: true,
		Consent: source.ConsentSignal{State: source.SignalUnsubscribed, At: at(5), Method: "event:klaviyo.unsubscribed_from_sms_marketing"}}
	d := w.merge(shopify, stop, Identity{})
	if d.Outcome != Updated || w.s.Ledger(phoneA).State() != consent.Unsubscribed {
		t.Fatalf("decision %+v, ledger %s: the consent event did not reach the linked number", d, w.s.Ledger(phoneA).State())
	}
	if len(w.s.Contacts) != 1 {
		t.Fatalf("contacts = %+v", w.s.Contacts)
	}
	// A record linked nowhere has no number to speak for: nothing changes.
	other := stop
	other.ExternalID = "8"
	if d := w.merge(shopify, other, Identity{}); d.Outcome == Created || d.Outcome == Updated || len(w.s.Contacts) != 1 {
		t.Fatalf("an unlinked partial consent record: %+v, contacts %d", d, len(w.s.Contacts))
	}
}
