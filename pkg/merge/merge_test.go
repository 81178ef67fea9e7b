package merge

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

const (
	phoneA = "+61412345678"
	phoneB = "+61498765432"
	emailA = "jane@example.com"
	emailB = "other@example.com"
)

func TestMerge_NoEmailNoValidPhone_InvalidNoIdentifier(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := Identity{PhoneReason: "too_short"}
	d := w.merge(shopify, rec("1", 1, "Jane", "Doe"), id)
	if d.Outcome != Invalid || d.Reason != ReasonNoIdentifier || d.PhoneReason != "too_short" || len(d.Mutations) != 0 {
		t.Errorf("decision = %+v", d)
	}
	if len(w.s.Contacts) != 0 {
		t.Errorf("contacts created: %v", w.s.Contacts)
	}
}

func TestMerge_OnlyEmail_MatchesByEmailElseCreates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d1 := w.merge(shopify, rec("1", 1, "Jane", ""), ident("", emailA))
	if d1.Outcome != Created {
		t.Fatalf("first = %+v", d1)
	}
	d2 := w.merge(woo, rec("w1", 2, "", "Doe"), ident("", "JANE@example.com"))
	if d2.Outcome != Updated || d2.ContactID != d1.ContactID {
		t.Fatalf("second = %+v, want update of %s", d2, d1.ContactID)
	}
	c := w.byEmail(emailA)
	if c.FirstName.Value != "Jane" || c.LastName.Value != "Doe" || len(c.Sources) != 2 {
		t.Errorf("contact = %+v", c)
	}
	if !reflect.DeepEqual(c.Labels(), []string{"Shopify", "WooCommerce"}) {
		t.Errorf("Labels() = %v", c.Labels())
	}
}

func TestMerge_OnlyPhone_MatchesByPhoneElseCreates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d1 := w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, ""))
	d2 := w.merge(woo, rec("w1", 2, "Janet", ""), ident(phoneA, ""))
	if d1.Outcome != Created || d2.Outcome != Updated || d2.ContactID != d1.ContactID || len(w.s.Contacts) != 1 {
		t.Fatalf("decisions %+v / %+v", d1, d2)
	}
	if got := w.byPhone(phoneA).FirstName.Value; got != "Janet" {
		t.Errorf("first name = %q, want the newer Janet", got)
	}
}

func TestMerge_EmailAndPhone_NeitherKnown_Creates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.merge(shopify, rec("1", 1, "Jane", "Doe"), ident(phoneA, emailA))
	if d.Outcome != Created || d.Reason != "" {
		t.Fatalf("decision = %+v", d)
	}
	c := w.byPhone(phoneA)
	if c.ID != d.ContactID || c.EmailKey != emailA || c.Email.Value != emailA || w.s.Emails[emailA] != c.ID {
		t.Errorf("contact = %+v", c)
	}
}

// One known contact X whose other identifier is empty or equal: update X.
func TestMerge_EmailAndPhone_OneKnown_OtherEmptyOrEqual_UpdatesX(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first Identity
	}{
		{"PhoneKnownEmailEmpty", ident(phoneA, "")},
		{"EmailKnownPhoneEmpty", ident("", emailA)},
		{"BothEqual", ident(phoneA, emailA)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			d1 := w.merge(shopify, rec("1", 1, "Jane", ""), tt.first)
			d2 := w.merge(woo, rec("w1", 2, "", ""), ident(phoneA, emailA))
			if d2.Outcome != Updated || d2.ContactID != d1.ContactID || d2.Reason != "" || len(w.s.Contacts) != 1 {
				t.Fatalf("second = %+v", d2)
			}
			c := w.byPhone(phoneA)
			if c.EmailKey != emailA || w.s.Emails[emailA] != c.ID {
				t.Errorf("contact = %+v", c)
			}
		})
	}
}

