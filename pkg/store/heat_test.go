package store_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// The partition-heat replay (heat.md): N contacts installed through the
// store calls of the bulk-sync page path, in pages of heatPageSize (a
// Shopify bulk range), then re-synced unchanged, then re-synced with every
// name changed, then webhooks; a meter on the DynamoDB client records what
// each partition key of the table and of each GSI received.
const (
	heatContacts = 2000
	heatPageSize = 250 // shopify.PageSize: one bulk range a page
	heatHooks    = 100
	heatTenant   = "t1"
	// The model's rates: a 1,000,000-customer Shopify install applied at
	// 5,000 contacts/s across the workers (20 pages/s).
	heatRate = 5000.0
)

// heatRecords are n new Shopify customers (phone, email, two groups), as
// the bench's pages are.
func heatRecords(c merge.Connection, from, n int, at time.Time) []source.Record {
	recs := make([]source.Record, n)
	for i := range recs {
		k := from + i
		recs[i] = source.Record{
			Platform: source.Shopify, Label: c.Label, ConnectionID: c.ID, ExternalID: fmt.Sprint("h", k), UpdatedAt: at,
			FirstName: "Heat", LastName: fmt.Sprint("Person", k), Emails: []string{fmt.Sprintf("heat%d@example.com", k)},
			Phones:  []source.PhoneField{{Raw: fmt.Sprintf("+614%08d", k), Field: "phone"}},
			Consent: source.ConsentSignal{State: source.SignalSubscribed, At: at}, Groups: []string{"VIP", "Newsletter"}, HasGroups: true,
		}
	}
	return recs
}

// heatReplay is one replay's meter readings, by phase.
type heatReplay struct {
	start, firstPage, pages, finish map[heatKey]heatCount // the install run
	unchanged, renamed              map[heatKey]heatCount // two re-syncs: their pages
	hooksNew, hooksRenamed          map[heatKey]heatCount // webhook deliveries
	confirm, doubleOptIn, sent      map[heatKey]heatCount // pages of heatPageSize new contacts that make SMS due; their sends
	sentCount                       int
	sentCapped                      map[heatKey]heatCount // the double opt-in page's texts, sent under a monthly cap
	sentCappedCount                 int
	pagesMeasured                   int // pages in .pages (all but the first)
}

