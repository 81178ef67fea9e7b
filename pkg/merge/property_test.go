package merge

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
	"pgregory.net/rapid"
)

// One connection per consent mode, two sharing a label.
var propConnections = []Connection{
	{ID: "c-explicit", Label: "Shopify", Mode: consent.Explicit},
	{ID: "c-inferred", Label: "WooCommerce", Mode: consent.Inferred},
	{ID: "c-confirm", Label: "Klaviyo", Mode: consent.Confirmation},
	{ID: "c-doi", Label: "Shopify", Mode: consent.DoubleOptIn},
}

var (
	propPhones  = []string{"+61400000001", "+61400000002", "+61400000003"}
	propEmails  = []string{"a@example.com", "b@example.com", "c@example.com"}
	propNames   = []string{"", "Ann", "Bea", "Cy"}
	propGroups  = []string{"VIP", "Gold", "News", "Guests"}
	propSignals = []source.SignalState{source.SignalNone, source.SignalNeverAsked, source.SignalSubscribed, source.SignalUnsubscribed}
)

// step is one event of a random stream.
type step struct {
	conn  Connection
	rec   source.Record
	id    Identity
	hub   consent.Event // hub STOP/START/YES when Kind != ""
	phone string        // the hub event's number
}

// person is a fixed identity (for the order-independence property).
type person struct{ phone, email string }

// genStream draws a stream of records and hub events with distinct
// timestamps. With people set, every record of person i carries that
// person's identity and non-empty names (consistent sources); otherwise
// identities are random (conflicts included), with deletes and deltas.
func genStream(t *rapid.T, people []person) []step {
	n := rapid.IntRange(1, 30).Draw(t, "n")
	times := rapid.Permutation(seq(1, 2*n+1)).Draw(t, "times")
	steps := make([]step, 0, n)
	for i := range n {
		t1, t2 := at(times[2*i]), at(times[2*i+1])
		if rapid.IntRange(0, 4).Draw(t, "hub?") == 0 {
			phone := rapid.SampledFrom(propPhones).Draw(t, "hub phone")
			if people != nil {
				phone = rapid.SampledFrom(people).Draw(t, "hub person").phone
			}
			var ev consent.Event
			switch rapid.IntRange(0, 2).Draw(t, "hub kind") {
			case 0:
				ev = consent.OptOutEvent(t1, consent.Evidence{Text: "STOP"})
			case 1:
				ev = consent.OptInEvent(t1, consent.Evidence{Text: "START"})
			default:
				ev = consent.YesEvent(t1, consent.Evidence{Text: "YES"})
			}
			steps = append(steps, step{hub: ev, phone: phone})
			continue
		}
		conn := rapid.SampledFrom(propConnections).Draw(t, "conn")
		r := source.Record{ConnectionID: conn.ID, UpdatedAt: t1}
		var id Identity
		if people != nil {
			pi := rapid.IntRange(0, len(people)-1).Draw(t, "person")
			p := people[pi]
			r.ExternalID = fmt.Sprintf("p%d", pi)
			id = ident(p.phone, p.email)
			r.FirstName = rapid.SampledFrom(propNames[1:]).Draw(t, "first")
			r.LastName = rapid.SampledFrom(propNames[1:]).Draw(t, "last")
			r.Fields = map[string]string{"tier": rapid.SampledFrom(propNames[1:]).Draw(t, "tier")}
		} else {
			r.ExternalID = rapid.SampledFrom([]string{"1", "2", "3", "4"}).Draw(t, "ext")
			id = ident(rapid.SampledFrom(append([]string{""}, propPhones...)).Draw(t, "phone"),
				rapid.SampledFrom(append([]string{""}, propEmails...)).Draw(t, "email"))
			r.FirstName = rapid.SampledFrom(propNames).Draw(t, "first")
			r.LastName = rapid.SampledFrom(propNames).Draw(t, "last")
			if v := rapid.SampledFrom(propNames).Draw(t, "tier"); v != "" || rapid.Bool().Draw(t, "empty field") {
				r.Fields = map[string]string{"tier": v}
			}
			if rapid.IntRange(0, 6).Draw(t, "delete?") == 0 {
				r = source.Record{ConnectionID: conn.ID, ExternalID: r.ExternalID, Deleted: true}
				id = Identity{}
			}
		}
		if !r.Deleted {
			if people == nil && rapid.Bool().Draw(t, "delta?") {
				r.AddGroups = rapid.SliceOfDistinct(rapid.SampledFrom(propGroups), rapid.ID[string]).Draw(t, "add")
				r.RemoveGroups = rapid.SliceOfDistinct(rapid.SampledFrom(propGroups), rapid.ID[string]).Draw(t, "remove")
			} else if people == nil && rapid.IntRange(0, 3).Draw(t, "partial?") == 0 {
				r.Partial = true // a consent topic, a profile webhook: no groups
			} else {
				r.HasGroups = true
				r.Groups = rapid.SliceOfDistinct(rapid.SampledFrom(propGroups), rapid.ID[string]).Draw(t, "groups")
				r.Guest = rapid.IntRange(0, 3).Draw(t, "guest") == 0
			}
			r.Consent.State = rapid.SampledFrom(propSignals).Draw(t, "signal")
			if r.Consent.State != source.SignalNone && (people != nil || rapid.Bool().Draw(t, "consent timestamp")) {
				r.Consent.At = t2
			}
		}
		steps = append(steps, step{conn: conn, rec: r, id: id})
	}
	return steps
}

