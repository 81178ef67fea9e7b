package sms

import "testing"

func TestRender_DefaultsAndOverrides(t *testing.T) {
	got, err := Templates{}.Render(PurposeConfirmation, "Acme", "")
	if err != nil || got != "You are subscribed to receive messages from Acme. Reply STOP to cancel." {
		t.Fatalf("confirmation = %q %v", got, err)
	}
	got, _ = Templates{}.Render(PurposeDoubleOptInRequest, "Acme", "")
	if got != "Reply Y or YES to confirm that you want to receive SMS messages from Acme." {
		t.Fatalf("double opt-in = %q", got)
	}
	got, _ = Templates{Help: "{company} help: {help}"}.Render(PurposeHelp, "Acme", "Call 1300 000 000.")
	if got != "Acme help: Call 1300 000 000." {
		t.Fatalf("help = %q", got)
	}
	for _, p := range []Purpose{PurposeConfirmation, PurposeDoubleOptInRequest, PurposeOptOutConfirmation, PurposeHelp} {
		if s, _ := (Templates{}).Render(p, "A Reasonably Long Company Name Pty Ltd", ""); len(s) > 160 {
			t.Errorf("%s default is %d characters: over one GSM segment", p, len(s))
		}
	}
	if _, err := (Templates{}).Render("marketing", "Acme", ""); err == nil {
		t.Error("unknown purpose rendered")
	}
}
