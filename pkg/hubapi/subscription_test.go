package hubapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// subscriptionFixture is a tenant with one contact (phone +61412345678 or
// the one given), created through the real merge path in inferred mode, so
// it starts subscribed.
//
// The API's clock is the fixture's: each call of tick moves it a minute on,
// so the order of the hub's and the person's statements is the test's.
type subscriptionFixture struct {
	*api
	key, tenant, contact, phone string
	now                         time.Time
}

var subscriptionT0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func newSubscriptionFixture(t *testing.T, sig source.ConsentSignal) *subscriptionFixture {
	t.Helper()
	a := newAPI(t)
	f := &subscriptionFixture{api: a, phone: "+61412345678", now: subscriptionT0}
	a.h = hubapi.New(hubapi.Deps{Store: a.st, AdminToken: admin, Now: func() time.Time { return f.now }})
	f.key = a.tenant()
	f.tenant = strings.SplitN(f.key, ".", 2)[0]
	conn := merge.Connection{ID: "conn-1", Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}
	applied, err := a.st.ApplyRecord(context.Background(), store.Target{TenantID: f.tenant, Conn: conn},
		source.Record{Platform: source.Shopify, Label: "Shopify", ConnectionID: conn.ID, ExternalID: "1", UpdatedAt: f.tick(),
			FirstName: "Ann", Emails: []string{"ann@example.com"}, Phones: []source.PhoneField{{Raw: "0412 345 678"}}, Consent: sig},
		f.tick())
	if err != nil {
		t.Fatal(err)
	}
	f.contact = applied.Decision.ContactID
	return f
}

// tick moves the clock a minute on and returns it.
func (f *subscriptionFixture) tick() time.Time {
	f.now = f.now.Add(time.Minute)
	return f.now
}

// reply applies a reply of the person to the number's ledger, as the
// inbound handler does (consent.OptOutEvent for STOP, OptInEvent for START).
func (f *subscriptionFixture) reply(ev consent.Event) {
	f.t.Helper()
	if _, err := f.st.UpdateLedger(context.Background(), f.tenant, f.phone, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
		l, ch := r.Ledger.Apply(ev)
		return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
	}); err != nil {
		f.t.Fatal(err)
	}
}

// put sets the subscription through the API and returns the status code and
// the contact's status (or the error code).
func (f *subscriptionFixture) put(status string) (int, string) {
	f.t.Helper()
	f.tick()
	code, out := f.do("PUT", "/v1/contacts/"+f.contact+"/subscription", f.key, fmt.Sprintf(`{"status":%q}`, status), nil)
	if code == http.StatusOK {
		return code, out["status"].(string)
	}
	e, _ := out["error"].(map[string]any)
	if e == nil || e["code"] == nil || e["message"] == "" {
		f.t.Fatalf("PUT %s: %d with body %v, want the {error:{code,message}} shape", status, code, out)
	}
	return code, e["code"].(string)
}

func (f *subscriptionFixture) status() string {
	f.t.Helper()
	code, out := f.do("GET", "/v1/contacts/"+f.contact, f.key, "", nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET contact: %d %v", code, out)
	}
	return out["status"].(string)
}

// TestAPI_HubCannotLiftTheConsumersStop: a hub user's re-subscribe of a
// number whose opt-out came from the person (a STOP reply, a source
// unsubscribe) answers 409 consent_required and changes nothing; only the
// person's START lifts it. Hub unsubscribes always work, and a hub user may
// undo their own unsubscribe.
func TestAPI_HubCannotLiftTheConsumersStop(t *testing.T) {
	t.Parallel()

	t.Run("StopReply", func(t *testing.T) {
		t.Parallel()
		f := newSubscriptionFixture(t, source.ConsentSignal{State: source.SignalNeverAsked})
		f.reply(consent.OptOutEvent(f.tick(), consent.Evidence{Text: "STOP", MessageID: "SM1", Provider: "twilio"}))
		if code, got := f.put("subscribed"); code != http.StatusConflict || got != "consent_required" {
			t.Fatalf("re-subscribe after STOP = %d %q, want 409 consent_required", code, got)
		}
		if got := f.status(); got != "unsubscribed" {
			t.Fatalf("status after the refused re-subscribe = %q", got)
		}
		// A hub unsubscribe on top works, and does not open the door.
		if code, got := f.put("unsubscribed"); code != http.StatusOK || got != "unsubscribed" {
			t.Fatalf("hub unsubscribe after STOP = %d %q", code, got)
		}
		if code, got := f.put("subscribed"); code != http.StatusConflict || got != "consent_required" {
			t.Fatalf("re-subscribe after STOP and a hub unsubscribe = %d %q, want 409", code, got)
		}
		// The person texts START: subscribed again, and from then on the
		// hub may unsubscribe and re-subscribe.
		f.reply(consent.OptInEvent(f.tick(), consent.Evidence{Text: "START", MessageID: "SM2", Provider: "twilio"}))
		if got := f.status(); got != "subscribed" {
			t.Fatalf("status after START = %q", got)
		}
		if code, got := f.put("unsubscribed"); code != http.StatusOK || got != "unsubscribed" {
			t.Fatalf("hub unsubscribe after START = %d %q", code, got)
		}
		if code, got := f.put("subscribed"); code != http.StatusOK || got != "subscribed" {
			t.Fatalf("hub re-subscribe after its own unsubscribe = %d %q", code, got)
		}
	})
	t.Run("SourceUnsubscribe", func(t *testing.T) {
		t.Parallel()
		f := newSubscriptionFixture(t, source.ConsentSignal{State: source.SignalUnsubscribed, At: subscriptionT0})
		if got := f.status(); got != "unsubscribed" {
			t.Fatalf("status after the source unsubscribe = %q", got)
		}
		if code, got := f.put("subscribed"); code != http.StatusConflict || got != "consent_required" {
			t.Fatalf("re-subscribe after a source unsubscribe = %d %q, want 409 consent_required", code, got)
		}
		if got := f.status(); got != "unsubscribed" {
			t.Fatalf("status after the refused re-subscribe = %q", got)
		}
	})
	t.Run("HubUnsubscribeOnly", func(t *testing.T) {
		t.Parallel()
		f := newSubscriptionFixture(t, source.ConsentSignal{State: source.SignalNeverAsked})
		if code, got := f.put("unsubscribed"); code != http.StatusOK || got != "unsubscribed" {
			t.Fatalf("hub unsubscribe = %d %q", code, got)
		}
		if code, got := f.put("subscribed"); code != http.StatusOK || got != "subscribed" {
			t.Fatalf("hub re-subscribe after its own unsubscribe = %d %q, want 200 subscribed", code, got)
		}
	})
}
