package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func conn(id, label string, mode consent.Mode) merge.Connection {
	return merge.Connection{ID: id, Label: label, Mode: mode, DefaultRegion: "AU"}
}

// anns is n records of c, each a person named Ann updated at t0 with sig.
func anns(c merge.Connection, n int, sig source.ConsentSignal) []source.Record {
	recs := make([]source.Record, 0, n)
	for i := range n {
		recs = append(recs, record(c, i, t0, "Ann", sig))
	}
	return recs
}

func record(c merge.Connection, i int, updated time.Time, first string, sig source.ConsentSignal) source.Record {
	email := fmt.Sprintf("User%03d@Example.com", i)
	if c.ID == "c2" {
		email = strings.ToLower(email)
	}
	return source.Record{
		Platform: source.Shopify, Label: c.Label, ConnectionID: c.ID, ExternalID: fmt.Sprintf("%s-%d", c.ID, i),
		UpdatedAt: updated, FirstName: first, LastName: "Nguyen",
		Emails: []string{email}, Phones: []source.PhoneField{{Raw: fmt.Sprintf("0412 %03d %03d", i/1000, i%1000), Country: "AU", Field: "phone"}},
		Consent: sig, Groups: []string{"tag-" + c.ID}, HasGroups: true,
	}
}

func TestApply_RaceOf64WritersOn100NumbersFrom3Connections(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	ctx := context.Background()
	conns := []merge.Connection{conn("c1", "Shopify", consent.Explicit), conn("c2", "WooCommerce", consent.Explicit), conn("c3", "Klaviyo", consent.Explicit)}
	type job struct {
		c   merge.Connection
		rec source.Record
	}
	var jobs []job
	for ci, c := range conns {
		for i := range 100 {
			sig := source.ConsentSignal{State: source.SignalNeverAsked}
			switch {
			case c.ID == "c2" && i%2 == 0:
				sig = source.ConsentSignal{State: source.SignalSubscribed, At: t0.Add(time.Hour)}
			case c.ID == "c3" && i%10 == 0:
				sig = source.ConsentSignal{State: source.SignalUnsubscribed, At: t0.Add(2 * time.Hour)}
			}
			jobs = append(jobs, job{c, record(c, i, t0.Add(time.Duration(ci+1)*time.Minute), fmt.Sprintf("%s-name", c.ID), sig)})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	work := make(chan job)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: j.c}, j.rec, t0.Add(3*time.Hour)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()

	var all []store.ContactView
	cursor := ""
	for {
		page, next, err := st.ListContacts(ctx, "t1", store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 100 {
		t.Fatalf("%d contacts, want exactly 100", len(all))
	}
	phones := map[string]bool{}
	for _, c := range all {
		if phones[c.Phone] {
			t.Errorf("two contacts share %s", c.Phone)
		}
		phones[c.Phone] = true
		if got := strings.Join(c.Labels(), ","); got != "Klaviyo,Shopify,WooCommerce" {
			t.Errorf("%s sources = %s, want all three", c.ID, got)
		}
		if len(c.Groups) != 3 {
			t.Errorf("%s groups = %v, want the union of 3", c.ID, c.Groups)
		}
		if c.FirstName.Value != "c3-name" {
			t.Errorf("%s first name = %q, want the newest source's (lost update)", c.ID, c.FirstName.Value)
		}
		var i int
		fmt.Sscanf(c.EmailKey, "user%03d@example.com", &i)
		want := "not_subscribed"
		switch {
		case i%10 == 0:
			want = "unsubscribed"
		case i%2 == 0:
			want = "subscribed"
		}
		if c.Status != want {
			t.Errorf("contact %d status %s, want %s", i, c.Status, want)
		}
	}
}

// A page applied again writes nothing but its member bundles (one write
// per group and store.BucketSize contacts): its links are folded into
// the contacts, written with them before the page's side writes, so a
// contact marked by this run has them redone. (The pipeline skips a page
// already recorded before applying it: one that reaches the store again
// crashed, or overlapped its own slower delivery.)
func TestApply_ReplayedPageWritesOnlyItsBundlesAndCountsOnce(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, _, clk := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	recs := anns(c, 50, source.ConsentSignal{State: source.SignalNeverAsked})
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlan(ctx, "t1", run.ID, 1, 50); err != nil {
		t.Fatal(err)
	}
	apply := func() store.Counts {
		t.Helper()
		out, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: run.ID}, recs, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		var n store.Counts
		for _, a := range out {
			n.Seen++
			switch a.Decision.Outcome {
			case merge.Created:
				n.Created++
			case merge.Updated:
				n.Updated++
			case merge.Unchanged:
				n.Unchanged++
			case merge.Invalid:
				n.Invalid++
			}
		}
		return n
	}
	first := apply()
	if first.Created != 50 {
		t.Fatalf("first application = %+v, want 50 created", first)
	}
	if _, wcu, _ := usage.Totals(); wcu < 50 {
		t.Fatalf("first application consumed %.1f WCU: consumed capacity is not being measured", wcu)
	}
	if counted, _, err := st.RecordPage(ctx, store.PageResult{TenantID: "t1", RunID: run.ID, PageID: "p1", Counts: first}, time.Hour); err != nil || !counted {
		t.Fatalf("record page: %v %v", counted, err)
	}
	usage.Reset()
	second := apply()
	_, wcu, _ := usage.Totals()
	if bundles := float64((50 + store.BucketSize - 1) / store.BucketSize); wcu != bundles {
		t.Errorf("replayed page consumed %.1f WCU, want %.0f (its bundles of one group again)", wcu, bundles)
	}
	if second != first {
		t.Errorf("replayed page outcomes = %+v, want the same as the first (%+v) within one run", second, first)
	}
	if counted, _, _ := st.RecordPage(ctx, store.PageResult{TenantID: "t1", RunID: run.ID, PageID: "p1", Counts: second}, time.Hour); counted {
		t.Error("replayed page counted twice")
	}
	r, err := st.FinishRun(ctx, "t1", run.ID)
	if err != nil || r.Counts.Created != 50 || r.Status != store.RunCompleted {
		t.Fatalf("run = %+v %v", r, err)
	}
}

func TestApply_StopDuringPageLeavesNumberUnsubscribed(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	rec := record(c, 7, t0, "Ann", source.ConsentSignal{State: source.SignalSubscribed, At: t0})
	phone := "+61412000007"
	stopAt := t0.Add(time.Hour)
	stop := func() {
		if _, err := st.UpdateLedger(ctx, "t1", phone, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
			l, ch := r.Ledger.Apply(consent.OptOutEvent(stopAt, consent.Evidence{Text: "STOP", MessageID: "SM1", Provider: "twilio"}))
			return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
		}); err != nil {
			t.Error(err)
		}
	}
	// The page read the number's state; then STOP lands; then the page writes.
	var once sync.Once
	store.SetBeforeWrite(st, func() { once.Do(stop) })
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r1"}, rec, clk.now()); err != nil {
		t.Fatal(err)
	}
	rec2 := rec
	rec2.UpdatedAt = t0.Add(2 * time.Hour) // a later re-sync still says subscribed (consent timestamp t0, before STOP)
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, rec2, clk.now()); err != nil {
		t.Fatal(err)
	}
	p, ok, err := st.GetPhone(ctx, "t1", phone)
	if err != nil || !ok {
		t.Fatalf("phone: %v %v", ok, err)
	}
	if s := p.Ledger.State(); s != consent.Unsubscribed {
		t.Fatalf("state = %s, want unsubscribed (STOP wins)", s)
	}
	cv, err := st.GetContact(ctx, "t1", p.ContactID)
	if err != nil || cv.Status != string(consent.Unsubscribed) {
		t.Fatalf("contact status = %q %v", cv.Status, err)
	}
}