// runPages replays the store calls of one bulk-sync run of recs in pages
// (bulksync.Handler: plan → SetPlan; page → GetRun, PageRecorded,
// GetConnection, ApplyRecords, RecordPage with the page's report rows;
// the last page → FinishRun, MarkSynced), taking the meter after the
// start, after the first page, after the other pages and after the end.
func runPages(t *testing.T, st *store.Store, m *heatMeter, c merge.Connection, recs []source.Record, now time.Time) (start, first, pages, finish map[heatKey]heatCount, due []consent.Message) {
	t.Helper()
	ctx := context.Background()
	run, err := st.StartRun(ctx, store.RunSpec{TenantID: heatTenant, ConnectionID: c.ID, Trigger: store.TriggerManual, LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	npages := (len(recs) + heatPageSize - 1) / heatPageSize
	if err := st.SetPlan(ctx, heatTenant, run.ID, npages, len(recs)); err != nil {
		t.Fatal(err)
	}
	start = m.take()
	done := false
	for p := range npages {
		page := recs[p*heatPageSize : min((p+1)*heatPageSize, len(recs))]
		pageID := fmt.Sprint("p", p)
		if _, err := st.GetRun(ctx, heatTenant, run.ID); err != nil {
			t.Fatal(err)
		}
		if recorded, err := st.PageRecorded(ctx, heatTenant, run.ID, pageID); err != nil || recorded {
			t.Fatalf("page %s recorded=%v err=%v", pageID, recorded, err)
		}
		if _, err := st.GetConnection(ctx, heatTenant, c.ID); err != nil {
			t.Fatal(err)
		}
		applied, err := st.ApplyRecords(ctx, store.Target{TenantID: heatTenant, Conn: c, RunID: run.ID}, page, now)
		if err != nil {
			t.Fatal(err)
		}
		res := store.PageResult{TenantID: heatTenant, RunID: run.ID, PageID: pageID}
		for i, a := range applied {
			due = append(due, a.Messages...)
			res.Counts.Seen++
			switch a.Decision.Outcome {
			case merge.Created:
				res.Counts.Created++
			case merge.Updated:
				res.Counts.Updated++
			case merge.Invalid:
				res.Counts.Invalid++
			default:
				res.Counts.Unchanged++
				continue // counted, not listed
			}
			res.Rows = append(res.Rows, store.NewReportRow(page[i], a.Decision, a.Identity))
		}
		_, allDone, err := st.RecordPage(ctx, res, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		done = allDone
		if p == 0 {
			first = m.take()
		}
	}
	pages = m.take()
	if !done {
		t.Fatal("the run's pages are not all done")
	}
	fin, err := st.FinishRun(ctx, heatTenant, run.ID)
	if err != nil || fin.Status != store.RunCompleted {
		t.Fatalf("finish: %v %+v", err, fin)
	}
	if err := st.MarkSynced(ctx, heatTenant, c.ID, run.StartedAt, true); err != nil {
		t.Fatal(err)
	}
	finish = m.take()
	return start, first, pages, finish, due
}

// sends replays the store calls of the outbox sender for each message
// (outbox.Handler: LeaseOutbox, GetPhone, GetTenant, ReserveCredits when
// the tenant has a monthly cap, FinishOutbox sent with its credits).
func sends(t *testing.T, st *store.Store, due []consent.Message, now time.Time, capped bool) {
	t.Helper()
	ctx := context.Background()
	for _, msg := range due {
		ref := store.OutboxRef(msg)
		lease, err := st.LeaseOutbox(ctx, heatTenant, ref, time.Minute)
		if err != nil || !lease.OK {
			t.Fatalf("lease %s: %+v %v", ref, lease, err)
		}
		if _, _, err := st.GetPhone(ctx, heatTenant, msg.Phone); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetTenant(ctx, heatTenant); err != nil {
			t.Fatal(err)
		}
		month, reserved := store.UsageMonth(now), 0
		if capped {
			if ok, err := st.ReserveCredits(ctx, heatTenant, ref, month, 1, 1_000_000); err != nil || !ok {
				t.Fatalf("reserve %s: %v %v", ref, ok, err)
			}
			reserved = 1
		}
		if err := st.FinishOutbox(ctx, heatTenant, ref, store.OutboxResult{Status: store.OutboxSent, Detail: "SM" + ref, Credits: 1,
			ConnectionID: msg.ConnectionID, Purpose: string(msg.Purpose), Capped: capped, Reserved: reserved, ReservedMonth: month}); err != nil {
			t.Fatal(err)
		}
	}
}

// webhooks replays the store calls of n webhook deliveries as
// webhook.Handler makes them: the connection read once (each warm
// container keeps it 30 s), then per delivery ApplyRecords with the
// delivery's idempotency key folded into its reads and writes
// (store.Delivery).
func webhooks(t *testing.T, st *store.Store, c merge.Connection, recs []source.Record, tag string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.GetConnection(ctx, heatTenant, c.ID); err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		target := store.Target{TenantID: heatTenant, Conn: c,
			Delivery: &store.Delivery{Scope: store.ScopeWebhook, Key: tag + rec.ExternalID, KeepFor: 48 * time.Hour}}
		if _, err := st.ApplyRecords(ctx, target, []source.Record{rec}, now); err != nil {
			t.Fatal(err)
		}
	}
}

// replayHeat runs the whole replay on a fresh table of the embedded stack.
func replayHeat(t *testing.T) heatReplay {
	t.Helper()
	s := stacktest.New(t)
	m := newHeatMeter(s.DynamoDB, s.Table)
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	st := store.New(m, s.Table, store.WithClock(clk.now))
	ctx := context.Background()
	c := merge.Connection{ID: "c1", Label: "Shopify", Mode: consent.Explicit, DefaultRegion: "AU"}
	if err := st.CreateConnection(ctx, store.Connection{TenantID: heatTenant, ID: c.ID, Platform: "shopify", Label: c.Label,
		ConsentMode: string(c.Mode), DefaultRegion: c.DefaultRegion, Enabled: true, SyncIntervalHours: 24, NextSyncAt: clk.t}); err != nil {
		t.Fatal(err)
	}
	m.take()
	t0 := clk.t
	var r heatReplay
	recs := heatRecords(c, 1, heatContacts, t0)
	r.start, r.firstPage, r.pages, r.finish, _ = runPages(t, st, m, c, recs, t0)
	r.pagesMeasured = (heatContacts+heatPageSize-1)/heatPageSize - 1

	clk.advance(time.Hour)
	_, first, rest, _, _ := runPages(t, st, m, c, recs, clk.t)
	r.unchanged = merged(first, rest)

	clk.advance(time.Hour)
	for i := range recs {
		recs[i].UpdatedAt = clk.t
		recs[i].LastName += "-renamed"
	}
	_, first, rest, _, _ = runPages(t, st, m, c, recs, clk.t)
	r.renamed = merged(first, rest)

	clk.advance(time.Hour)
	hooks := heatRecords(c, heatContacts+1, heatHooks, clk.t)
	webhooks(t, st, c, hooks, "new-", clk.t)
	r.hooksNew = m.take()
	clk.advance(time.Minute)
	for i := range hooks {
		hooks[i].UpdatedAt = clk.t
		hooks[i].LastName += "-renamed"
	}
	webhooks(t, st, c, hooks, "renamed-", clk.t)
	r.hooksRenamed = m.take()

	// Connections whose new contacts get a text: confirmation and double
	// opt-in (its request waits in the DOI index); the sender's side.
	if err := st.EnsureTenant(ctx, heatTenant, "Heat", "secret"); err != nil {
		t.Fatal(err)
	}
	for i, mode := range []consent.Mode{consent.Confirmation, consent.DoubleOptIn} {
		cm := merge.Connection{ID: fmt.Sprint("c", i+2), Label: "Shopify", Mode: mode, DefaultRegion: "AU"}
		if err := st.CreateConnection(ctx, store.Connection{TenantID: heatTenant, ID: cm.ID, Platform: "shopify", Label: cm.Label,
			ConsentMode: string(mode), DefaultRegion: cm.DefaultRegion, Enabled: true, SyncIntervalHours: 24, NextSyncAt: clk.t}); err != nil {
			t.Fatal(err)
		}
		m.take()
		_, first, _, _, due := runPages(t, st, m, cm, heatRecords(cm, (i+2)*100_000, heatPageSize, clk.t), clk.t)
		if len(due) != heatPageSize {
			t.Fatalf("%s: %d messages due, want one a contact (%d)", mode, len(due), heatPageSize)
		}
		if mode == consent.Confirmation {
			// The confirmations go out without a cap; then a cap is set
			// and the double opt-in requests go out under it.
			r.confirm = first
			sends(t, st, due, clk.t, false)
			r.sent, r.sentCount = m.take(), len(due)
			capacity := 1_000_000
			if err := st.SetCreditCap(ctx, heatTenant, &capacity); err != nil {
				t.Fatal(err)
			}
			m.take()
		} else {
			r.doubleOptIn = first
			m.take()
			sends(t, st, due, clk.t, true)
			r.sentCapped, r.sentCappedCount = m.take(), len(due)
		}
	}
	return r
}

func merged(ms ...map[heatKey]heatCount) map[heatKey]heatCount {
	out := map[heatKey]heatCount{}
	for _, m := range ms {
		for k, c := range m {
			o := out[k]
			o.Writes += c.Writes
			o.Reads += c.Reads
			o.WCU += c.WCU
			o.RCU += c.RCU
			o.MaxItem = max(o.MaxItem, c.MaxItem)
			out[k] = o
		}
	}
	return out
}

// heatTable renders a phase's rows per unit of work (per contact or per
// delivery): units on the busiest key, and its rate at perSecond units of
// work a second against DynamoDB's partition limits.
func heatTable(rows []heatRow, per float64, perSecond float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %-24s %6s %9s %9s %9s %9s %9s %9s %7s\n", "where", "key", "keys", "writes/u", "hotWCU/u", "hotRCU/u", "WCU/s", "RCU/s", "x limit", "maxItem")
	for _, r := range rows {
		w, rd := r.HotWCU/per*perSecond, r.HotRCU/per*perSecond
		fmt.Fprintf(&b, "%-6s %-24s %6d %9.4f %9.4f %9.4f %9.0f %9.0f %9.2f %7d\n", r.Where, r.Class, r.Keys, float64(r.HotWrites)/per,
			r.HotWCU/per, r.HotRCU/per, w, rd, max(w/1000, rd/3000), r.MaxItem)
	}
	return b.String()
}

// heatExpect is one number of the model (heat.md): what one access
// pattern's keys receive per unit of work (a contact, a page, a delivery,
// a message) in a phase. Hot: the number is its busiest key's, otherwise
// the sum over its keys. A negative figure is not checked.
type heatExpect struct {
	units        float64 // units of work in the phase (per)
	where, class string
	hot          bool
	writes, wcu  float64
	reads, rcu   float64
}

// per sets the units of work of the numbers es.
func per(units float64, es ...heatExpect) []heatExpect {
	for i := range es {
		es[i].units = units
	}
	return es
}

// heatColdWrites bounds what any key of a pattern the model does not list
// receives in a phase: a key written per contact is a listed hot key, so a
// change that adds a write to one fails here until the model names it.
const heatColdWrites = 2

// checkHeat compares a phase with the model: each listed number exactly
// (units are whole counts of started KB), and no unlisted key over
// heatColdWrites writes.
func checkHeat(t *testing.T, phase string, keys map[heatKey]heatCount, groups ...[]heatExpect) {
	t.Helper()
	rows := heatRows(heatTenant, keys)
	listed := map[[2]string]bool{}
	var want []heatExpect
	for _, g := range groups {
		want = append(want, g...)
	}
	for _, w := range want {
		units := w.units
		near := func(got, want float64) bool { return want < 0 || (got > want*units-1e-6 && got < want*units+1e-6) }
		listed[[2]string{w.where, w.class}] = true
		var r heatRow
		for _, x := range rows {
			if x.Where == w.where && x.Class == w.class {
				r = x
			}
		}
		writes, wcu, reads, rcu := float64(r.Writes), r.WCU, float64(r.Reads), r.RCU
		if w.hot {
			writes, wcu, reads, rcu = float64(r.HotWrites), r.HotWCU, float64(r.HotReads), r.HotRCU
		}
		if !near(writes, w.writes) || !near(wcu, w.wcu) || !near(reads, w.reads) || !near(rcu, w.rcu) {
			t.Errorf("%s: %s %s (hot=%v) per unit: writes %.4f WCU %.4f reads %.4f RCU %.4f; the model says writes %g WCU %g reads %g RCU %g",
				phase, w.where, w.class, w.hot, writes/units, wcu/units, reads/units, rcu/units, w.writes, w.wcu, w.reads, w.rcu)
		}
	}
	for _, r := range rows {
		if !listed[[2]string{r.Where, r.Class}] && r.HotWrites > heatColdWrites {
			t.Errorf("%s: %s %s: its busiest key %s got %d writes: a hot key the model does not list",
				phase, r.Where, r.Class, r.hotKey, r.HotWrites)
		}
	}
}

// overLimit lists the patterns whose busiest key, at perSecond units of
// work a second, passes a partition's 1,000 WCU/s or 3,000 RCU/s.
func overLimit(keys map[heatKey]heatCount, units, perSecond float64) []string {
	var out []string
	for _, r := range heatRows(heatTenant, keys) {
		if w, rd := r.HotWCU/units*perSecond, r.HotRCU/units*perSecond; w > 1000 || rd > 3000 {
			out = append(out, fmt.Sprintf("%s %s", r.Where, r.Class))
		}
	}
	return out
}

// checkShare holds a sharded pattern to its spread: each of its keys
// received writes, and the busiest at most 1.5 times an even share of
// them (1/keys).
func checkShare(t *testing.T, phase string, keys map[heatKey]heatCount, where, class string, n int) {
	t.Helper()
	for _, r := range heatRows(heatTenant, keys) {
		if r.Where != where || r.Class != class {
			continue
		}
		share := float64(r.HotWrites) / float64(r.Writes)
		t.Logf("%s: %s %s: busiest of %d keys took %.2f%% of %d writes (even: %.2f%%)", phase, where, class, r.Keys, 100*share, r.Writes, 100/float64(n))
		if r.Keys != n || share > 1.5/float64(n) {
			t.Errorf("%s: %s %s: %d keys, the busiest with %.2f%% of the writes; want %d keys, at most %.2f%% on one", phase, where, class, r.Keys, 100*share, n, 150/float64(n))
		}
		return
	}
	t.Errorf("%s: no writes on %s %s", phase, where, class)
}

// hot is a number of the busiest key of a pattern; all, of all its keys.
func hot(where, class string, writes, wcu, reads, rcu float64) heatExpect {
	return heatExpect{where: where, class: class, hot: true, writes: writes, wcu: wcu, reads: reads, rcu: rcu}
}

func all(where, class string, writes, wcu, reads, rcu float64) heatExpect {
	return heatExpect{where: where, class: class, writes: writes, wcu: wcu, reads: reads, rcu: rcu}
}

// TestHeat_Replay meters a replay (replayHeat) per partition key and holds
// it to the model of heat.md: the numbers per contact, page, delivery and
// message that, times the model's rates, give its table.
func TestHeat_Replay(t *testing.T) {
	t.Parallel()
	r := replayHeat(t)
	pages := float64(r.pagesMeasured)
	steady := pages * heatPageSize
	allPages := float64((heatContacts + heatPageSize - 1) / heatPageSize)
	rowItems := float64((heatPageSize + source.ReportRowsPerItem - 1) / source.ReportRowsPerItem)
	const n = -1.0 // not checked
	// Per page of a run: the run's counters and the lock (RecordPage's
	// transaction: 2 writes, 4 WCU) with the run's index entry; the run
	// read three times and the connection once (strongly: 4 RCU); the
	// page's marker (a transaction's put) and its report rows
	// (ReportRowsPerItem a item) on the run's key, and its marker read.
	runPage := func(rows float64) []heatExpect {
		return []heatExpect{
			hot("table", "T#t", 2, 4, 4, 4),
			hot("GSI1", "T#t#CONN#<c>#RUNS", 1, 1, 0, 0),
			hot("table", "T#t#RUN#<r>", 1+rows, n, 1, 1),
		}
	}

	t.Logf("install, pages 2..%d, per contact, at %.0f contacts/s:\n%s", r.pagesMeasured+1, heatRate, heatTable(heatRows(heatTenant, r.pages), steady, heatRate))
	// A new contact with phone, email and two groups: its name-index
	// entry on one of the tenant's 16 name-index shards; its memberships
	// in its page's bundles, one write per group and bucketSize new
	// contacts (members.go; a bundle on one of each group's 8 shards); its
	// email claim on one of 32 shards.
	bundles := 2 * math.Ceil(heatPageSize/float64(store.BucketSize)) / heatPageSize
	newContact := []heatExpect{
		all("GSI1", "T#t#CONTACTS#<k>", 1, 1, 0, 0),
		all("table", "T#t#G#<group>#<k>", bundles, bundles, 0, 0),
		all("table", "T#t#EMAILS#<s>", 1, 1, n, n),
	}
	checkHeat(t, "install", r.pages, per(steady, newContact...), per(pages, runPage(rowItems)...))
	// The busiest shard takes at most 1.5 times its even share. (A
	// group's bundles are too few writes to weigh: 0.03 of a key's limit
	// at this rate even all on one key.)
	checkShare(t, "install", r.pages, "GSI1", "T#t#CONTACTS#<k>", 16)
	checkShare(t, "install", r.pages, "table", "T#t#EMAILS#<s>", 32)
	if got := overLimit(r.pages, steady, heatRate); len(got) != 0 {
		t.Errorf("over a partition's limit at %.0f new contacts/s: %v, the model says none", heatRate, got)
	}

	t.Logf("run start, per run:\n%s", heatTable(heatRows(heatTenant, r.start), 1, 1))
	checkHeat(t, "run start", r.start, per(1, hot("table", "T#t", 3, 5, 0, 0), hot("GSI1", "T#t#CONN#<c>#RUNS", 2, 2, 0, 0)))
	t.Logf("run end, per run:\n%s", heatTable(heatRows(heatTenant, r.finish), 1, 1))
	checkHeat(t, "run end", r.finish, per(1, hot("table", "T#t", 3, 4, 3, 3), hot("GSI1", "T#t#CONN#<c>#RUNS", 1, 1, 0, 0), hot("GSI2", "SCHED#<n>", 2, 2, 0, 0)))

	t.Logf("re-sync unchanged, per contact:\n%s", heatTable(heatRows(heatTenant, r.unchanged), heatContacts, heatRate))
	// An unchanged contact: its link's read (folded into the contact its
	// record created: the contact's key), no write; no report row.
	checkHeat(t, "re-sync unchanged", r.unchanged, per(heatContacts,
		all("table", "T#t#C#<id>", 0, 0, 1, 0.5),
		all("table", "T#t#S#<c>#<extId>", 0, 0, 0, 0),
		all("GSI1", "T#t#CONTACTS#<k>", 0, 0, 0, 0),
		all("table", "T#t#G#<group>#<k>", 0, 0, 0, 0),
		all("table", "T#t#EMAILS#<s>", 0, 0, 0, 0),
	), per(allPages, runPage(0)...))

	t.Logf("re-sync renamed, per contact:\n%s", heatTable(heatRows(heatTenant, r.renamed), heatContacts, heatRate))
	// A changed name moves the contact's name-index entry: a delete and a
	// put on its shard's key (the shard is the id's: it stays).
	checkHeat(t, "re-sync renamed", r.renamed, per(heatContacts,
		all("GSI1", "T#t#CONTACTS#<k>", 2, 2, 0, 0),
		all("table", "T#t#G#<group>#<k>", 0, 0, 0, 0),
		all("table", "T#t#EMAILS#<s>", 0, 0, n, n),
	), per(allPages, runPage(rowItems)...))
	checkShare(t, "re-sync renamed", r.renamed, "GSI1", "T#t#CONTACTS#<k>", 16)
	if got := overLimit(r.renamed, heatContacts, heatRate); len(got) != 0 {
		t.Errorf("over a partition's limit at %.0f renamed contacts/s: %v, the model says none", heatRate, got)
	}

	t.Logf("webhooks, new contact, per delivery, at 1,000/s:\n%s", heatTable(heatRows(heatTenant, r.hooksNew), heatHooks, 1000))
	// A delivery reads its idempotency key with the record's keys and
	// writes it once, completed, with its last writes (store.Delivery); the
	// connection is read once per warm container (30 s), here once for
	// the 100. A webhook's new contact stays one transaction: its email
	// claim costs 2 WCU.
	delivery := []heatExpect{
		hot("table", "T#t", 0, 0, 1.0/heatHooks, 1.0/heatHooks),
		all("table", "T#t#IDEM#<scope>#<key>", 1, 1, 1, 0.5),
	}
	// Its two memberships ride the decision's transaction (2 WCU each,
	// no request of their own: membersInTransaction).
	hookContact := []heatExpect{
		all("GSI1", "T#t#CONTACTS#<k>", 1, 1, 0, 0),
		all("table", "T#t#G#<group>#<k>", 2, 4, 0, 0),
		all("table", "T#t#EMAILS#<s>", 1, 2, n, n),
	}
	checkHeat(t, "webhook, new contact", r.hooksNew, per(heatHooks, append(delivery, hookContact...)...))
	t.Logf("webhooks, renamed, per delivery, at 1,000/s:\n%s", heatTable(heatRows(heatTenant, r.hooksRenamed), heatHooks, 1000))
	checkHeat(t, "webhook, renamed", r.hooksRenamed, per(heatHooks, append(delivery, all("GSI1", "T#t#CONTACTS#<k>", 2, 2, 0, 0))...))

	t.Logf("confirmation mode, new contact, per contact:\n%s", heatTable(heatRows(heatTenant, r.confirm), heatPageSize, heatRate))
	// A due text's marker enters the sweeper's index (cross-tenant, 64
	// shards) with the decision.
	// A decision with a due text stays one transaction (the marker with
	// the claims): its email claim costs 2 WCU.
	withText := []heatExpect{newContact[0], newContact[1], all("table", "T#t#EMAILS#<s>", 1, 2, n, n)}
	checkHeat(t, "confirmation mode", r.confirm, per(heatPageSize, append(withText, all("GSI2", "OUTBOX#<n>", 1, 1, 0, 0))...),
		per(1, hot("table", "T#t", n, n, n, n), hot("GSI1", "T#t#CONN#<c>#RUNS", n, n, n, n), hot("table", "T#t#RUN#<r>", n, n, n, n)))
	t.Logf("double opt-in mode, new contact, per contact:\n%s", heatTable(heatRows(heatTenant, r.doubleOptIn), heatPageSize, heatRate))
	// A pending contact's entry is in the pending index partition; its
	// request waits in the DOI index (cross-tenant, 16 shards).
	checkHeat(t, "double opt-in mode", r.doubleOptIn, per(heatPageSize,
		all("GSI1", "T#t#CONTACTS#PENDING#<k>", 1, 1, 0, 0),
		all("GSI1", "T#t#CONTACTS#<k>", 0, 0, 0, 0),
		all("table", "T#t#G#<group>#<k>", bundles, bundles, 0, 0),
		all("table", "T#t#EMAILS#<s>", 1, 2, n, n),
		all("GSI2", "OUTBOX#<n>", 1, 1, 0, 0),
		all("GSI2", "DOI#<n>", 1, 1, 0, 0),
	), per(1, hot("table", "T#t", n, n, n, n), hot("GSI1", "T#t#CONN#<c>#RUNS", n, n, n, n), hot("table", "T#t#RUN#<r>", n, n, n, n)))

	t.Logf("SMS sent without a cap, per message, at 1,000/s:\n%s", heatTable(heatRows(heatTenant, r.sent), float64(r.sentCount), 1000))
	// A sent text of a tenant without a cap: the tenant item read (one
	// item: the running totals are read only by CreditsUsed); counted with the marker in
	// one transaction on its usage shard's month item and its running
	// total (16 shards each, by reference): no write on the tenant's key.
	// The marker's index entry moves (lease: a delete and a put) and
	// leaves (finish).
	checkHeat(t, "SMS sent", r.sent, per(float64(r.sentCount),
		hot("table", "T#t", 0, 0, 1, 0.5),
		all("table", "T#t#USAGE#<k>", 1, 2, 0, 0),
		all("table", "T#t#CREDITS#<k>", 1, 2, 0, 0),
		all("GSI2", "OUTBOX#<n>", 3, 3, 0, 0),
		all("table", "T#t#OUT#<ref>", 2, n, 0, 0),
	))
	// 250 texts are too few to measure the shards' spread (the busiest
	// of 16 takes 24 of them, 9.6 %); TestShards_SpreadEvenly does, over
	// 4,000 references.
	t.Logf("SMS sent under a cap, per message, at 1,000/s:\n%s", heatTable(heatRows(heatTenant, r.sentCapped), float64(r.sentCappedCount), 1000))
	// Under a cap: its reservation from its usage shard's block (a
	// transaction with the marker on the shard's block key T#t#BLOCK#<k>),
	// then counted as above on the month's counters and the running total
	// (the send does not write the block's key, the reservation not the
	// counters'); the sent credits equal the reservation, so the central
	// item is not written again. A shard takes a block (the text's credit
	// and 64 more, blocks.go) once: the 250 texts put at most 24 on a
	// shard, so 16 blocks. Each block costs a failed reservation (marker
	// and block, its condition), a consistent read of the central item
	// and the 16 blocks, and one transaction on the marker, the block and
	// the central item: 16 writes on the tenant's key for 250 texts, and
	// one more write on the block's key.
	blocks := 16.0
	capped := float64(r.sentCappedCount)
	checkHeat(t, "SMS sent under a cap", r.sentCapped, per(capped,
		hot("table", "T#t", blocks/capped, 2*blocks/capped, 1+blocks/capped, 0.5+blocks/capped),
		all("table", "T#t#BLOCK#<k>", 1+blocks/capped, 2+2*blocks/capped, 16*blocks/capped, 16*blocks/capped),
		all("table", "T#t#USAGE#<k>", 1, 2, 0, 0),
		all("table", "T#t#CREDITS#<k>", 1, 2, 0, 0),
		all("GSI2", "OUTBOX#<n>", 4, 4, 0, 0),
		all("table", "T#t#OUT#<ref>", 3+blocks/capped, n, 0, 0),
	))

	// No item grows with the run: the largest of each pattern stays far
	// from DynamoDB's 400 KB item limit (report rows: ReportRowsPerItem to
	// an item, each row bounded by MaxReportRowBytes).
	for _, ph := range []map[heatKey]heatCount{r.pages, r.renamed, r.finish, r.sent, r.sentCapped} {
		for _, row := range heatRows(heatTenant, ph) {
			limit := 4 << 10
			if row.Class == "T#t#RUN#<r>" {
				limit = source.ReportRowsPerItem*source.MaxReportRowBytes + 1<<10
			}
			if row.MaxItem > limit || limit > 400<<10 {
				t.Errorf("%s %s: an item of %d bytes (bound %d; DynamoDB's limit 400 KB)", row.Where, row.Class, row.MaxItem, limit)
			}
		}
	}
}