// One known contact X whose other identifier differs. The phone first: a
// record whose phone X has lands on X whatever its email (X keeps its own,
// email_conflict, nothing created); a record whose email X has but whose
// phone is new gets a new contact with only the phone (email_conflict).
func TestMerge_EmailAndPhone_OneKnown_OtherDifferent(t *testing.T) {
	t.Parallel()
	t.Run("PhoneOnXWithOtherEmail_LandsOnX_EmailConflict", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		x := w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, emailB))
		d := w.merge(woo, rec("w1", 2, "Janet", ""), ident(phoneA, emailA))
		if d.Outcome != Updated || d.Reason != ReasonEmailConflict || d.ContactID != x.ContactID || len(w.s.Contacts) != 1 {
			t.Fatalf("decision = %+v, contacts %v", d, w.s.Contacts)
		}
		c := w.byPhone(phoneA)
		if c.EmailKey != emailB || c.Email.Value != emailB || w.s.Emails[emailA] != "" {
			t.Errorf("contact = %+v: it keeps its own email, the record's is not claimed", c)
		}
		if !reflect.DeepEqual(c.Labels(), []string{"Shopify", "WooCommerce"}) || c.FirstName.Value != "Janet" {
			t.Errorf("contact = %+v, want both sources and the newer name", c)
		}
		if l, _ := c.Link(LinkKey{"woo-1", "w1"}); l.Email != emailA {
			t.Errorf("link = %+v, want the record's email kept on it", l)
		}
	})
	t.Run("PhoneOnXWithoutEmail_AttachesTheFreeEmail", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		x := w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, ""))
		d := w.merge(woo, rec("w1", 2, "", ""), ident(phoneA, emailA))
		if d.Outcome != Updated || d.Reason != "" || d.ContactID != x.ContactID || w.byPhone(phoneA).EmailKey != emailA {
			t.Fatalf("decision = %+v, contact %+v", d, w.byPhone(phoneA))
		}
	})
	t.Run("PhoneOnXWithoutEmail_EmailOnY_EmailConflict", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		x := w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, ""))
		y := w.merge(shopify, rec("2", 1, "Yan", ""), ident("", emailA))
		d := w.merge(woo, rec("w1", 2, "", ""), ident(phoneA, emailA))
		if d.Outcome != Updated || d.Reason != ReasonEmailConflict || d.ContactID != x.ContactID || len(w.s.Contacts) != 2 {
			t.Fatalf("decision = %+v", d)
		}
		if w.byPhone(phoneA).EmailKey != "" || w.byEmail(emailA).ID != y.ContactID {
			t.Errorf("the email moved: %+v", w.s.Contacts)
		}
	})
	t.Run("LinkedElsewhere_MovesTheLinkAndDeletesNothing", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		// Customer 1 first had only its email: contact L.
		l := w.merge(shopify, rec("1", 1, "Jane", ""), ident("", emailA))
		x := w.merge(woo, rec("w1", 1, "Xena", ""), ident(phoneA, emailB))
		// Then it gives the phone X has: the record lands on X.
		d := w.merge(shopify, rec("1", 2, "Jane", ""), ident(phoneA, emailA))
		if d.Outcome != Updated || d.ContactID != x.ContactID || d.Reason != ReasonEmailConflict {
			t.Fatalf("decision = %+v", d)
		}
		for _, m := range d.Mutations {
			if m.Kind == MutDeleteContact || m.Kind == MutCreateContact {
				t.Fatalf("mutation %v in %+v", m.Kind, d)
			}
		}
		kept, ok := w.s.Contacts[l.ContactID]
		if !ok || kept.EmailKey != emailA || len(kept.Sources) != 0 {
			t.Fatalf("old contact = %+v (%v), want it kept with its email and without the link", kept, ok)
		}
		if w.s.Links[LinkKey{"shop-1", "1"}] != x.ContactID || w.byPhone(phoneA).EmailKey != emailB {
			t.Errorf("links %v, contact %+v", w.s.Links, w.byPhone(phoneA))
		}
	})
	t.Run("EmailOnXWithOtherPhone_EmailConflict", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		x := w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneB, emailA))
		d := w.merge(woo, rec("w1", 2, "Janet", ""), ident(phoneA, emailA))
		if d.Outcome != Created || d.Reason != ReasonEmailConflict || d.ContactID == x.ContactID {
			t.Fatalf("decision = %+v", d)
		}
		n := w.s.Contacts[d.ContactID]
		if n.Phone != phoneA || n.EmailKey != "" {
			t.Errorf("new contact = %+v, want only the free phone", n)
		}
	})
}

