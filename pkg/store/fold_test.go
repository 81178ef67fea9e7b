package store_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// The creator's link folded into its contact (doc.go): these tests read
// the table itself to see where a record's link lives.

// tableItem reads one item of the table, consistently (nil: absent).
func tableItem(t *testing.T, s *stacktest.Stack, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// linkItemExists reports whether source record (conn, ext) of tenant t1
// has a link item of its own.
func linkItemExists(t *testing.T, s *stacktest.Stack, conn, ext string) bool {
	t.Helper()
	return tableItem(t, s, "T#t1#S#"+conn+"#"+ext, "LINK") != nil
}

// foldedLink reports whether contact id of tenant t1 carries a folded link.
func foldedLink(t *testing.T, s *stacktest.Stack, id string) bool {
	t.Helper()
	_, ok := tableItem(t, s, "T#t1#C#"+id, "CONTACT")["lnk"]
	return ok
}

// A page's new contacts take their records' ids, their links live in
// them (no link item), and the next sync finds each record unchanged
// from the contact alone: 0.5 RCU and no write.
func TestFold_ANewContactHoldsItsRecordsLink(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, s, clk := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Explicit)
	recs := anns(c, 5, source.ConsentSignal{State: source.SignalSubscribed, At: t0})
	out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r1"}, recs, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range out {
		ext := recs[i].ExternalID
		if a.Decision.Outcome != merge.Created || a.Decision.ContactID != store.CreatorID("t1", c.ID, ext) {
			t.Fatalf("%s: %s %s, want created at its record's id %s", ext, a.Decision.Outcome, a.Decision.ContactID, store.CreatorID("t1", c.ID, ext))
		}
		if linkItemExists(t, s, c.ID, ext) || !foldedLink(t, s, a.Decision.ContactID) {
			t.Fatalf("%s: link item %v, folded %v; want the link folded into the contact", ext, linkItemExists(t, s, c.ID, ext), foldedLink(t, s, a.Decision.ContactID))
		}
	}
	usage.Reset()
	again, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, recs, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range again {
		if a.Decision.Outcome != merge.Unchanged || a.Decision.ContactID != out[i].Decision.ContactID || a.Wrote {
			t.Errorf("%s again: %s %s wrote %v, want unchanged on %s", recs[i].ExternalID, a.Decision.Outcome, a.Decision.ContactID, a.Wrote, out[i].Decision.ContactID)
		}
	}
	if r, w := usage.Estimated(); w != 0 || r != 0.5*float64(len(recs)) {
		t.Errorf("unchanged page: %.1f RCU %.1f WCU, want %.1f and 0", r, w, 0.5*float64(len(recs)))
	}
	// A record whose link is folded, marked stale (a failed write-back),
	// is applied again by its next sync, then unchanged.
	if err := st.StaleLink(ctx, "t1", c.ID, recs[0].ExternalID); err != nil {
		t.Fatal(err)
	}
	a, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r3"}, recs[:1], clk.now())
	if err != nil || !a[0].Wrote {
		t.Fatalf("after StaleLink: %+v %v, want applied again", a[0], err)
	}
	a, err = st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r4"}, recs[:1], clk.now())
	if err != nil || a[0].Wrote || a[0].Decision.Outcome != merge.Unchanged {
		t.Fatalf("after the stale link's sync: %+v %v, want unchanged", a[0], err)
	}
}

