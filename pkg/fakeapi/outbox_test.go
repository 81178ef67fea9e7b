package fakeapi_test

import (
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/fakeapi"
)

// A failed delivery waits for Retry; the Max-th failure in a row of one
// webhook gives it up with its waiting deliveries; a success resets its
// count; a delivery to a webhook that is gone is dropped.
func TestOutbox_RetriesGiveUpAndReset(t *testing.T) {
	t.Parallel()
	type d struct{ hook, n string }
	answers := map[string]bool{} // hook -> answered 2xx
	gone := map[string]bool{}
	var givenUp []string
	o := &fakeapi.Outbox[d]{Max: 3, Hook: func(x d) string { return x.hook },
		Post:   func(x d) (bool, bool) { return !gone[x.hook], answers[x.hook] },
		GiveUp: func(x d) { givenUp, gone[x.hook] = append(givenUp, x.hook), true }}

	answers["ok"] = true
	if n := o.Send([]d{{"ok", "1"}, {"bad", "1"}, {"bad", "2"}}); n != 1 || o.Pending() != 2 {
		t.Fatalf("send: %d answered, %d pending", n, o.Pending())
	}
	if n := o.Retry(); n != 0 || len(givenUp) != 1 || givenUp[0] != "bad" || o.Pending() != 0 {
		t.Fatalf("third and fourth failures: %d answered, given up %v, %d pending", n, givenUp, o.Pending())
	}

	givenUp = nil
	o.Send([]d{{"flaky", "1"}, {"flaky", "2"}}) // 2 failures
	answers["flaky"] = true
	o.Send([]d{{"flaky", "3"}}) // resets
	answers["flaky"] = false
	o.Send([]d{{"flaky", "4"}}) // 1 failure
	if len(givenUp) != 0 || o.Pending() != 3 {
		t.Fatalf("after a success: given up %v, %d pending", givenUp, o.Pending())
	}
	o.Reset("flaky")
	o.Send([]d{{"flaky", "5"}, {"flaky", "6"}}) // 2 failures since the reset
	if len(givenUp) != 0 {
		t.Fatalf("after Reset: given up %v", givenUp)
	}
	o.Forget("flaky")
	if o.Pending() != 0 {
		t.Fatalf("Forget left %d pending", o.Pending())
	}

	gone["lost"] = true
	if n := o.Send([]d{{"lost", "1"}}); n != 0 || o.Pending() != 0 || slices.Contains(givenUp, "lost") {
		t.Fatalf("a delivery to a webhook that is gone: %d answered, %d pending, given up %v", n, o.Pending(), givenUp)
	}
}