// Email on X and phone on Y (X != Y): the phone wins, Y is updated, the
// report says email_conflict.
func TestMerge_EmailOnXPhoneOnY_PhoneWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	x := w.merge(shopify, rec("1", 1, "Xena", ""), ident("", emailA))
	y := w.merge(shopify, rec("2", 1, "Yann", ""), ident(phoneA, ""))
	d := w.merge(woo, rec("w1", 5, "Yannick", ""), ident(phoneA, emailA))
	if d.Outcome != Updated || d.Reason != ReasonEmailConflict || d.ContactID != y.ContactID {
		t.Fatalf("decision = %+v, want update of Y %s", d, y.ContactID)
	}
	if got := w.s.Contacts[y.ContactID]; got.FirstName.Value != "Yannick" || got.EmailKey != "" {
		t.Errorf("Y = %+v", got)
	}
	if got := w.s.Contacts[x.ContactID]; got.EmailKey != emailA || got.FirstName.Value != "Xena" {
		t.Errorf("X = %+v", got)
	}
}

func TestMerge_NameEmpty_FirstNameIsEmailLocalPart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.merge(shopify, rec("1", 1, "", ""), ident("", "Jane.Doe@Example.com"))
	c := w.s.Contacts[d.ContactID]
	if c.FirstName.Value != "Jane.Doe" || c.Email.Value != "Jane.Doe@Example.com" || c.EmailKey != "jane.doe@example.com" {
		t.Fatalf("contact = %+v", c)
	}
	// A real name, even from an older record, replaces the derived one.
	w.merge(woo, rec("w1", 0, "Jane", ""), ident("", "jane.doe@example.com"))
	if got := w.s.Contacts[d.ContactID].FirstName.Value; got != "Jane" {
		t.Errorf("first name = %q, want Jane", got)
	}
	// And a later nameless record does not bring the local part back.
	w.merge(woo, rec("w1", 9, "", ""), ident("", "jane.doe@example.com"))
	if got := w.s.Contacts[d.ContactID].FirstName.Value; got != "Jane" {
		t.Errorf("first name = %q, want Jane", got)
	}
}

func TestMerge_NewerSourceUpdateWinsPerField(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(shopify, rec("1", 10, "Jane", "Doe"), ident(phoneA, ""))
	w.merge(woo, rec("w1", 5, "Janet", "Smith"), ident(phoneA, "")) // older: loses
	c := w.byPhone(phoneA)
	if c.FirstName.Value != "Jane" || c.LastName.Value != "Doe" {
		t.Fatalf("after older update: %+v", c)
	}
	w.merge(woo, rec("w1", 20, "", "Smith"), ident(phoneA, "")) // newer last name only
	c = w.byPhone(phoneA)
	if c.FirstName.Value != "Jane" || c.LastName.Value != "Smith" || !c.LastName.At.Equal(at(20)) {
		t.Errorf("after newer update: %+v", c)
	}
}

func TestMerge_EmptyIncomingNeverErases(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("1", 1, "Jane", "Doe")
	r.Fields = map[string]string{"birthday": "1990-01-01"}
	w.merge(shopify, r, ident(phoneA, emailA))
	r2 := rec("1", 50, "", "")
	r2.Fields = map[string]string{"birthday": ""}
	d := w.merge(shopify, r2, ident(phoneA, ""))
	c := w.byPhone(phoneA)
	if c.FirstName.Value != "Jane" || c.LastName.Value != "Doe" || c.EmailKey != emailA || c.Custom["birthday"].Value != "1990-01-01" {
		t.Errorf("contact = %+v after %+v", c, d)
	}
}

func TestMerge_FieldMapDecidesWhichFieldFeedsWhich(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mc := Connection{ID: "mc-1", Label: "Mailchimp", Mode: consent.Explicit,
		FieldMap: map[string]string{"FNAME": FieldFirstName, "LNAME": FieldLastName, "BDAY": "birthday", "SECRET": ""}}
	r := rec("h1", 1, "", "")
	r.Fields = map[string]string{"FNAME": "Jane", "LNAME": "Doe", "BDAY": "01/02", "SECRET": "x", "CITY": "Perth"}
	d := w.merge(mc, r, ident("", emailA))
	c := w.s.Contacts[d.ContactID]
	want := map[string]Field{"birthday": {Value: "01/02", At: at(1)}, "CITY": {Value: "Perth", At: at(1)}}
	if c.FirstName.Value != "Jane" || c.LastName.Value != "Doe" || !reflect.DeepEqual(c.Custom, want) {
		t.Errorf("contact = %+v", c)
	}
}