// A record that leaves the contact it created (its phone now another
// contact's) takes its link to an item, and the contact it left drops
// the folded link. Leaving that one too for identifiers of its own, it
// creates a contact with another id (its own is taken), linked by item.
// Every step's next sync finds the record unchanged.
func TestFold_ARecordThatLeavesItsContactTakesItsLinkAlong(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	c1, c2 := conn("c1", "Shopify", consent.Explicit), conn("c2", "WooCommerce", consent.Explicit)
	apply := func(c merge.Connection, run string, r source.Record) store.Applied {
		t.Helper()
		out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: run}, []source.Record{r}, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	x := record(c1, 1, t0, "Xan", source.ConsentSignal{})
	y := record(c2, 2, t0, "Yve", source.ConsentSignal{})
	cx, cy := apply(c1, "r1", x).Decision.ContactID, apply(c2, "r2", y).Decision.ContactID
	if cx != store.CreatorID("t1", "c1", x.ExternalID) || cy != store.CreatorID("t1", "c2", y.ExternalID) {
		t.Fatalf("ids %s %s, want their records'", cx, cy)
	}

	// x takes y's phone and a new email: the phone rule puts it on y's
	// contact.
	x.Phones, x.Emails, x.UpdatedAt = y.Phones, []string{"moved@example.com"}, t0.Add(1)
	if a := apply(c1, "r3", x); a.Decision.ContactID != cy {
		t.Fatalf("moved: %s on %s, want on %s", a.Decision.Outcome, a.Decision.ContactID, cy)
	}
	if !linkItemExists(t, s, "c1", x.ExternalID) || foldedLink(t, s, cx) {
		t.Fatalf("moved: link item %v, folded link left on %s %v; want an item and none", linkItemExists(t, s, "c1", x.ExternalID), cx, foldedLink(t, s, cx))
	}
	if a := apply(c1, "r4", x); a.Decision.Outcome != merge.Unchanged || a.Decision.ContactID != cy || a.Wrote {
		t.Fatalf("moved, again: %s on %s wrote %v, want unchanged on %s", a.Decision.Outcome, a.Decision.ContactID, a.Wrote, cy)
	}

	// x leaves for identifiers of its own: a new contact, not at its
	// creatorID (the contact it left there still stands).
	x.Phones, x.Emails, x.UpdatedAt = []source.PhoneField{{Raw: "0412 999 999", Country: "AU", Field: "phone"}}, []string{"own@example.com"}, t0.Add(2)
	a := apply(c1, "r5", x)
	if a.Decision.Outcome != merge.Created || a.Decision.ContactID == cx || a.Decision.ContactID == cy {
		t.Fatalf("left again: %s %s, want a contact of another id than %s and %s", a.Decision.Outcome, a.Decision.ContactID, cx, cy)
	}
	cz := a.Decision.ContactID
	if !linkItemExists(t, s, "c1", x.ExternalID) {
		t.Fatal("left again: no link item")
	}
	if a := apply(c1, "r6", x); a.Decision.Outcome != merge.Unchanged || a.Decision.ContactID != cz || a.Wrote {
		t.Fatalf("left again, again: %s on %s wrote %v, want unchanged on %s", a.Decision.Outcome, a.Decision.ContactID, a.Wrote, cz)
	}
	checkClaims(t, st, "t1")
}

// A contact deleted at the hub's request takes its record's folded link
// with it: the record's next sync creates it again, at the same id and in
// a bucket of its new page. An id left in another bucket's bundle (as a
// crash between the delete and its membership removal would leave it) is
// not listed: the group shows the contact once.
func TestFold_ADeletedContactComesBackOnceInItsGroup(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Explicit)
	recs := anns(c, 3, source.ConsentSignal{})
	out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r1"}, recs, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	id := out[0].Decision.ContactID
	if err := st.DeleteContact(ctx, "t1", id); err != nil {
		t.Fatal(err)
	}
	// The membership a crash would have left, in a bucket of its own.
	pk, sk := store.GroupBundleKey("t1", "Shopify - tag-c1", "0badbeef")
	if _, err := s.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}, "ids": &types.AttributeValueMemberSS{Value: []string{id}},
	}}); err != nil {
		t.Fatal(err)
	}
	again, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, recs, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Decision.Outcome != merge.Created || again[0].Decision.ContactID != id {
		t.Fatalf("after the delete: %s %s, want created again at %s", again[0].Decision.Outcome, again[0].Decision.ContactID, id)
	}
	members := listAll(t, st, store.ContactFilter{Group: "Shopify - tag-c1"}, 10)
	n := 0
	for _, m := range members {
		if m == id {
			n++
		}
	}
	if n != 1 || len(members) != len(recs) {
		t.Fatalf("group lists %v (the contact %d times), want the %d contacts once each", members, n, len(recs))
	}
}