func seq(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// withReplays repeats earlier steps (webhook retries, page redeliveries).
func withReplays(t *rapid.T, steps []step) []step {
	out := make([]step, 0, 2*len(steps))
	for i, s := range steps {
		out = append(out, s)
		if rapid.IntRange(0, 3).Draw(t, "replay?") == 0 {
			out = append(out, steps[rapid.IntRange(0, i).Draw(t, "replayed")])
		}
	}
	return out
}

// play runs steps against an in-memory tenant; check is called after each
// step with the state before and after and the decision (zero for hub
// events).
func play(steps []step, check func(before, after State, st step, d Decision)) State {
	var s State
	var mg Merger // reused for every step, checked against Merge
	for i, st := range steps {
		before := s
		var d Decision
		if st.hub.Kind != "" {
			l, ch := s.Ledger(st.phone).Apply(st.hub)
			if !ch.IsZero() {
				s = Apply(s, Decision{Mutations: []Mutation{{Kind: MutConsent, Consent: &ConsentUpdate{Phone: st.phone, Event: st.hub, Change: ch, Ledger: l}}}})
			}
		} else {
			in := Input{Record: st.rec, Identity: st.id, Connection: st.conn, Now: at(10_000 + i), NewID: fmt.Sprintf("ct-%d", i), State: s}
			d = Merge(in)
			if reused := mg.Merge(in); !reflect.DeepEqual(reused, d) {
				panic(fmt.Sprintf("step %d: a reused Merger decided\n%+v\nbut Merge decided\n%+v", i, reused, d))
			}
			s = Apply(s, d)
		}
		if check != nil {
			check(before, s, st, d)
		}
	}
	return s
}

// TestMergeProperty_StopWinsExactly is property (a) through merge: after a
// hub STOP at T no record re-subscribes the number unless a hub opt-in/YES
// after T or a record with an explicit opt-in timestamped after T exists.
func TestMergeProperty_StopWinsExactly(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		steps := withReplays(t, genStream(t, nil))
		// The number each record's consent speaks for: its phone, or, for
		// a partial record without one, its linked contact's (merge.go).
		speaksFor := make([]string, 0, len(steps))
		s := play(steps, func(before, _ State, st step, _ Decision) {
			phone := st.id.Phone
			if id, linked := before.Links[LinkKey{ConnectionID: st.conn.ID, ExternalID: st.rec.ExternalID}]; phone == "" && linked && st.rec.IsPartial() {
				phone = before.Contacts[id].Phone
			}
			speaksFor = append(speaksFor, phone)
		})
		for _, phone := range propPhones {
			var stopAt time.Time
			for _, st := range steps {
				if st.hub.Kind == consent.EventHubOptOut && st.phone == phone && st.hub.At.After(stopAt) {
					stopAt = st.hub.At
				}
			}
			if stopAt.IsZero() || s.Ledger(phone).State() == consent.Unsubscribed {
				continue
			}
			liftedBy := false
			for i, st := range steps {
				switch {
				case st.hub.Kind != "" && st.hub.Kind != consent.EventHubOptOut && st.phone == phone && st.hub.At.After(stopAt):
					liftedBy = true
				case st.hub.Kind == "" && speaksFor[i] == phone && st.rec.Consent.State == source.SignalSubscribed && st.rec.Consent.At.After(stopAt):
					liftedBy = true
				}
			}
			if !liftedBy {
				t.Fatalf("%s: STOP at %v lifted without cause: %q", phone, stopAt, s.Ledger(phone).State())
			}
		}
	})
}