func TestMerge_GroupsArePrefixedWithLabel_GuestsInGuestsGroup(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("1", 1, "Jane", "")
	r.Groups, r.HasGroups = []string{"VIP", "Newsletter", "VIP"}, true
	w.merge(shopify, r, ident(phoneA, ""))
	g := rec("order-9", 2, "Jane", "")
	g.Guest, g.HasGroups = true, true
	w.merge(woo, g, ident(phoneA, ""))
	c := w.byPhone(phoneA)
	want := []string{"Shopify - Newsletter", "Shopify - VIP", "WooCommerce - Guests"}
	if !reflect.DeepEqual(c.Groups, want) {
		t.Errorf("groups = %v, want %v", c.Groups, want)
	}
	if !reflect.DeepEqual(c.Groups, derivedGroups(c.Sources)) {
		t.Errorf("groups %v != derived %v", c.Groups, derivedGroups(c.Sources))
	}
}

// A connection's memberships mirror the source: a tag removed there is
// removed here on the next sync; deltas add and remove.
func TestMerge_GroupsMirrorTheSource(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("1", 1, "Jane", "")
	r.Groups, r.HasGroups = []string{"VIP", "Wholesale"}, true
	w.merge(shopify, r, ident(phoneA, ""))
	// Another connection with the same label holds "VIP" too.
	other := Connection{ID: "shop-2", Label: "Shopify", Mode: consent.Explicit}
	o := rec("77", 1, "Jane", "")
	o.Groups, o.HasGroups = []string{"VIP"}, true
	w.merge(other, o, ident(phoneA, ""))

	r2 := rec("1", 2, "Jane", "")
	r2.Groups, r2.HasGroups = []string{"Wholesale", "Returning"}, true
	d := w.merge(shopify, r2, ident(phoneA, ""))
	if got, want := w.byPhone(phoneA).Groups, []string{"Shopify - Returning", "Shopify - VIP", "Shopify - Wholesale"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after full set: %v, want %v (VIP still held by shop-2); %+v", got, want, d.Mutations)
	}
	delta := rec("1", 3, "", "")
	delta.AddGroups, delta.RemoveGroups = []string{"Gold"}, []string{"Wholesale", "Returning"}
	w.merge(shopify, delta, Identity{})
	if got, want := w.byPhone(phoneA).Groups, []string{"Shopify - Gold", "Shopify - VIP"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after delta: %v, want %v", got, want)
	}
	c := w.byPhone(phoneA)
	if !reflect.DeepEqual(c.Groups, derivedGroups(c.Sources)) {
		t.Errorf("groups %v != derived %v", c.Groups, derivedGroups(c.Sources))
	}
}

// A customer deleted at the source removes that source; the contact goes
// when no source and no hub-side data remain; the opt-out outlives it.
func TestMerge_DeleteRemovesSource_ContactGoesWhenNothingRemains(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("1", 1, "Jane", "")
	r.Groups, r.HasGroups = []string{"VIP"}, true
	r.Consent = source.ConsentSignal{State: source.SignalUnsubscribed, At: at(1)}
	w.merge(shopify, r, ident(phoneA, emailA))
	w.merge(woo, rec("w1", 1, "Jane", ""), ident(phoneA, emailA))
	id := w.byPhone(phoneA).ID

	d := w.merge(shopify, source.Record{ExternalID: "1", Deleted: true}, Identity{})
	if d.Outcome != Updated || d.Reason != ReasonSourceRemoved {
		t.Fatalf("first delete = %+v", d)
	}
	c := w.s.Contacts[id]
	if len(c.Sources) != 1 || len(c.Groups) != 0 {
		t.Fatalf("after first delete: %+v", c)
	}
	d = w.merge(woo, source.Record{ExternalID: "w1", Deleted: true}, Identity{})
	if d.Outcome != Updated || d.Reason != ReasonContactGone {
		t.Fatalf("second delete = %+v", d)
	}
	if _, ok := w.s.Contacts[id]; ok || len(w.s.Phones) != 0 || len(w.s.Emails) != 0 || len(w.s.Links) != 0 {
		t.Fatalf("contact or claims left: %+v", w.s)
	}
	if l := w.s.Ledger(phoneA); l.State() != consent.Unsubscribed {
		t.Errorf("opt-out did not outlive the contact: %q", l.State())
	}
	// A new record for the number respects the surviving opt-out.
	r3 := rec("9", 5, "Jane", "")
	r3.Consent = source.ConsentSignal{State: source.SignalNeverAsked}
	w.merge(woo, r3, ident(phoneA, ""))
	if got := Status(w.byPhone(phoneA), w.s.Ledger(phoneA)); got != consent.Unsubscribed {
		t.Errorf("status of recreated contact = %q", got)
	}
	// A delete for an unknown record changes nothing.
	if d := w.merge(woo, source.Record{ExternalID: "nope", Deleted: true}, Identity{}); d.Outcome != Unchanged || d.Reason != ReasonNotLinked || len(d.Mutations) != 0 {
		t.Errorf("unknown delete = %+v", d)
	}
}

