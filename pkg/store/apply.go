package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// pageConcurrency bounds parallel writes inside one page (records that share
// no key are applied in parallel; records that share one, in order).
const pageConcurrency = 8

// Target says where records are applied: the tenant, the connection's merge
// settings and the run (empty for webhooks).
type Target struct {
	TenantID string
	Conn     merge.Connection
	RunID    string
	// WriteBack: the connection writes opt-outs back to its source
	// (writeBackOptOuts). Each applied record then says whether its
	// number's opt-out is due there (Applied.WriteBack), decided with the
	// ledger the apply path reads anyway; the setting is part of the
	// applied hash, so turning it on makes the next sync look at every
	// record once.
	WriteBack bool
	// DryRun applies the records of run RunID without writing what a real
	// run writes: the decisions go to the run's scratch space (dryrun.go),
	// no message becomes due (Applied.Messages says what would).
	DryRun bool
	// Delivery, when set, is the webhook delivery the records came in: its
	// idempotency key is read with their first reads and written completed
	// with their last writes (apply_delivery.go).
	Delivery *Delivery

	dry *dryScope // set by ApplyRecords for a dry run
	// keepDeltaBase: the records are the run end's removals of groups
	// their source record left (merge.Input.KeepDeltaBase).
	keepDeltaBase bool
}

// deliveryMarkPrefix starts a webhook delivery's mark (a run id is "r"
// and digits, newRunID).
const deliveryMarkPrefix = "D#"

// markedBy names the application a contact's run mark records (marksFor):
// the sync run, or the webhook delivery (its idempotency key), so either
// one delivered again after a crash between its decision and its side
// writes finds what it did and redoes them. "" for neither.
func (t Target) markedBy() string {
	switch {
	case t.RunID != "":
		return t.RunID
	case t.Delivery != nil:
		return deliveryMarkPrefix + string(t.Delivery.Scope) + "#" + t.Delivery.Key
	}
	return ""
}

// Applied is the result of applying one record.
type Applied struct {
	// Decision is the record's decision without its mutations (nil: they
	// were written, and their memory is reused for the next record).
	Decision merge.Decision
	// Messages are the SMS that became due; their outbox markers were
	// written with the decision, and the caller enqueues them.
	Messages []consent.Message
	// Wrote is false when the record cost no write (unchanged).
	Wrote bool
	// Identity is what the merge read from the record (zero when the
	// record was refused before it): its report row says why a phone or
	// email was not used, and masks the one in conflict.
	Identity merge.Identity
	// Pending: the record's contact waits for a YES to a double opt-in
	// request (set when the decision was written, or by this run's earlier
	// application of the record).
	Pending bool
	// WriteBack: the target writes opt-outs back and the record still
	// shows its number (Identity.Phone) subscribed while the number is
	// unsubscribed, with no newer explicit opt-in
	// (consent.Ledger.WriteBackDue): the caller writes the opt-out back to
	// it. OptedOutAt is then the time of the opt-out in force.
	WriteBack  bool
	OptedOutAt time.Time
	// Counted are the purposes of the messages this run's earlier
	// application of the record made due (a page delivered again after it
	// was applied): the run counts them as its own, and does not queue them
	// again (their outbox markers were written with that decision).
	Counted []consent.Purpose
	// Duplicate: the target's delivery was applied before (its key is
	// completed); nothing was applied now.
	Duplicate bool
}