func TestApply_TenantIsolation(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	a, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c}, record(c, 1, t0, "Ann", source.ConsentSignal{}), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetContact(ctx, "t2", a.Decision.ContactID); err == nil {
		t.Fatal("tenant 2 read tenant 1's contact")
	}
	b, err := st.ApplyRecord(ctx, store.Target{TenantID: "t2", Conn: c}, record(c, 1, t0, "Bob", source.ConsentSignal{}), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if b.Decision.Outcome != merge.Created || b.Decision.ContactID == a.Decision.ContactID {
		t.Fatalf("tenant 2's same record = %+v, want its own new contact", b.Decision)
	}
	got, err := st.GetContact(ctx, "t1", a.Decision.ContactID)
	if err != nil || got.FirstName.Value != "Ann" {
		t.Fatalf("tenant 1's contact changed: %+v %v", got, err)
	}
}

func TestApply_HistoryAndReportItemsExpireInOneYear(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Explicit)
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: "t1", ConnectionID: "c1", Trigger: store.TriggerInstall, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c, RunID: run.ID}, record(c, 3, t0, "Ann", source.ConsentSignal{State: source.SignalSubscribed, At: t0}), clk.now()); err != nil {
		t.Fatal(err)
	}
	// A later opt-out at the source changes the state: a history item.
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c, RunID: run.ID}, record(c, 3, t0.Add(time.Hour), "Ann", source.ConsentSignal{State: source.SignalUnsubscribed, At: t0.Add(time.Hour)}), clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordPage(ctx, store.PageResult{TenantID: "t1", RunID: run.ID, PageID: "p", Counts: store.Counts{Seen: 1, Created: 1}, Rows: []store.ReportRow{{ExternalID: "x", Outcome: "created"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	out, err := s.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	want := clk.now().Add(365 * 24 * time.Hour).Unix()
	kinds := map[string]bool{}
	for _, item := range out.Items {
		var it struct {
			PK, SK    string
			ExpiresAt int64 `dynamodbav:"expiresAt"`
		}
		if err := attributevalueUnmarshal(item, &it); err != nil {
			t.Fatal(err)
		}
		var kind string
		switch {
		case strings.Contains(it.PK, "#H#"):
			kind = "history"
		case strings.HasPrefix(it.SK, "RUN#"):
			kind = "run"
		case strings.HasPrefix(it.SK, "ROWS#"), strings.HasPrefix(it.SK, "PAGE#"):
			kind = "report"
		default:
			continue
		}
		kinds[kind] = true
		if d := it.ExpiresAt - want; d < -120 || d > 120 {
			t.Errorf("%s item %s/%s expiresAt %d, want ≈ %d (now + 365 d)", kind, it.PK, it.SK, it.ExpiresAt, want)
		}
	}
	for _, k := range []string{"history", "run", "report"} {
		if !kinds[k] {
			t.Errorf("no %s item found", k)
		}
	}
}

func TestRedact_KeepsOnlyAHashedOptOutThatLaterSyncsRespect(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	rec := record(c, 9, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	target := store.Target{TenantID: "t1", Conn: c}
	if _, err := st.ApplyRecord(ctx, target, rec, clk.now()); err != nil {
		t.Fatal(err)
	}
	phone := "+61412000009"
	if _, err := st.UpdateLedger(ctx, "t1", phone, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		l, ch := r.Ledger.Apply(consent.OptOutEvent(t0.Add(time.Hour), consent.Evidence{Text: "STOP"}))
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.ForgetSourceRecord(ctx, target, rec.ExternalID, clk.now()); err != nil {
		t.Fatal(err)
	}
	out, err := s.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range out.Items {
		var it struct{ PK, SK string }
		if err := attributevalueUnmarshal(item, &it); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(it.PK, phone) || strings.Contains(it.PK, "#C#") || strings.Contains(it.PK, "user009") {
			t.Errorf("personal data left after redaction: %s / %s", it.PK, it.SK)
		}
	}
	if ok, _, _ := st.Suppressed(ctx, "t1", phone); !ok {
		t.Fatal("no hashed suppression entry")
	}
	// The customer comes back through a re-sync in inferred mode: the
	// number must stay unsubscribed.
	rec.UpdatedAt = t0.Add(48 * time.Hour)
	a, err := st.ApplyRecord(ctx, target, rec, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	cv, err := st.GetContact(ctx, "t1", a.Decision.ContactID)
	if err != nil || cv.Status != string(consent.Unsubscribed) {
		t.Fatalf("re-synced contact status = %q %v, want unsubscribed", cv.Status, err)
	}
}

// A re-sync page where one record is new and the rest are unchanged reads
// the unchanged ones' links only (0.5 RCU each): the new record's load must
// not pull in the contacts (and their identifiers) the unchanged links
// point at.
func TestApply_UnchangedRecordsCostOnlyTheirLinkBesideAChangedOne(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, _, clk := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	recs := anns(c, 99, source.ConsentSignal{State: source.SignalNeverAsked})
	target := store.Target{TenantID: "t1", Conn: c}
	if _, err := st.ApplyRecords(ctx, target, recs, clk.now()); err != nil {
		t.Fatal(err)
	}
	recs = append(recs, record(c, 99, t0, "Bo", source.ConsentSignal{State: source.SignalNeverAsked}))
	usage.Reset()
	out, err := st.ApplyRecords(ctx, target, recs, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if out[99].Decision.Outcome != merge.Created || out[0].Decision.Outcome != merge.Unchanged {
		t.Fatalf("outcomes: first %s, last %s; want unchanged, created", out[0].Decision.Outcome, out[99].Decision.Outcome)
	}
	// 100 links (50 RCU) plus the new record's phone, email and ledger
	// reads: a handful of units, not the 99 other contacts.
	if rcu, _ := usage.Estimated(); rcu > 60 {
		t.Errorf("page read %.1f RCU, want about 50 (0.5 per unchanged record)", rcu)
	}
}

// A page that crashes after a record's transaction commits but before its
// batched side writes (link, memberships) is redelivered within the same
// run: the record counts as what the first attempt did (created), its
// group membership exists, and there is one contact.
func TestApply_CrashAfterTransactionBeforeSideWritesCountsWhatItDid(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	rec := record(c, 7, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	target := store.Target{TenantID: "t1", Conn: c, RunID: "run-1"}
	applyCrashing(t, st, target, []source.Record{rec}, clk.now())
	out, err := st.ApplyRecords(ctx, target, []source.Record{rec}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Decision.Outcome; got != merge.Created {
		t.Errorf("redelivered record counted %s, want created (what the crashed attempt did)", got)
	}
	members, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Group: "Shopify - tag-c1"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || len(members) != 1 {
		t.Errorf("%d contacts, %d in the group; want 1 and 1", len(all), len(members))
	}
	// A later run sees it unchanged.
	out, err = st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "run-2"}, []source.Record{rec}, clk.now())
	if err != nil || out[0].Decision.Outcome != merge.Unchanged {
		t.Fatalf("next run: %v %v", out[0].Decision.Outcome, err)
	}
}

// A profile's full record and its group deltas (Klaviyo list member pages)
// cost nothing on a re-sync once applied: neither the contact nor the link
// item is rewritten, and the full record still takes the free path.
func TestApply_GroupDeltasAndTheirFullRecord_ResyncWritesNothing(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, _, clk := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	c := conn("k1", "Klaviyo", consent.Inferred)
	full := record(c, 1, t0, "Ann", source.ConsentSignal{State: source.SignalSubscribed, At: t0})
	full.Groups, full.HasGroups = nil, false // a Klaviyo profile says nothing about groups
	member := func(list string) source.Record {
		r := full
		r.UpdatedAt, r.AddGroups = time.Time{}, []string{list}
		return r
	}
	page := []source.Record{full, member("VIP"), member("Newsletter")}
	tgt := store.Target{TenantID: "t1", Conn: c}
	apply := func() []store.Applied {
		t.Helper()
		var out []store.Applied
		for _, r := range page { // one at a time: the order a sync gives them
			a, err := st.ApplyRecord(ctx, tgt, r, clk.now())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	first := apply()
	if first[0].Decision.Outcome != merge.Created || first[1].Decision.Outcome != merge.Updated || first[2].Decision.Outcome != merge.Updated {
		t.Fatalf("first sync outcomes: %v %v %v", first[0].Decision.Outcome, first[1].Decision.Outcome, first[2].Decision.Outcome)
	}
	usage.Reset()
	for i, a := range apply() {
		if a.Decision.Outcome != merge.Unchanged || a.Wrote {
			t.Errorf("re-sync of record %d: outcome %s, wrote %v; want unchanged without a write", i, a.Decision.Outcome, a.Wrote)
		}
	}
	if _, wcu, _ := usage.Totals(); wcu != 0 {
		t.Errorf("the re-sync consumed %.1f WCU, want 0", wcu)
	}
	members, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Group: "Klaviyo - Newsletter"}, 10, "")
	if err != nil || len(members) != 1 {
		t.Fatalf("members of Klaviyo - Newsletter: %d, %v", len(members), err)
	}
}