func TestMerge_DeleteKeepsContactWithHubData(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, ""))
	c := w.s.Contacts[d.ContactID]
	c.HubData = true
	w.s.Contacts[d.ContactID] = c
	w.merge(shopify, source.Record{ExternalID: "1", Deleted: true}, Identity{})
	if got, ok := w.s.Contacts[d.ContactID]; !ok || len(got.Sources) != 0 || got.Phone != phoneA {
		t.Errorf("contact with hub data = %+v, %v", got, ok)
	}
}

// Out-of-order webhooks: a record older than the applied one changes
// nothing; an identical re-fired payload changes nothing and costs no write.
func TestMerge_OlderThanStoredOrIdentical_ChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("1", 10, "Jane", "Doe")
	r.Groups, r.HasGroups = []string{"VIP"}, true
	w.merge(shopify, r, ident(phoneA, emailA))
	before := w.s

	old := rec("1", 5, "Old", "Name")
	d := w.merge(shopify, old, ident(phoneA, emailA))
	if d.Outcome != Unchanged || d.Reason != ReasonOlderThan || len(d.Mutations) != 0 {
		t.Errorf("older record = %+v", d)
	}
	d = w.merge(shopify, r, ident(phoneA, emailA))
	if d.Outcome != Unchanged || d.Reason != ReasonDuplicate || len(d.Mutations) != 0 {
		t.Errorf("identical re-fire = %+v", d)
	}
	if !reflect.DeepEqual(before.Contacts, w.s.Contacts) {
		t.Errorf("state changed")
	}
}

// A record applied twice: the second time is a duplicate, and applying one
// decision twice equals applying it once.
func TestMerge_ApplyTwiceEqualsOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(shopify, rec("1", 1, "Xena", ""), ident("", emailA))
	w.merge(shopify, rec("2", 1, "Yann", ""), ident(phoneA, ""))
	r := rec("w1", 5, "Yannick", "")
	r.Groups, r.HasGroups, r.Consent = []string{"A"}, true, source.ConsentSignal{State: source.SignalSubscribed, At: at(5)}
	d := Merge(Input{Record: r, Identity: ident(phoneA, emailA), Connection: Connection{ID: "c", Label: "L", Mode: consent.Confirmation}, Now: at(100), NewID: "n", State: w.s})
	once := Apply(w.s, d)
	twice := Apply(once, d)
	if !reflect.DeepEqual(once, twice) {
		t.Errorf("Apply twice differs:\n%+v\n%+v", once, twice)
	}
	// Merge does not modify its input state.
	if again := Merge(Input{Record: r, Identity: ident(phoneA, emailA), Connection: Connection{ID: "c", Label: "L", Mode: consent.Confirmation}, Now: at(100), NewID: "n", State: w.s}); !reflect.DeepEqual(again, d) {
		t.Errorf("Merge not deterministic:\n%+v\n%+v", d, again)
	}
}