// ApplyRecords merges and writes a page of records of one connection.
//
// Records enter the core here, bulk pages and webhooks alike: each is first
// mapped through the connection's field map (merge.MapFields; a typed
// value that does not parse is noted field_invalid:<field>), then
// cut to source's limits (source.Bound, in place: a record's report row
// shows its bounded external id). A record that cannot be stored is
// Invalid with Bound's reason and costs nothing; a record cut to size
// carries the cut in its decision's reason. A record whose write DynamoDB
// refuses for good (ValidationException: an item over 400 KB, a key over
// its limit) is Invalid with ReasonWriteRejected; the others are applied.
func (s *Store) ApplyRecords(ctx context.Context, t Target, recs []source.Record, now time.Time) ([]Applied, error) {
	if t.DryRun {
		if t.RunID == "" {
			return nil, errors.New("store: a dry run needs its run id")
		}
		t.dry = newDryScope(t.TenantID, t.RunID, s.now())
	}
	out := make([]Applied, len(recs))
	notes := make([][]string, len(recs))
	keep := make([]int, 0, len(recs))
	for i := range recs {
		// The field map first (names, phone, email, typed custom fields),
		// then the bounds on what it produced.
		fn := merge.MapFields(&recs[i], t.Conn)
		n, invalid := source.Bound(&recs[i])
		if invalid != "" {
			out[i] = Applied{Decision: merge.Decision{Outcome: merge.Invalid, Reason: merge.Reason(invalid), At: now}}
			continue
		}
		notes[i] = append(n, fn...)
		keep = append(keep, i)
	}
	valid := recs
	if len(keep) < len(recs) {
		valid = make([]source.Record, len(keep))
		for j, i := range keep {
			valid[j] = recs[i]
		}
	}
	var applied []Applied
	if len(valid) > 0 || t.Delivery != nil {
		var err error
		if applied, err = s.applyRecords(ctx, t, valid, now); errors.Is(err, errDelivered) {
			for i := range out {
				out[i] = Applied{Duplicate: true}
			}
			return out, nil
		} else if err != nil {
			return nil, err
		}
	}
	for j, i := range keep {
		a := applied[j]
		if d := &a.Decision; len(notes[i]) > 0 && (d.Outcome == merge.Created || d.Outcome == merge.Updated) {
			// The report says what was cut (after the merge's own reason).
			rs := append([]string{}, notes[i]...)
			if d.Reason != "" {
				rs = append([]string{string(d.Reason)}, rs...)
			}
			d.Reason = merge.Reason(strings.Join(rs, ","))
		}
		out[i] = a
	}
	return out, nil
}

// ApplyRecord merges and writes one record (webhooks).
func (s *Store) ApplyRecord(ctx context.Context, t Target, rec source.Record, now time.Time) (Applied, error) {
	out, err := s.ApplyRecords(ctx, t, []source.Record{rec}, now)
	if err != nil {
		return Applied{}, err
	}
	return out[0], nil
}

// ReasonWriteRejected: DynamoDB refused the record's write for good (an
// item over 400 KB, a key over its limit); the record is reported invalid.
const ReasonWriteRejected merge.Reason = "write_rejected"

// applyRecords merges and writes bounded records: it loads their state
// (loadPage), applies each (applyOne) — records that share no key in
// parallel — and then writes the side writes of every decision that
// committed. The result has one Applied per record, in order.
func (s *Store) applyRecords(ctx context.Context, t Target, recs []source.Record, now time.Time) ([]Applied, error) {
	ids := make([]merge.Identity, len(recs))
	for i, r := range recs {
		ids[i] = merge.Identify(r, t.Conn.DefaultRegion)
	}
	pg := &page{ld: newLoaded()}
	pg.ld.dry = t.dry
	if t.Delivery != nil {
		if done, err := s.prefetchDelivery(ctx, t, recs, ids, pg.ld, false); err != nil || done {
			return nil, cmp.Or(err, errDelivered)
		}
	}
	if err := s.loadPage(ctx, t, recs, ids, pg.ld); err != nil {
		return nil, err
	}
	out, firstErr := s.applyGroups(ctx, t, recs, ids, pg, now)
	if t.Delivery != nil && firstErr == nil {
		if err := s.completeDelivery(t, &pg.side); err != nil {
			return nil, err
		}
	}
	if err := s.flushSideWrites(ctx, t, &pg.side, now); err != nil {
		return nil, errors.Join(firstErr, err)
	}
	return out, firstErr
}

// page is what a page's records share while they are applied: the loaded
// state (each written decision is absorbed into it) and the side writes
// collected. mu guards both.
type page struct {
	mu      sync.Mutex
	ld      *loaded
	side    pendingWrites
	buckets pageBuckets // the bucket of the contacts the page creates
}

// applying is one record being applied, with its page.
type applying struct {
	t    Target
	rec  source.Record
	id   merge.Identity
	lk   merge.LinkKey
	hash string // appliedHash of the record
	now  time.Time
	pg   *page
}

