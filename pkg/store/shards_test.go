package store_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// shardedTenant applies n contacts whose names repeat (few distinct names,
// so the name index is full of ties that only the id breaks): one in three
// subscribed, the rest never asked; with pending more from a double opt-in
// connection (pending contacts). Every contact of c1 is in "Shopify - VIP".
func shardedTenant(t *testing.T, st *store.Store, n, pending int) {
	t.Helper()
	ctx := context.Background()
	firsts := []string{"Ann", "ann", "Ann-Marie", "Bob", "Zoë", ""}
	lasts := []string{"Lee", "Lee", "Leeson", ""}
	make := func(c merge.Connection, from, n int) []source.Record {
		recs := make([]source.Record, n)
		for i := range recs {
			k := from + i
			sig := source.ConsentSignal{State: source.SignalNeverAsked}
			if k%3 == 0 {
				sig = source.ConsentSignal{State: source.SignalSubscribed, At: t0}
			}
			recs[i] = source.Record{
				Platform: source.Shopify, Label: c.Label, ConnectionID: c.ID, ExternalID: fmt.Sprint("s", k), UpdatedAt: t0,
				FirstName: firsts[k%len(firsts)], LastName: lasts[(k/len(firsts))%len(lasts)], Emails: []string{fmt.Sprintf("shard%04d@example.com", k)},
				Phones:  []source.PhoneField{{Raw: fmt.Sprintf("+614%08d", k), Field: "phone"}},
				Consent: sig, Groups: []string{"VIP"}, HasGroups: true,
			}
		}
		return recs
	}
	c1 := conn("c1", "Shopify", consent.Explicit)
	for from := 0; from < n; from += 100 {
		if _, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c1}, make(c1, from, min(100, n-from)), t0); err != nil {
			t.Fatal(err)
		}
	}
	if pending > 0 {
		c2 := merge.Connection{ID: "c2", Label: "Woo", Mode: consent.DoubleOptIn, DefaultRegion: "AU"}
		if _, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c2}, make(c2, 10_000, pending), t0); err != nil {
			t.Fatal(err)
		}
	}
}

// listAll pages through a listing with limit, failing on a cursor that
// repeats.
func listAll(t *testing.T, st *store.Store, f store.ContactFilter, limit int) []string {
	t.Helper()
	var ids []string
	cursor, seen := "", map[string]bool{}
	for {
		page, next, err := st.ListContacts(context.Background(), "t1", f, limit, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("%+v limit %d: a page of %d", f, limit, len(page))
		}
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids
		}
		if seen[next] {
			t.Fatalf("%+v limit %d: cursor %s again", f, limit, next)
		}
		seen[next], cursor = true, next
	}
}

