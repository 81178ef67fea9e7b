package hubapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestUsage_CapSetMidMonthCountsEarlierSends: two 2-credit confirmations
// go out without a cap (counted on the usage shards, not in the cap's
// committed credits); a cap of 5 set afterwards counts them, so a third is
// held (4 + 2 > 5) and GET /v1/usage sums the shards; a cap of 6 sends it.
func TestUsage_CapSetMidMonthCountsEarlierSends(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t, map[string]string{"confirmation": strings.Repeat("x", 151) + " {company} STOP"}) // 2 credits
	conn := store.NewConnectionID(f.tenant)
	f.consume(f.due(conn, consent.PurposeConfirmation, "+61412000051"), f.due(conn, consent.PurposeConfirmation, "+61412000052"))
	if u := f.usage(nil); u.Credits != 4 || u.Messages != 2 || f.tw.Posts() != 2 {
		t.Fatalf("usage = %+v, %d sends; want 2 sent, 4 credits", u, f.tw.Posts())
	}
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":5}`, nil); code != http.StatusOK {
		t.Fatalf("put cap: %d %v", code, out)
	}
	const third = "+61412000053"
	f.consume(f.due(conn, consent.PurposeConfirmation, third))
	if u := f.usage(nil); len(f.tw.SentTo(third)) != 0 || u.HeldByCap != 1 || u.Credits != 4 {
		t.Fatalf("usage = %+v, third sent %d; want it held (4 credits sent before the cap of 5)", u, len(f.tw.SentTo(third)))
	}
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":6}`, nil); code != http.StatusOK || out["released"] != float64(1) {
		t.Fatalf("raise to 6: %d %v", code, out)
	}
	f.consume(f.queued(1)...)
	if u := f.usage(nil); len(f.tw.SentTo(third)) != 1 || u.HeldByCap != 0 || u.Credits != 6 || u.Messages != 3 {
		t.Fatalf("usage = %+v, third sent %d; want it sent once, 6 credits", u, len(f.tw.SentTo(third)))
	}
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":6}`, nil); code != http.StatusOK {
		t.Fatalf("put cap again: %d %v", code, out)
	}
	f.consume(f.due(conn, consent.PurposeConfirmation, "+61412000054"))
	if u := f.usage(nil); u.HeldByCap != 1 || u.Credits != 6 {
		t.Fatalf("usage = %+v, want the fourth held at the cap", u)
	}
}
