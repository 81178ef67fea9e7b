package consent_test

import (
	"fmt"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
)

func ExampleClassify() {
	for _, text := range []string{"STOP", "Stop please", "ＳＴＯＰ", "please stop texting me", "don't stop", "YES!", "info", "see you soon"} {
		fmt.Printf("%q -> %s\n", text, consent.Classify(text))
	}
	// Output:
	// "STOP" -> opt_out
	// "Stop please" -> opt_out
	// "ＳＴＯＰ" -> opt_out
	// "please stop texting me" -> opt_out
	// "don't stop" -> other
	// "YES!" -> opt_in
	// "info" -> help
	// "see you soon" -> other
}

func ExampleLedger_Apply() {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	l := consent.Ledger{Phone: "+61412345678"}

	// A Shopify connection in confirmation mode says "subscribed".
	signal := source.ConsentSignal{State: source.SignalSubscribed, At: t0}
	l, ch := l.Apply(consent.SignalEvent("shop-1", consent.Confirmation, signal, t0.Add(time.Minute), consent.Evidence{Provider: "Shopify"}))
	fmt.Println(ch.From, "->", ch.To, ch.MessagesDue[0].Purpose)

	// The person texts STOP.
	l, ch = l.Apply(consent.OptOutEvent(t0.Add(time.Hour), consent.Evidence{Text: "STOP", MessageID: "SM1", Provider: "twilio"}))
	fmt.Println(ch.From, "->", ch.To, ch.MessagesDue[0].Purpose)

	// A daily re-sync repeats the old opt-in: STOP wins.
	l, ch = l.Apply(consent.SignalEvent("shop-1", consent.Confirmation, signal, t0.Add(24*time.Hour), consent.Evidence{Provider: "Shopify"}))
	fmt.Println(l.State(), ch.IsZero())
	// Output:
	// not_subscribed -> subscribed confirmation
	// subscribed -> unsubscribed opt_out_confirmation
	// unsubscribed true
}
