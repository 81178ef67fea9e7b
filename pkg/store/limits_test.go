package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestApplyRecords_OversizedFieldsAreTheRecordsProblem: a page holding a
// 1 MB name, 10,000 tags, a 300-character email and a 1 KB external id
// next to normal records is applied: the normal records exactly, the big
// ones cut to size (reported) or invalid with their reason (issue 15,
// item 7). Before, the name became a sort key over 1,024 bytes and the
// page failed with ValidationException on every retry.
func TestApplyRecords_OversizedFieldsAreTheRecordsProblem(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	var recs []source.Record
	for i := range 6 {
		recs = append(recs, record(c, i, t0, fmt.Sprintf("Name%d", i), source.ConsentSignal{}))
	}
	recs[1].FirstName = strings.Repeat("é", 1<<19) // 1 MB of two-byte characters
	recs[1].LastName = strings.Repeat("x", 600)
	tags := make([]string, 10000)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%05d-%s", i, strings.Repeat("€", 200))
	}
	recs[2].Groups = tags
	recs[3].Emails = []string{strings.Repeat("a", 288) + "@example.com"}
	recs[4].ExternalID = strings.Repeat("9", 1024)
	fields := map[string]string{}
	for i := range 500 {
		fields[fmt.Sprintf("f%03d", i)] = strings.Repeat("v", 5000)
	}
	recs[5].Fields = fields
	orig := recs[2].Groups

	out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c}, recs, t0)
	if err != nil {
		t.Fatalf("the page failed: %v", err)
	}
	want := []struct {
		outcome merge.Outcome
		reason  string
	}{
		{merge.Created, ""}, {merge.Created, source.NoteNameTruncated}, {merge.Created, source.NoteGroupsTruncated},
		{merge.Invalid, source.InvalidEmailTooLong}, {merge.Invalid, source.InvalidExternalIDLen}, {merge.Created, source.NoteFieldsTruncated},
	}
	for i, w := range want {
		if d := out[i].Decision; d.Outcome != w.outcome || string(d.Reason) != w.reason {
			t.Errorf("record %d: %s %q, want %s %q", i, d.Outcome, d.Reason, w.outcome, w.reason)
		}
	}
	if len(recs[4].ExternalID) > source.MaxExternalIDBytes {
		t.Errorf("the invalid record's external id is not shortened for its report row: %d bytes", len(recs[4].ExternalID))
	}
	if len(orig) != 10000 {
		t.Errorf("Bound wrote through the caller's group slice")
	}
	get := func(i int) store.ContactView {
		t.Helper()
		v, err := st.GetContact(ctx, "t1", out[i].Decision.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get(0); v.FirstName.Value != "Name0" || v.LastName.Value != "Nguyen" || len(v.Groups) != 1 {
		t.Errorf("a normal record's contact = %+v", v.Contact)
	}
	if v := get(1); v.FirstName.Value != strings.Repeat("é", source.MaxNameRunes) || v.LastName.Value != strings.Repeat("x", source.MaxNameRunes) {
		t.Errorf("the long name is stored as %d + %d characters", utf8.RuneCountInString(v.FirstName.Value), utf8.RuneCountInString(v.LastName.Value))
	}
	if v := get(2); len(v.Groups) > source.MaxGroups || len(v.Groups) == 0 || !strings.HasPrefix(v.Groups[0], "Shopify - tag-00000-€") {
		t.Errorf("the record with 10,000 tags has %d groups: %.80v", len(v.Groups), v.Groups)
	}
	if v := get(5); len(v.Custom) == 0 || len(v.Custom) > source.MaxFields {
		t.Errorf("the record with 500 custom fields has %d", len(v.Custom))
	}
	// The contacts list in name order, through the name index.
	list, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Query: "éé"}, 10, "")
	if err != nil || len(list) != 1 || list[0].ID != out[1].Decision.ContactID {
		t.Errorf("searching the long name: %d contacts, %v", len(list), err)
	}
	// The same page again changes nothing, and the bounded records stay unchanged.
	again, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c}, recs, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range again {
		if want := merge.Unchanged; i != 3 && i != 4 && a.Decision.Outcome != want {
			t.Errorf("record %d again: %s %s", i, a.Decision.Outcome, a.Decision.Reason)
		}
	}
}

// TestApplyRecords_WriteRejectedIsTheRecordsProblem: a contact whose item
// would outgrow DynamoDB's 400 KB (one person in many connections, each
// with its maximum of groups) makes the record that would break it
// invalid (write_rejected); the page's other records are applied, and the
// page does not fail.
func TestApplyRecords_WriteRejectedIsTheRecordsProblem(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	groups := func(ci int) []string {
		var gs []string
		for g := range source.MaxGroups {
			gs = append(gs, fmt.Sprintf("c%d-%03d-%s", ci, g, strings.Repeat("€", 50)))
		}
		return gs
	}
	rejected := -1
	for ci := 1; ci <= 40 && rejected < 0; ci++ {
		c := conn(fmt.Sprintf("c%d", ci), fmt.Sprintf("Source%d", ci), consent.Inferred)
		shared := record(c, 1, t0, "Shared", source.ConsentSignal{})
		shared.Emails = []string{"shared@example.com"}
		shared.Groups = groups(ci)
		other := record(c, 100+ci, t0, "Other", source.ConsentSignal{})
		out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c}, []source.Record{shared, other}, t0)
		if err != nil {
			t.Fatalf("connection %d: the page failed: %v", ci, err)
		}
		if out[1].Decision.Outcome != merge.Created {
			t.Fatalf("connection %d: the other record: %s %s", ci, out[1].Decision.Outcome, out[1].Decision.Reason)
		}
		switch d := out[0].Decision; {
		case d.Outcome == merge.Invalid && d.Reason == store.ReasonWriteRejected:
			rejected = ci
		case d.Outcome != merge.Created && d.Outcome != merge.Updated:
			t.Fatalf("connection %d: the shared record: %s %s", ci, d.Outcome, d.Reason)
		}
	}
	if rejected < 0 {
		t.Fatal("no write was rejected: the contact never reached 400 KB")
	}
	t.Logf("the contact's item reached DynamoDB's limit with source %d", rejected)
}
