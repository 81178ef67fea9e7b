package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// maxNewContactItemsWCU is what a new contact with phone, email and two
// groups costs in a sync page, in whole items, beside its share of its
// page's memberships: its phone item with the contact it claims for (1),
// its email claim (1) and the contact with its name-index entry (2), its
// link folded into it (contactItem.Link). Its memberships are its share
// of the page's bundles (members.go): one write per group and
// store.BucketSize new contacts. The transaction of the claims cost 10,
// one membership item per group 2 more, a link item of its own 1 more.
const maxNewContactItemsWCU = 4

func TestApply_NewContactCostsAtMost4WCUAndABundleShare(t *testing.T) {
	t.Parallel()
	usage := &store.Usage{}
	st, _, clk := newStore(t, store.WithUsage(usage))
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Explicit)
	recs := benchPage(c, 2*store.BucketSize, t0)
	usage.Reset()
	if _, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r1"}, recs, clk.now()); err != nil {
		t.Fatal(err)
	}
	_, w := usage.Estimated()
	// The group list entries are written once per group and process.
	bundles := 2 * 2.0 / float64(len(recs)) // two groups, two bundles each
	if per := (w - 2) / float64(len(recs)); per > maxNewContactItemsWCU+bundles {
		t.Errorf("a new contact costs %.3f WCU, want at most %.3f", per, maxNewContactItemsWCU+bundles)
	}
	usage.Reset()
	if _, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "r2"}, recs, clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, w := usage.Estimated(); w != 0 {
		t.Errorf("an unchanged page wrote %.2f WCU, want 0", w)
	}
}

// checkClaims fails unless no two contacts share a phone or an email and
// every contact's phone and email claims are its own.
func checkClaims(t *testing.T, st *store.Store, tenant string) []store.ContactView {
	t.Helper()
	ctx := context.Background()
	var all []store.ContactView
	cursor := ""
	for {
		page, next, err := st.ListContacts(ctx, tenant, store.ContactFilter{}, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	phones, emails := map[string]string{}, map[string]string{}
	for _, c := range all {
		if c.Phone != "" {
			if other, dup := phones[c.Phone]; dup {
				t.Errorf("contacts %s and %s share a phone", other, c.ID)
			}
			phones[c.Phone] = c.ID
			p, ok, err := st.GetPhone(ctx, tenant, c.Phone)
			if err != nil || !ok || p.ContactID != c.ID {
				t.Errorf("contact %s: its phone is claimed by %q (%v %v)", c.ID, p.ContactID, ok, err)
			}
		}
		if c.EmailKey != "" {
			if other, dup := emails[c.EmailKey]; dup {
				t.Errorf("contacts %s and %s share %s", other, c.ID, c.EmailKey)
			}
			emails[c.EmailKey] = c.ID
			if owner, err := store.EmailOwner(ctx, st, tenant, c.EmailKey); err != nil || owner != c.ID {
				t.Errorf("contact %s: %s is claimed by %q (%v)", c.ID, c.EmailKey, owner, err)
			}
		}
	}
	return all
}

// A crash after a new contact's first claim put (the phone item): the
// page delivered again completes the contact from what the claim carries,
// counts it created once, and nothing is duplicated.
func TestApply_CrashBetweenClaimPutsIsCompletedByTheNextApply(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Inferred)
	rec := record(c, 7, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	target := store.Target{TenantID: "t1", Conn: c, RunID: "run-1"}
	store.SetAfterClaim(st, func() error { return errors.New("killed") })
	if _, err := st.ApplyRecords(ctx, target, []source.Record{rec}, clk.now()); err == nil {
		t.Fatal("the crash hook did not fire")
	}
	store.SetAfterClaim(st, nil)
	if all, _, _ := st.ListContacts(ctx, "t1", store.ContactFilter{}, 10, ""); len(all) != 0 {
		t.Fatalf("%d contacts after a crash before the contact's put, want 0", len(all))
	}
	out, err := st.ApplyRecords(ctx, target, []source.Record{rec}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Decision.Outcome; got != merge.Created {
		t.Errorf("redelivered record counted %s, want created", got)
	}
	all := checkClaims(t, st, "t1")
	if len(all) != 1 || all[0].EmailKey == "" || all[0].Phone == "" {
		t.Fatalf("contacts %+v, want one with its phone and email", all)
	}
	members, _, err := st.ListContacts(ctx, "t1", store.ContactFilter{Group: "Shopify - tag-c1"}, 10, "")
	if err != nil || len(members) != 1 {
		t.Fatalf("%d in the group (%v), want 1", len(members), err)
	}
	out, err = st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c, RunID: "run-2"}, []source.Record{rec}, clk.now())
	if err != nil || out[0].Decision.Outcome != merge.Unchanged {
		t.Fatalf("next run: %v %v", out[0].Decision.Outcome, err)
	}
}

// A crash after the first claim put, and another source's record with the
// same email applied before the page is delivered again: that record
// completes the contact and joins it.
func TestApply_ClaimLeftByACrashIsCompletedByAnotherWriter(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c1, c2 := conn("c1", "Shopify", consent.Inferred), conn("c2", "WooCommerce", consent.Inferred)
	rec := record(c1, 9, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	store.SetAfterClaim(st, func() error { return errors.New("killed") })
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c1}, rec, clk.now()); err == nil {
		t.Fatal("the crash hook did not fire")
	}
	store.SetAfterClaim(st, nil)
	other := record(c2, 9, t0, "Ann", source.ConsentSignal{State: source.SignalNeverAsked})
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c2}, other, clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c1}, rec, clk.now()); err != nil {
		t.Fatal(err)
	}
	all := checkClaims(t, st, "t1")
	if len(all) != 1 || len(all[0].Sources) != 2 {
		t.Fatalf("contacts %+v, want one with both sources", all)
	}
}