// TestMergeProperty_ApplyingTwiceChangesNothing is property (b): merging a
// record again right after changes nothing, and every decision applied
// twice equals applied once.
func TestMergeProperty_ApplyingTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		steps := withReplays(t, genStream(t, nil))
		play(steps, func(before, after State, st step, d Decision) {
			if st.hub.Kind != "" {
				return
			}
			if twice := Apply(after, d); !reflect.DeepEqual(twice, after) {
				t.Fatalf("Apply twice != once for %+v", d)
			}
			again := Merge(Input{Record: st.rec, Identity: st.id, Connection: st.conn, Now: at(99_999), NewID: "again", State: after})
			if len(again.Mutations) != 0 {
				t.Fatalf("second merge of %+v changed something: %+v (first %+v)", st.rec, again, d)
			}
		})
	})
}

// TestMergeProperty_PartialRecordsArePartial: a partial record (a group
// delta, or one marked Partial) never deletes a contact or removes a link,
// and once its source record is linked it lands on that contact.
func TestMergeProperty_PartialRecordsArePartial(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		steps := withReplays(t, genStream(t, nil))
		play(steps, func(before, after State, st step, d Decision) {
			if st.hub.Kind != "" || !st.rec.IsPartial() {
				return
			}
			for _, m := range d.Mutations {
				if m.Kind == MutDeleteContact || m.Kind == MutRemoveLink || m.Kind == MutReleasePhone || m.Kind == MutReleaseEmail {
					t.Fatalf("partial record %+v: %v in %+v", st.rec, m.Kind, d)
				}
			}
			k := LinkKey{ConnectionID: st.conn.ID, ExternalID: st.rec.ExternalID}
			if cid, ok := before.Links[k]; ok && d.ContactID != cid {
				t.Fatalf("partial record %+v linked to %s landed on %q", st.rec, cid, d.ContactID)
			}
		})
	})
}

// TestMergeProperty_OrderIndependent is property (c): with consistent
// sources and distinct timestamps, the final contacts (fields, groups,
// sources, status) do not depend on arrival order.
func TestMergeProperty_OrderIndependent(t *testing.T) {
	t.Parallel()
	people := []person{{propPhones[0], propEmails[0]}, {propPhones[1], ""}, {propPhones[2], propEmails[2]}}
	rapid.Check(t, func(t *rapid.T) {
		steps := genStream(t, people)
		shuffled := rapid.Permutation(steps).Draw(t, "arrival order")
		a, b := play(steps, nil), play(shuffled, nil)
		if got, want := summary(b), summary(a); !reflect.DeepEqual(got, want) {
			t.Fatalf("order changes the result:\n%v\n%v", want, got)
		}
	})
}

// summary is the order-independent view of a state: per phone, the
// contact's values without ids and hub times, and the status.
func summary(s State) map[string]string {
	out := map[string]string{}
	for _, phone := range propPhones {
		c, ok := s.Contacts[s.Phones[phone]]
		status := s.Ledger(phone).State()
		if !ok {
			out[phone] = fmt.Sprintf("no contact, %s", status)
			continue
		}
		var links []string
		for _, l := range c.Sources {
			links = append(links, fmt.Sprintf("%s/%s@%s%v%v", l.ConnectionID, l.ExternalID, l.UpdatedAt.Format(time.TimeOnly), l.Groups, l.Guest))
		}
		// Field times are left out: an equal value arriving later keeps the
		// first time (no write), so only values are order-independent.
		out[phone] = fmt.Sprintf("%s %s %s %s %v %v %s", c.FirstName.Value, c.LastName.Value, c.EmailKey, c.Custom["tier"].Value, c.Groups, links, status)
	}
	return out
}

