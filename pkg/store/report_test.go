package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// worstRow is the largest row NewReportRow can make: every field at its
// bound, in 4-byte characters.
func worstRow(i int) store.ReportRow {
	wide := strings.Repeat("𝄞", 500)
	rec := source.Record{ExternalID: fmt.Sprintf("%0128d", i), FirstName: wide, LastName: wide}
	d := merge.Decision{Outcome: merge.Outcome("out_of_scope" + wide), Reason: merge.Reason("email_conflict," + wide),
		ContactID: "c_" + wide, PhoneReason: merge.Reason(wide)}
	id := merge.Identity{EmailKey: wide + "@" + wide, EmailReason: merge.Reason(wide)}
	return store.NewReportRow(rec, d, id)
}

// TestReport_NewReportRow_SaysWhyMaskedAndBounded: a row carries the
// phone and email reasons with their kind, the masked identifier of the
// conflict its reason names, the record's name; every field is bounded and
// valid UTF-8; warnings are for rows that are not invalid.
func TestReport_NewReportRow_SaysWhyMaskedAndBounded(t *testing.T) {
	t.Parallel()
	rec := source.Record{ExternalID: "42", FirstName: " Jane ", LastName: "Doe"}
	id := merge.Identity{Phone: "+61412345678", Email: "Jane@Example.com", EmailKey: "jane@example.com", EmailReason: ""}
	for _, tc := range []struct {
		name     string
		d        merge.Decision
		id       merge.Identity
		want     store.ReportRow
		warnings []string
	}{
		{"phone conflict", merge.Decision{Outcome: merge.Updated, Reason: merge.ReasonPhoneConflict, ContactID: "c_1"}, id,
			store.ReportRow{ExternalID: "42", Outcome: "updated", Reason: "phone_conflict", Identifier: "+6141****678", Name: "Jane Doe", ContactID: "c_1"}, nil},
		{"email conflict with a note", merge.Decision{Outcome: merge.Created, Reason: "email_conflict,name_truncated", ContactID: "c_2"}, id,
			store.ReportRow{ExternalID: "42", Outcome: "created", Reason: "email_conflict,name_truncated", Identifier: "j***@example.com", Name: "Jane Doe", ContactID: "c_2"}, nil},
		{"created with an unusable phone", merge.Decision{Outcome: merge.Created, ContactID: "c_3", PhoneReason: "too_short"},
			merge.Identity{EmailKey: "jane@example.com", PhoneReason: "too_short"},
			store.ReportRow{ExternalID: "42", Outcome: "created", PhoneReason: "phone_too_short", Name: "Jane Doe", ContactID: "c_3"}, []string{"phone_too_short"}},
		{"invalid", merge.Decision{Outcome: merge.Invalid, Reason: merge.ReasonNoIdentifier, PhoneReason: "not_a_number"},
			merge.Identity{PhoneReason: "not_a_number", EmailReason: "invalid_syntax"},
			store.ReportRow{ExternalID: "42", Outcome: "invalid", Reason: "no_identifier", PhoneReason: "phone_not_a_number", EmailReason: "email_invalid_syntax", Name: "Jane Doe"}, nil},
		{"out of scope (any outcome)", merge.Decision{Outcome: "out_of_scope", Reason: "not_in_selected_tags"}, merge.Identity{},
			store.ReportRow{ExternalID: "42", Outcome: "out_of_scope", Reason: "not_in_selected_tags", Name: "Jane Doe"}, nil},
	} {
		got := store.NewReportRow(rec, tc.d, tc.id)
		if got != tc.want || !slices.Equal(got.Warnings(), tc.warnings) {
			t.Errorf("%s: row %+v warnings %v,\nwant %+v warnings %v", tc.name, got, got.Warnings(), tc.want, tc.warnings)
		}
	}

	w := worstRow(1)
	for name, v := range map[string]string{"name": w.Name, "identifier": w.Identifier, "reason": w.Reason, "outcome": w.Outcome} {
		if !utf8.ValidString(v) || v == "" {
			t.Errorf("%s %q is empty or not UTF-8", name, v)
		}
	}
	if n := utf8.RuneCountInString(w.Name); n != source.MaxReportNameRunes || !strings.HasSuffix(w.Name, "…") {
		t.Errorf("a long name is cut to %d runes (%q), want %d ending in …", n, w.Name, source.MaxReportNameRunes)
	}
	if w.Identifier == "" || strings.Contains(w.Identifier, strings.Repeat("𝄞", 3)+"@") {
		t.Errorf("identifier %q is not masked", w.Identifier)
	}
	bad := store.NewReportRow(source.Record{ExternalID: strings.Repeat("x", 300), FirstName: "\xff\xfe"}, merge.Decision{Outcome: merge.Invalid}, merge.Identity{})
	if !utf8.ValidString(bad.Name) || utf8.RuneCountInString(bad.ExternalID) > 40 {
		t.Errorf("row of a raw record: %+v", bad)
	}
}

