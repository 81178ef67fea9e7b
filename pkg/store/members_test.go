package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// groupItems reads every item of a group's member partitions (its 8
// shards): the bundles, with the ids each holds.
func groupItems(t *testing.T, s *stacktest.Stack, tenant, group string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for k := range 8 {
		pk := fmt.Sprintf("T#%s#G#%s#%d", tenant, group, k)
		res, err := s.DynamoDB.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			sk := it["SK"].(*types.AttributeValueMemberS).Value
			var ids []string
			if v, ok := it["ids"].(*types.AttributeValueMemberSS); ok {
				ids = v.Value
			}
			out[pk+"|"+sk] = ids
		}
	}
	return out
}

// A page's new contacts join a group in bundles of store.BucketSize (one
// write per bundle, not per contact); contacts added one at a time (a
// webhook's) have bundles of their own. Through removals, re-additions
// and a deletion, every listing limit shows each member once, in id
// order, and only members; a removed or deleted contact leaves its bundle.
func TestGroupMembers_BundledByPageAndListedOnceInIDOrder(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	const n = 100
	recs := make([]source.Record, n)
	for i := range recs {
		recs[i] = record(c, i, t0, "Ann", source.ConsentSignal{})
		recs[i].Groups = []string{"VIP", "News"}
	}
	out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r1"}, recs, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // external id -> contact id
	for i, a := range out {
		ids[recs[i].ExternalID] = a.Decision.ContactID
	}
	bundles := groupItems(t, s, "t1", "Shopify - VIP")
	want := (n + store.BucketSize - 1) / store.BucketSize
	if len(bundles) != want {
		t.Errorf("a page of %d new members wrote %d bundles, want %d", n, len(bundles), want)
	}
	for k, b := range bundles {
		if len(b) > store.BucketSize {
			t.Errorf("bundle %s holds %d ids, more than %d", k, len(b), store.BucketSize)
		}
	}

	// Five contacts join one by one (webhooks), each in a bundle of its own.
	for i := n; i < n+5; i++ {
		r := record(c, i, t0, "Bo", source.ConsentSignal{})
		r.Groups = []string{"VIP"}
		a, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c}, r, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		ids[r.ExternalID] = a.Decision.ContactID
	}
	if got := len(groupItems(t, s, "t1", "Shopify - VIP")); got != want+5 {
		t.Errorf("%d bundles after five single joins, want %d", got, want+5)
	}

	// Ten of the page leave VIP (a re-sync without the tag), five of them
	// come back, one contact is deleted.
	resync := func(i int, groups ...string) {
		r := record(c, i, t0, "Ann", source.ConsentSignal{})
		r.Groups, r.UpdatedAt = groups, clk.now()
		if _, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, []source.Record{r}, clk.now()); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(time.Minute)
	for i := 10; i < 20; i++ {
		resync(i, "News")
	}
	clk.advance(time.Minute)
	for i := 10; i < 15; i++ {
		resync(i, "News", "VIP")
	}
	deleted := ids[fmt.Sprintf("c1-%d", 30)]
	if err := st.DeleteContact(ctx, "t1", deleted); err != nil {
		t.Fatal(err)
	}
	var members []string
	for i := range n + 5 {
		if (i >= 15 && i < 20) || i == 30 {
			continue
		}
		members = append(members, ids[fmt.Sprintf("c1-%d", i)])
	}
	slices.Sort(members)
	// Members come in (bucket, id) order: one long page holds each once,
	// and every limit pages through that order.
	whole := listAll(t, st, store.ContactFilter{Group: "Shopify - VIP"}, 1000)
	if got := slices.Sorted(slices.Values(whole)); !slices.Equal(got, members) {
		t.Fatalf("one page: %d members (duplicates %v), want the %d members (first difference at %d)", len(whole), hasDup(whole), len(members), firstDiff(got, members))
	}
	for _, limit := range []int{1, 7, 40, 100} {
		if got := listAll(t, st, store.ContactFilter{Group: "Shopify - VIP"}, limit); !slices.Equal(got, whole) {
			t.Errorf("limit %d: %d members (duplicates %v), want the order of one page of %d (first difference at %d)", limit, len(got), hasDup(got), len(whole), firstDiff(got, whole))
		}
	}
	var inBundles []string
	for _, b := range groupItems(t, s, "t1", "Shopify - VIP") {
		inBundles = append(inBundles, b...)
	}
	slices.Sort(inBundles)
	if !slices.Equal(inBundles, members) {
		t.Errorf("the bundles hold %d ids, want exactly the %d members (first difference at %d)", len(inBundles), len(members), firstDiff(inBundles, members))
	}
}