// TestMergeProperty_NeverTwoContactsWithSamePhoneOrEmail is property (d),
// with the claim maps, links and derived groups kept consistent.
func TestMergeProperty_NeverTwoContactsWithSamePhoneOrEmail(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		play(withReplays(t, genStream(t, nil)), func(_, s State, _ step, _ Decision) {
			phones, emails := map[string]string{}, map[string]string{}
			for id, c := range s.Contacts {
				if c.Phone != "" {
					if other, dup := phones[c.Phone]; dup {
						t.Fatalf("contacts %s and %s share phone %s", id, other, c.Phone)
					}
					phones[c.Phone] = id
				}
				if c.EmailKey != "" {
					if other, dup := emails[c.EmailKey]; dup {
						t.Fatalf("contacts %s and %s share email %s", id, other, c.EmailKey)
					}
					emails[c.EmailKey] = id
				}
				if !slices.Equal(c.Groups, derivedGroups(c.Sources)) {
					t.Fatalf("contact %s groups %v, derived %v", id, c.Groups, derivedGroups(c.Sources))
				}
				for _, l := range c.Sources {
					if s.Links[l.Key()] != id {
						t.Fatalf("link %v of %s points to %q", l.Key(), id, s.Links[l.Key()])
					}
				}
			}
			if !reflect.DeepEqual(phones, nonNil(s.Phones)) || !reflect.DeepEqual(emails, nonNil(s.Emails)) {
				t.Fatalf("claims %v %v disagree with contacts %v %v", s.Phones, s.Emails, phones, emails)
			}
			for k, id := range s.Links {
				if _, ok := s.Contacts[id].Link(k); !ok {
					t.Fatalf("link %v points to %s which lacks it", k, id)
				}
			}
		})
	})
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// TestMergeProperty_EmptyIncomingNeverErases is property (e).
func TestMergeProperty_EmptyIncomingNeverErases(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		play(withReplays(t, genStream(t, nil)), func(before, after State, st step, _ Decision) {
			if st.rec.Deleted {
				return
			}
			for id, b := range before.Contacts {
				a, ok := after.Contacts[id]
				if !ok {
					continue // a contact may go when its last source moved away
				}
				for name, pair := range map[string][2]string{
					"first": {b.FirstName.Value, a.FirstName.Value},
					"last":  {b.LastName.Value, a.LastName.Value},
					"email": {b.Email.Value, a.Email.Value},
					"phone": {b.Phone, a.Phone},
					"tier":  {b.Custom["tier"].Value, a.Custom["tier"].Value},
				} {
					if pair[0] != "" && pair[1] == "" {
						t.Fatalf("contact %s lost its %s %q after %+v", id, name, pair[0], st.rec)
					}
				}
			}
		})
	})
}

// TestMergeProperty_AtMostOneMessagePerNumberPerConnection is property (f).
func TestMergeProperty_AtMostOneMessagePerNumberPerConnection(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		seen := map[consent.Message]bool{}
		play(withReplays(t, genStream(t, nil)), func(_, after State, _ step, d Decision) {
			for _, m := range d.Mutations {
				if m.Kind != MutQueueMessage {
					continue
				}
				key := consent.Message{Phone: m.Message.Phone, ConnectionID: m.Message.ConnectionID, Purpose: m.Message.Purpose}
				if seen[key] {
					t.Fatalf("message %+v queued twice", *m.Message)
				}
				seen[key] = true
				if after.Ledger(m.Message.Phone).State() == consent.Unsubscribed {
					t.Fatalf("message %+v queued to an unsubscribed number", *m.Message)
				}
			}
		})
	})
}