// applyGroups applies the records in groups that share no key
// (groupRecords), pageConcurrency groups at a time, each group in page
// order. A record DynamoDB refuses for good is Invalid; another error stops
// its group and is returned (the first one) with what was applied.
//
// The groups are taken in turn by pageConcurrency workers rather than a
// goroutine each: a record's write runs the AWS SDK's deep middleware
// stack, which grew every new goroutine's stack (copied twice or more),
// 6.7 % of an install's CPU profile, now 1.4 % (issue 21); a worker
// grows its stack once per page.
func (s *Store) applyGroups(ctx context.Context, t Target, recs []source.Record, ids []merge.Identity, pg *page, now time.Time) ([]Applied, error) {
	out := make([]Applied, len(recs))
	var (
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
		next     atomic.Int64
	)
	groups := groupRecords(t.Conn.ID, recs, ids, pg.ld)
	apply := func(g []int, mg *merge.Merger) {
		for _, i := range g {
			r := &applying{t: t, rec: recs[i], id: ids[i], now: now, pg: pg,
				lk: merge.LinkKey{ConnectionID: t.Conn.ID, ExternalID: recs[i].ExternalID}, hash: appliedHash(recs[i], t.Conn, t.WriteBack)}
			a, err := s.applyOne(ctx, r, mg)
			if rejected(err) {
				// This record's write can never succeed: it is the
				// record's problem, not the page's.
				out[i] = Applied{Decision: merge.Decision{Outcome: merge.Invalid, Reason: ReasonWriteRejected, At: now}}
				continue
			}
			if err != nil {
				errOnce.Do(func() { firstErr = fmt.Errorf("record %s: %w", recs[i].ExternalID, err) })
				return
			}
			a.Decision.Mutations = nil // written; the next merge reuses them
			out[i] = a
		}
	}
	for range min(pageConcurrency, len(groups)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mg merge.Merger // this worker's: its decisions reuse one buffer
			for {
				k := int(next.Add(1)) - 1
				if k >= len(groups) {
					return
				}
				apply(groups[k], &mg)
			}
		}()
	}
	wg.Wait()
	for i := range out {
		out[i].Identity = ids[i]
	}
	return out, firstErr
}

// flushSideWrites writes the side writes of every decision that
// committed, batched: links last.
func (s *Store) flushSideWrites(ctx context.Context, t Target, side *pendingWrites, now time.Time) error {
	if err := s.batchWrite(ctx, side.first); err != nil {
		return err
	}
	if err := s.writeMembers(ctx, t.TenantID, &side.members); err != nil {
		return err
	}
	for _, u := range side.folds {
		if err := s.writeFold(ctx, u); err != nil {
			return err
		}
	}
	for _, it := range side.firstLinks {
		if err := s.putFirstLink(ctx, t, it.item, it.heldHash, now); err != nil {
			return err
		}
	}
	if err := s.batchWrite(ctx, side.last); err != nil {
		return err
	}
	if t.dry != nil {
		t.dry.mark(side.dryKeys...)
	}
	return nil
}

// pendingWrites collects a page's side writes.
type pendingWrites struct {
	first, last []types.WriteRequest
	members     memberChanges   // memberships, one write per bundle
	folds       []*types.Update // links folded into contacts the decisions did not put (foldUpdate)
	firstLinks  []firstLink     // webhooks: first links, conditioned (putFirstLink)
	dryKeys     []string        // a dry run: the original keys of last's scratch writes
}

// firstLink is the first link item of a source record, and the applied
// hash of the held deltas it replaces ("" when there were none).
type firstLink struct {
	item     linkItem
	heldHash string
}

// groupRecords partitions record indexes into groups that share no key
// (link, phone, email or referenced contact); each group keeps page order.
func groupRecords(conn string, recs []source.Record, ids []merge.Identity, ld *loaded) [][]int {
	parent := make([]int, len(recs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	claim := func(key string, i int) {
		if key[2:] == "" {
			return // no identifier of this kind: nothing shared
		}
		if j, ok := owner[key]; ok {
			parent[find(i)] = find(j)
			return
		}
		owner[key] = i
	}
	for i, r := range recs {
		lk := merge.LinkKey{ConnectionID: conn, ExternalID: r.ExternalID}
		claim("l:"+r.ExternalID, i)
		claim("p:"+ids[i].Phone, i)
		claim("e:"+ids[i].EmailKey, i)
		for _, cid := range []string{ld.state.Links[lk], ld.state.Phones[ids[i].Phone], ld.state.Emails[ids[i].EmailKey]} {
			if cid != "" {
				claim("c:"+cid, i)
				if c, ok := ld.state.Contacts[cid]; ok {
					claim("p:"+c.Phone, i)
					claim("e:"+c.EmailKey, i)
				}
			}
		}
	}
	byRoot := map[int][]int{}
	var roots []int
	for i := range recs {
		r := find(i)
		if _, ok := byRoot[r]; !ok {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], i)
	}
	out := make([][]int, len(roots))
	for i, r := range roots {
		out[i] = byRoot[r]
	}
	return out
}