// TestReport_LargestPagesRowsAreStoredInBoundedItemsAndListedWhole: a
// Mailchimp page of 1,000 members, every one with a row at its largest
// size, is more than one DynamoDB item can hold (400 KB): the rows are
// stored ReportRowsPerItem to an item, in one batch, each item under the
// limit, and listed whole, in order, once — recorded twice (a retried
// page), they are still listed once.
func TestReport_LargestPagesRowsAreStoredInBoundedItemsAndListedWhole(t *testing.T) {
	t.Parallel()
	st, s, _ := newStore(t)
	ctx := context.Background()
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlan(ctx, "t1", run.ID, 2, -1); err != nil {
		t.Fatal(err)
	}
	const members = 1000
	rows := make([]store.ReportRow, members)
	for i := range rows {
		rows[i] = worstRow(i)
	}
	page := store.PageResult{TenantID: "t1", RunID: run.ID, PageID: "p1", Counts: store.Counts{Seen: members, Skipped: members}, Rows: rows}
	for range 2 {
		if _, _, err := st.RecordPage(ctx, page, time.Hour); err != nil {
			t.Fatalf("recording a page of %d largest rows: %v", members, err)
		}
	}
	// Another page's rows follow.
	if _, _, err := st.RecordPage(ctx, store.PageResult{TenantID: "t1", RunID: run.ID, PageID: "p2", Counts: store.Counts{Seen: 1, Invalid: 1},
		Rows: []store.ReportRow{{ExternalID: "last", Outcome: "invalid", Reason: "no_identifier"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}

	var got []store.ReportRow
	for cursor := ""; ; {
		part, next, err := st.ListReport(ctx, "t1", run.ID, "", 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, part...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(got) != members+1 || !slices.Equal(got[:members], rows) || got[members].ExternalID != "last" {
		t.Fatalf("listed %d rows, want the %d of page p1 in order, then p2's", len(got), members+1)
	}
	if inv, _, err := st.ListReport(ctx, "t1", run.ID, "invalid", 100, ""); err != nil || len(inv) != 1 {
		t.Errorf("invalid rows: %d %v", len(inv), err)
	}

	in := &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :rows)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "T#t1#RUN#" + run.ID}, ":rows": &types.AttributeValueMemberS{Value: "ROWS#p1"},
		},
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := s.DynamoDB.Query(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, out.Items...)
		if in.ExclusiveStartKey = out.LastEvaluatedKey; in.ExclusiveStartKey == nil {
			break
		}
	}
	if want := (members + source.ReportRowsPerItem - 1) / source.ReportRowsPerItem; len(items) != want {
		t.Errorf("page p1's rows are in %d items, want %d", len(items), want)
	}
	for _, it := range items {
		if exp, ok := it["expiresAt"].(*types.AttributeValueMemberN); !ok || exp.Value == "" {
			t.Errorf("report item %v has no expiresAt", it["SK"])
		}
	}
}
