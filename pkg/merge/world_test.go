package merge

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// at returns the base time plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

var (
	shopify = Connection{ID: "shop-1", Label: "Shopify", Mode: consent.Explicit, DefaultRegion: "AU"}
	woo     = Connection{ID: "woo-1", Label: "WooCommerce", Mode: consent.Inferred, DefaultRegion: "AU"}
)

// world is an in-memory tenant: a State plus the decisions applied to it.
type world struct {
	t     testing.TB
	s     State
	next  int
	decs  []Decision
	clock int
	mg    Merger // reused for every merge, checked against Merge
}

func newWorld(t testing.TB) *world { return &world{t: t} }

// ident is a record identity for tests that already hold normalised values.
func ident(phone, email string) Identity {
	return Identity{Phone: phone, Email: email, EmailKey: strings.ToLower(strings.TrimSpace(email))}
}

// merge merges rec (with the given identity) through conn at the next
// clock tick and applies the decision.
func (w *world) merge(conn Connection, rec source.Record, id Identity) Decision {
	w.t.Helper()
	w.clock++
	w.next++
	if rec.ConnectionID == "" {
		rec.ConnectionID = conn.ID
	}
	MapFields(&rec, conn) // as the store does before merging
	in := Input{Record: rec, Identity: id, Connection: conn, Now: at(1000 + w.clock), NewID: fmt.Sprintf("ct-%d", w.next), State: w.s}
	d := Merge(in)
	if reused := w.mg.Merge(in); !reflect.DeepEqual(reused, d) {
		w.t.Fatalf("a reused Merger decided\n%+v\nbut Merge decided\n%+v", reused, d)
	}
	w.s = Apply(w.s, d)
	w.decs = append(w.decs, d)
	return d
}

// contact returns the contact with the phone or email key.
func (w *world) byPhone(phone string) Contact {
	w.t.Helper()
	id, ok := w.s.Phones[phone]
	if !ok {
		w.t.Fatalf("no contact has phone %s", phone)
	}
	return w.s.Contacts[id]
}

func (w *world) byEmail(email string) Contact {
	w.t.Helper()
	id, ok := w.s.Emails[email]
	if !ok {
		w.t.Fatalf("no contact has email %s", email)
	}
	return w.s.Contacts[id]
}

// rec builds a record of conn.
func rec(ext string, updated int, first, last string) source.Record {
	return source.Record{ExternalID: ext, UpdatedAt: at(updated), FirstName: first, LastName: last}
}