// TestMerge_ConsentBelongsToThePhone: the record's signal goes to the
// ledger of its phone; confirmation mode queues one message.
func TestMerge_ConsentSignalUpdatesPhoneLedger_MessageDueOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conf := Connection{ID: "shop-1", Label: "Shopify", Mode: consent.Confirmation}
	r := rec("1", 1, "Jane", "")
	r.Consent = source.ConsentSignal{State: source.SignalSubscribed, At: at(1), Method: "checkout"}
	d := w.merge(conf, r, ident(phoneA, ""))
	var kinds []MutationKind
	for _, m := range d.Mutations {
		kinds = append(kinds, m.Kind)
	}
	if !slices.Contains(kinds, MutConsent) || !slices.Contains(kinds, MutQueueMessage) {
		t.Fatalf("mutations = %v", kinds)
	}
	if got := Status(w.byPhone(phoneA), w.s.Ledger(phoneA)); got != consent.Subscribed {
		t.Errorf("status = %q", got)
	}
	r2 := rec("1", 2, "Janet", "")
	r2.Consent = r.Consent
	d = w.merge(conf, r2, ident(phoneA, ""))
	for _, m := range d.Mutations {
		if m.Kind == MutQueueMessage || m.Kind == MutConsent {
			t.Errorf("second record queued %+v", m)
		}
	}
	if got := Status(Contact{}, consent.Ledger{}); got != consent.NotSubscribed {
		t.Errorf("status without phone = %q", got)
	}
}

// TestMerge_MCWooCommerce1264_ResyncAfterOptOutDoesNotResubscribe: a
// contact opts out by STOP; the daily re-sync of the store (inferred mode,
// the customer record changed meanwhile) must not re-subscribe it, nor send
// anything.
func TestMerge_MCWooCommerce1264_ResyncAfterOptOutDoesNotResubscribe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("w1", 1, "Jane", "")
	w.merge(woo, r, ident(phoneA, emailA))
	if got := w.s.Ledger(phoneA).State(); got != consent.Subscribed {
		t.Fatalf("inferred mode: %q", got)
	}
	l, _ := w.s.Ledger(phoneA).Apply(consent.OptOutEvent(at(50), consent.Evidence{Text: "STOP"}))
	w.s.Ledgers[phoneA] = l
	for i, sig := range []source.ConsentSignal{{}, {State: source.SignalNeverAsked}, {State: source.SignalSubscribed}, {State: source.SignalSubscribed, At: at(1)}} {
		r := rec("w1", 100+i, "Jane", "Doe")
		r.Consent = sig
		d := w.merge(woo, r, ident(phoneA, emailA))
		for _, m := range d.Mutations {
			if m.Kind == MutQueueMessage {
				t.Errorf("re-sync %d queued %+v", i, *m.Message)
			}
		}
		if got := w.s.Ledger(phoneA).State(); got != consent.Unsubscribed {
			t.Fatalf("re-sync %d (%+v) re-subscribed: %q", i, sig, got)
		}
	}
	// A new connection in confirmation mode does not either.
	conf := Connection{ID: "kl-1", Label: "Klaviyo", Mode: consent.Confirmation}
	w.merge(conf, rec("k1", 200, "Jane", ""), ident(phoneA, emailA))
	if got := w.s.Ledger(phoneA).State(); got != consent.Unsubscribed {
		t.Fatalf("new connection re-subscribed: %q", got)
	}
}

// TestMerge_SuppressedNumber_NewContactStaysUnsubscribed: a hub-side
// opt-out for a number no contact had is respected by a later first sync.
func TestMerge_SuppressedNumber_NewContactStaysUnsubscribed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	l, _ := consent.Ledger{Phone: phoneA}.Apply(consent.OptOutEvent(at(1), consent.Evidence{Text: "STOP"}))
	w.s.Ledgers = map[string]consent.Ledger{phoneA: l}
	conf := Connection{ID: "shop-1", Label: "Shopify", Mode: consent.DoubleOptIn}
	d := w.merge(conf, rec("1", 5, "Jane", ""), ident(phoneA, ""))
	if d.Outcome != Created {
		t.Fatalf("decision = %+v", d)
	}
	for _, m := range d.Mutations {
		if m.Kind == MutQueueMessage {
			t.Errorf("queued %+v to a suppressed number", *m.Message)
		}
	}
	if got := Status(w.byPhone(phoneA), w.s.Ledger(phoneA)); got != consent.Unsubscribed {
		t.Errorf("status = %q", got)
	}
}

