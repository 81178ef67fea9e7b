package consent

import (
	"testing"
	"unicode/utf8"
)

// FuzzClassify: Classify never panics, always returns one of the four
// kinds, and is deterministic.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"STOP", " stop. ", "ＳＴＯＰ", "ЅТОР", "Stop please", "YES!", "y", "HELP", "opt-out",
		"please don't stop texting me", "no more texts", "", "\x00\xff", "S\u200bTOP",
		"st\u0336op", "🛑", "don’t", "a b c d e f g", "cancel my order",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := Classify(text)
		switch got {
		case OptOut, OptIn, Help, Other:
		default:
			t.Fatalf("Classify(%q) = %q: not a kind", text, got)
		}
		if again := Classify(text); again != got {
			t.Fatalf("Classify(%q) not deterministic: %q then %q", text, got, again)
		}
		if utf8.ValidString(text) && got == Other {
			// Surrounding punctuation never turns a plain reply into a keyword
			// or back: the same text wrapped stays Other.
			if wrapped := Classify("\"" + text + "\""); wrapped != Other {
				t.Fatalf("Classify(%q) = Other but quoted = %q", text, wrapped)
			}
		}
	})
}
