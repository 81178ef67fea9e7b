package store_test

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestDryRun_RacingPagesDecideAsARealRunAndWriteNothingOutside: two pages
// of a confirmation-mode run race for one phone — page B reads the number
// unclaimed, then page A (in-page twins on that phone, and a customer
// another connection already has) is applied before B writes — so B's
// claim fails, and B re-reads and re-merges. A dry run decides exactly as
// the real run does (created once, the rest updated, the message count),
// a retried page of it counts what it did, and it leaves every item
// outside its run's partition as it was; its scratch items carry a TTL
// and no index attribute.
func TestDryRun_RacingPagesDecideAsARealRunAndWriteNothingOutside(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	other := conn("c2", "WooCommerce", consent.Inferred)
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: other}, record(other, 5, t0, "Eve", source.ConsentSignal{}), clk.now()); err != nil {
		t.Fatal(err)
	}
	c := conn("c1", "Shopify", consent.Confirmation)
	never := source.ConsentSignal{State: source.SignalNeverAsked}
	r1 := record(c, 1, t0, "Ann", never)
	twin := record(c, 2, t0, "Bob", never)
	twin.Phones = r1.Phones
	r3 := record(c, 3, t0, "Cat", never)
	r3.Phones = r1.Phones
	bare := record(c, 4, t0, "Dan", never)
	bare.Emails, bare.Phones = nil, nil
	pageA := []source.Record{r1, twin, record(c, 5, t0, "Eve", never)}
	pageB := []source.Record{r3, bare}

	// run applies page B, and page A between B's read and B's first write.
	run := func(tg store.Target) (a, b []store.Applied) {
		t.Helper()
		var fired atomic.Bool
		store.SetBeforeWrite(st, func() {
			if fired.CompareAndSwap(false, true) {
				var err error
				if a, err = st.ApplyRecords(ctx, tg, clone(pageA), clk.now()); err != nil {
					t.Error(err)
				}
			}
		})
		defer store.SetBeforeWrite(st, nil)
		b, err := st.ApplyRecords(ctx, tg, clone(pageB), clk.now())
		if err != nil || !fired.Load() {
			t.Fatalf("page B: %v (page A applied: %v)", err, fired.Load())
		}
		return a, b
	}
	before := scanTenant(t, s, "t1")
	dryA, dryB := run(store.Target{TenantID: "t1", Conn: c, RunID: "rdry", DryRun: true})
	after := scanTenant(t, s, "t1")
	scratch := 0
	for k, item := range after {
		if strings.HasPrefix(k, "T#t1#RUN#rdry#D#") {
			scratch++
			if _, ok := item["expiresAt"]; !ok || item["GSI1PK"] != nil || item["GSI2PK"] != nil {
				t.Errorf("scratch item %s: %v", k, item)
			}
			delete(after, k)
		}
	}
	if scratch == 0 {
		t.Fatal("the dry run wrote no scratch item")
	}
	if !reflect.DeepEqual(before, after) {
		for k, v := range after {
			if !reflect.DeepEqual(before[k], v) {
				t.Errorf("the dry run wrote %s: %v (was %v)", k, v, before[k])
			}
		}
		for k := range before {
			if _, ok := after[k]; !ok {
				t.Errorf("the dry run deleted %s", k)
			}
		}
	}
	dry := tally(append(dryA, dryB...))
	want := tallyOf{created: 1, updated: 3, invalid: 1, messages: 2}
	if dry != want {
		// One contact for the shared phone (its first record created it,
		// the twin and page B's record updated it), Eve's updated, Dan
		// invalid; a confirmation to each new number for this connection.
		t.Fatalf("dry run = %+v, want %+v", dry, want)
	}
	if dryB[0].Decision.ContactID != dryA[0].Decision.ContactID || dryB[0].Decision.Outcome != merge.Updated {
		t.Fatalf("page B's record of the shared phone: %+v, page A's first %+v", dryB[0].Decision, dryA[0].Decision)
	}
	retried, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "rdry", DryRun: true}, clone(pageA), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range retried {
		if retried[i].Decision.Outcome != dryA[i].Decision.Outcome || len(retried[i].Messages) != 0 || retried[i].Wrote {
			t.Errorf("retried dry page, record %d: %+v, first %+v", i, retried[i].Decision, dryA[i].Decision)
		}
	}

	realA, realB := run(store.Target{TenantID: "t1", Conn: c, RunID: "rreal"})
	if got := tally(append(realA, realB...)); got != dry {
		t.Fatalf("real run = %+v, dry run %+v", got, dry)
	}
	p, ok, err := st.GetPhone(ctx, "t1", "+61412000001")
	if err != nil || !ok || p.ContactID != realA[0].Decision.ContactID || realB[0].Decision.ContactID != p.ContactID {
		t.Fatalf("the shared phone: %+v %v %v; page A %+v, page B %+v", p, ok, err, realA[0].Decision, realB[0].Decision)
	}
}

type tallyOf struct{ created, updated, unchanged, invalid, messages int }

func tally(as []store.Applied) tallyOf {
	var n tallyOf
	for _, a := range as {
		switch a.Decision.Outcome {
		case merge.Created:
			n.created++
		case merge.Updated:
			n.updated++
		case merge.Invalid:
			n.invalid++
		default:
			n.unchanged++
		}
		n.messages += len(a.Messages)
	}
	return n
}

// clone copies records (ApplyRecords bounds them in place).
func clone(recs []source.Record) []source.Record { return append([]source.Record(nil), recs...) }

// scanTenant reads every item of a tenant by "PK|SK", except its runs'
// partitions other than a dry run's scratch space.
func scanTenant(t *testing.T, s *stacktest.Stack, tenant string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	p := dynamodb.NewScanPaginator(s.DynamoDB, &dynamodb.ScanInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var m map[string]any
			if err := attributevalueUnmarshal(item, &m); err != nil {
				t.Fatal(err)
			}
			pk, _ := m["PK"].(string)
			sk, _ := m["SK"].(string)
			if pk != "T#"+tenant && !strings.HasPrefix(pk, "T#"+tenant+"#") {
				continue
			}
			if strings.HasPrefix(pk, "T#"+tenant+"#RUN#") && !strings.Contains(pk, "#D#") {
				continue
			}
			out[pk+"|"+sk] = m
		}
	}
	return out
}