// TestMerge_RecordWithoutConsentInInferredMode_Subscribes: design.md §4
// table, inferred: "never asked / unknown -> subscribed (has a phone)".
func TestMerge_RecordWithoutConsent_GetsTheModeDefaultOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(woo, rec("w1", 1, "Jane", ""), ident(phoneA, ""))
	if got := w.s.Ledger(phoneA).State(); got != consent.Subscribed {
		t.Fatalf("state = %q", got)
	}
	w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneB, ""))
	if got := w.s.Ledger(phoneB).State(); got != consent.NotSubscribed {
		t.Fatalf("explicit mode state = %q", got)
	}
}

func TestMerge_LinkedRecordWithoutIdentifiers_UpdatesLinkedContact(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, ""))
	d := w.merge(shopify, rec("1", 2, "", "Doe"), Identity{})
	if d.Outcome != Updated || w.byPhone(phoneA).LastName.Value != "Doe" {
		t.Errorf("decision = %+v", d)
	}
}

func TestMerge_RecordMovesToAnotherContact_OldContactGoes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(shopify, rec("1", 1, "Jane", ""), ident(phoneA, ""))
	old := w.byPhone(phoneA).ID
	// The customer's phone changed at the source: matching creates a
	// contact for the new phone, and the source leaves the old one.
	d := w.merge(shopify, rec("1", 2, "Jane", ""), ident(phoneB, ""))
	if d.Outcome != Created || d.ContactID == old {
		t.Fatalf("decision = %+v", d)
	}
	if _, ok := w.s.Contacts[old]; ok {
		t.Error("old contact without sources still exists")
	}
	if _, ok := w.s.Phones[phoneA]; ok {
		t.Error("old phone still claimed")
	}
	if w.s.Links[LinkKey{"shop-1", "1"}] != d.ContactID {
		t.Error("link not moved")
	}
}

func TestContentHash_StableAndOrderInsensitiveForGroups(t *testing.T) {
	t.Parallel()
	a := rec("1", 1, "Jane", "")
	a.Groups, a.HasGroups = []string{"A", "B", "C"}, true
	a.Fields = map[string]string{"x": "1", "y": "2"}
	b := a
	b.Groups = []string{"C", "A", "B"}
	b.Fields = map[string]string{"y": "2", "x": "1"}
	if ContentHash(a) != ContentHash(b) {
		t.Error("group or field order changes the hash")
	}
	for name, mod := range map[string]func(*source.Record){
		"name":    func(r *source.Record) { r.FirstName = "Janet" },
		"groups":  func(r *source.Record) { r.Groups = []string{"A", "B"} },
		"updated": func(r *source.Record) { r.UpdatedAt = at(2) },
		"consent": func(r *source.Record) { r.Consent.State = source.SignalSubscribed },
		"field":   func(r *source.Record) { r.Fields = map[string]string{"x": "1", "y": "3"} },
		"swap":    func(r *source.Record) { r.Fields = map[string]string{"x": "2", "y": "1"} },
		"guest":   func(r *source.Record) { r.Guest = true },
		"phone":   func(r *source.Record) { r.Phones = []source.PhoneField{{Raw: "0412"}} },
	} {
		c := a
		mod(&c)
		if ContentHash(c) == ContentHash(a) {
			t.Errorf("%s change does not change the hash", name)
		}
	}
	if got, want := ContentHash(a), uint64(ContentHash(a)); got != want {
		t.Error("not stable")
	}
}

// TestMerge_DedupKey_OneContactPerPhoneAcrossIntegrations: contacts with
// the same phone merge across all integrations, and sources lists every
// label that contributed while each source keeps its own record.
func TestMerge_DedupKey_OneContactPerPhoneAcrossIntegrations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	kl := Connection{ID: "kl-1", Label: "Klaviyo", Mode: consent.Explicit}
	for _, step := range []struct {
		conn Connection
		ext  string
		grp  string
	}{{shopify, "1", "VIP"}, {woo, "w1", "Buyers"}, {kl, "k1", "Engaged"}} {
		r := rec(step.ext, 1, "Jane", "")
		r.Groups, r.HasGroups = []string{step.grp}, true
		w.merge(step.conn, r, ident(phoneA, ""))
	}
	if len(w.s.Contacts) != 1 {
		t.Fatalf("contacts = %d, want 1", len(w.s.Contacts))
	}
	c := w.byPhone(phoneA)
	if got, want := c.Labels(), []string{"Klaviyo", "Shopify", "WooCommerce"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Labels() = %v, want %v", got, want)
	}
	if l, ok := c.Link(LinkKey{"woo-1", "w1"}); !ok || !reflect.DeepEqual(l.Groups, []string{"Buyers"}) || l.Label != "WooCommerce" {
		t.Errorf("woo link = %+v, %v", l, ok)
	}
}