// TestListContacts_ShardsMergeInNameOrder: a tenant's name index is 16
// partitions (T#t#CONTACTS#<k>, k by contact id). A listing, paged with
// any limit — ones that split a run of equal names — with a name prefix
// and with a status, gives exactly the single-partition order (name key,
// then id), each contact once; the members of a group (8 partitions) come
// in (bucket, id) order the same way.
func TestListContacts_ShardsMergeInNameOrder(t *testing.T) {
	t.Parallel()
	st, s, _ := newStore(t)
	ctx := context.Background()
	const n, pending = 300, 40
	shardedTenant(t, st, n, pending)

	// The contacts as the old single partition ordered them.
	type entry struct{ key, id, status, name string }
	var want []entry
	for _, c := range listAll(t, st, store.ContactFilter{}, 1000) {
		v, err := st.GetContact(ctx, "t1", c)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ToLower(strings.TrimSpace(v.FirstName.Value + " " + v.LastName.Value))
		if name == "" {
			name = v.EmailKey
		}
		want = append(want, entry{name + "#" + v.ID, v.ID, v.Status, name})
	}
	if len(want) != n {
		t.Fatalf("%d contacts listed, want %d (pending ones left out)", len(want), n)
	}
	if !sort.SliceIsSorted(want, func(i, j int) bool { return want[i].key < want[j].key }) {
		t.Fatalf("one page of all contacts is not in name-key order")
	}
	ids := func(keep func(entry) bool) []string {
		var out []string
		for _, e := range want {
			if keep(e) {
				out = append(out, e.id)
			}
		}
		return out
	}

	// They are spread over the 16 shards (none holds the lot).
	for k := range 16 {
		out, err := s.DynamoDB.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.Table), IndexName: aws.String(resources.GSI1),
			KeyConditionExpression:    aws.String("GSI1PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("T#t1#CONTACTS#%d", k)}},
			Select:                    types.SelectCount})
		if err != nil {
			t.Fatal(err)
		}
		if out.Count == 0 || out.Count > n/16*2 {
			t.Errorf("shard %d holds %d of %d contacts", k, out.Count, n)
		}
	}

	// Limits that split runs of equal names at many places (the merge
	// reads 16 queries a page, so one-a-page listings stay short).
	if got, w := listAll(t, st, store.ContactFilter{Query: "bob lee"}, 1), ids(func(e entry) bool { return strings.HasPrefix(e.name, "bob lee") }); !slices.Equal(got, w) || len(w) == 0 {
		t.Errorf("q=bob lee limit 1: %d contacts, not the name order of %d (first difference at %d)", len(got), len(w), firstDiff(got, w))
	}
	for _, limit := range []int{3, 7, 49} {
		if got, w := listAll(t, st, store.ContactFilter{}, limit), ids(func(entry) bool { return true }); !slices.Equal(got, w) {
			t.Errorf("limit %d: %d contacts, not the name order of %d (first difference at %d)", limit, len(got), len(w), firstDiff(got, w))
		}
		for _, q := range []string{"ann", "Ann L", "zo", "bob lee"} {
			lq := strings.ToLower(q)
			if got, w := listAll(t, st, store.ContactFilter{Query: q}, limit), ids(func(e entry) bool { return strings.HasPrefix(e.name, lq) }); !slices.Equal(got, w) || len(w) == 0 {
				t.Errorf("q=%q limit %d: %d contacts, not the name order of %d (first difference at %d)", q, limit, len(got), len(w), firstDiff(got, w))
			}
		}
		if got, w := listAll(t, st, store.ContactFilter{Status: "subscribed"}, limit), ids(func(e entry) bool { return e.status == "subscribed" }); !slices.Equal(got, w) || len(w) == 0 {
			t.Errorf("status=subscribed limit %d: %d contacts, want %d in name order (first difference at %d)", limit, len(got), len(w), firstDiff(got, w))
		}
		if got := listAll(t, st, store.ContactFilter{Status: "pending"}, limit); len(got) != pending || hasDup(got) {
			t.Errorf("status=pending limit %d: %d contacts (duplicates %v), want %d", limit, len(got), hasDup(got), pending)
		}
		// A group's members come in (bucket, id) order (members.go): every
		// limit pages through the same order as one long page, and that
		// holds each member once.
		members := ids(func(entry) bool { return true })
		whole := listAll(t, st, store.ContactFilter{Group: "Shopify - VIP"}, 1000)
		if sorted := slices.Sorted(slices.Values(whole)); !slices.Equal(sorted, slices.Sorted(slices.Values(members))) {
			t.Fatalf("group in one page: %d members (duplicates %v), want the %d contacts", len(whole), hasDup(whole), len(members))
		}
		if got := listAll(t, st, store.ContactFilter{Group: "Shopify - VIP"}, limit); !slices.Equal(got, whole) {
			t.Errorf("group, limit %d: %d members, not the order of one page of %d (first difference at %d)", limit, len(got), len(whole), firstDiff(got, whole))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func hasDup(ids []string) bool {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return true
		}
		seen[id] = true
	}
	return false
}