// raceNew applies a and b at once, both having read the state before
// either writes (a gate on the first attempt of each), n times over.
func raceNew(t *testing.T, st *store.Store, pairs [][2]source.Record, c merge.Connection) {
	t.Helper()
	ctx := context.Background()
	for _, p := range pairs {
		var arrived atomic.Int32
		both := make(chan struct{})
		store.SetBeforeWrite(st, func() {
			if n := arrived.Add(1); n == 2 {
				close(both)
			} else if n < 2 {
				<-both
			}
		})
		var wg sync.WaitGroup
		for _, r := range p {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c}, r, t0); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	store.SetBeforeWrite(st, nil)
}

func TestApply_RaceSamePhoneDifferentEmails(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	c := conn("c1", "Shopify", consent.Inferred)
	var pairs [][2]source.Record
	for i := range 6 {
		a, b := record(c, i, t0, "Ann", source.ConsentSignal{}), record(c, i, t0, "Bo", source.ConsentSignal{})
		a.ExternalID, b.ExternalID = fmt.Sprint("a", i), fmt.Sprint("b", i)
		a.Emails, b.Emails = []string{fmt.Sprintf("a%d@example.com", i)}, []string{fmt.Sprintf("b%d@example.com", i)}
		pairs = append(pairs, [2]source.Record{a, b})
	}
	raceNew(t, st, pairs, c)
	all := checkClaims(t, st, "t1")
	// As a transaction gave: the loser's record joins the winner's contact.
	if len(all) != len(pairs) {
		t.Errorf("%d contacts, want %d", len(all), len(pairs))
	}
	byPhone := map[string]int{}
	for _, v := range all {
		byPhone[v.Phone]++
	}
	if len(byPhone) != len(pairs) {
		t.Errorf("%d phones among the contacts, want %d", len(byPhone), len(pairs))
	}
}

func TestApply_RaceSameEmailDifferentPhones(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	c := conn("c1", "Shopify", consent.Inferred)
	var pairs [][2]source.Record
	for i := range 6 {
		a, b := record(c, 2*i, t0, "Ann", source.ConsentSignal{}), record(c, 2*i+1, t0, "Bo", source.ConsentSignal{})
		b.Emails = a.Emails
		pairs = append(pairs, [2]source.Record{a, b})
	}
	raceNew(t, st, pairs, c)
	all := checkClaims(t, st, "t1")
	// As a transaction gave: one contact a phone, the email on one of each
	// pair's two.
	if len(all) != 2*len(pairs) {
		t.Errorf("%d contacts, want %d", len(all), 2*len(pairs))
	}
	emails := map[string]bool{}
	for _, v := range all {
		if v.EmailKey != "" {
			emails[v.EmailKey] = true
		}
	}
	if len(emails) != len(pairs) {
		t.Errorf("%d emails among the contacts, want %d", len(emails), len(pairs))
	}
}

// A STOP for a number whose new contact is not written yet (its creator
// paused after the phone item), then another source's record with the
// number and another email: the ledger update keeps the contact the claim carries, so that
// record completes it and joins it instead of taking the number, and the
// creator, resumed, converges on it. The contact shows the opt-out.
func TestApply_StopBetweenClaimPutsKeepsTheClaimsContact(t *testing.T) {
	t.Parallel()
	st, _, clk := newStore(t)
	ctx := context.Background()
	c1, c2 := conn("c1", "Shopify", consent.Inferred), conn("c2", "WooCommerce", consent.Inferred)
	rec := record(c1, 11, t0, "Ann", source.ConsentSignal{State: source.SignalSubscribed, At: t0})
	paused, resume := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	store.SetAfterClaim(st, func() error {
		if first.CompareAndSwap(false, true) { // the creator's phone put
			close(paused)
			<-resume
		}
		return nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := st.ApplyRecords(ctx, store.Target{TenantID: "t1", Conn: c1, RunID: "run-1"}, []source.Record{rec}, clk.now())
		done <- err
	}()
	<-paused
	const number = "+61412000011"
	if _, err := st.UpdateLedger(ctx, "t1", number, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		if r.ContactID == "" {
			t.Errorf("the number's claim is %+v, want the paused writer's", r)
		}
		l, ch := r.Ledger.Apply(consent.OptOutEvent(t0.Add(time.Minute), consent.Evidence{Text: "STOP", MessageID: "SM1", Provider: "twilio"}))
		l.Phone = number
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	other := record(c2, 11, t0, "Ann", source.ConsentSignal{})
	other.Emails = []string{"ann.other@example.com"} // the number, not the email
	if _, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c2}, other, clk.now()); err != nil {
		t.Fatal(err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := checkClaims(t, st, "t1")
	if len(all) != 1 || all[0].Status != string(consent.Unsubscribed) || len(all[0].Sources) != 2 {
		t.Fatalf("contacts %+v, want one, unsubscribed, with both sources", all)
	}
}