// A profile's full record and its group deltas (one Klaviyo member page per
// list) do not take turns rewriting the link: once applied, a full re-sync
// of all of them changes nothing. A delta the link does not reflect yet
// still applies.
func TestMerge_GroupDeltasAndTheirFullRecord_ResyncChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	klaviyo := Connection{ID: "kl-1", Label: "Klaviyo", Mode: consent.Explicit, DefaultRegion: "AU"}
	full := rec("p1", 5, "Ann", "Lee")
	full.Consent = source.ConsentSignal{State: source.SignalSubscribed, At: at(3)}
	member := func(list string) source.Record {
		r := full
		r.UpdatedAt = time.Time{} // member records carry no updated time
		r.AddGroups = []string{list}
		return r
	}
	id := ident(phoneA, emailA)
	for round := range 2 {
		for _, r := range []source.Record{full, member("VIP"), member("Newsletter")} {
			d := w.merge(klaviyo, r, id)
			if round == 1 && (d.Outcome != Unchanged || len(d.Mutations) != 0) {
				t.Errorf("re-sync of %v changed something: %+v", r.AddGroups, d)
			}
		}
	}
	c := w.byPhone(phoneA)
	if want := []string{"Klaviyo - Newsletter", "Klaviyo - VIP"}; !slices.Equal(c.Groups, want) {
		t.Errorf("groups = %v, want %v", c.Groups, want)
	}
	if d := w.merge(klaviyo, member("Gold"), id); d.Outcome != Updated {
		t.Errorf("a new membership: %+v", d)
	}
}

// A full group set (a Shopify customer's tags) keeps the link's groups it
// names in KeepGroups (segments, which member records add): a segment
// group survives the customer's next record, a tag it no longer has goes,
// and a KeepGroups name the link does not have is not added.
func TestMerge_FullSetKeepsTheGroupsItDoesNotSpeakFor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := rec("1", 1, "Jane", "")
	r.Groups, r.HasGroups = []string{"Wholesale"}, true
	w.merge(shopify, r, ident(phoneA, ""))
	member := rec("1", 0, "", "")
	member.AddGroups, member.Partial = []string{"Big Spenders"}, true
	w.merge(shopify, member, ident(phoneA, ""))

	r2 := rec("1", 2, "Jane", "")
	r2.Groups, r2.HasGroups, r2.KeepGroups = []string{"Returning"}, true, []string{"Big Spenders", "Winback"}
	w.merge(shopify, r2, ident(phoneA, ""))
	if got, want := w.byPhone(phoneA).Groups, []string{"Shopify - Big Spenders", "Shopify - Returning"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the full set: %v, want %v", got, want)
	}
	r3 := rec("1", 3, "Jane", "")
	r3.Groups, r3.HasGroups = []string{"Returning"}, true // the segment is gone from the shop
	w.merge(shopify, r3, ident(phoneA, ""))
	if got, want := w.byPhone(phoneA).Groups, []string{"Shopify - Returning"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("without KeepGroups: %v, want %v", got, want)
	}
}

// derivedGroups returns the groups a contact's sources give it, computed
// from scratch: the sorted union of "<Label> - <name>" over the links, plus
// "<Label> - Guests" for guest links. Apply keeps Contact.Groups equal to it.
func derivedGroups(sources []Link) []string {
	var out []string
	for _, l := range sources {
		for _, g := range l.Groups {
			out = insertSorted(out, GroupName(l.Label, g))
		}
		if l.Guest {
			out = insertSorted(out, GroupName(l.Label, GuestsGroup))
		}
	}
	return out
}
