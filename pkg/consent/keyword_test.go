package consent

import (
	"strings"
	"testing"
)

// TestClassify_Keywords checks the keyword lists of design.md §4 and the
// tolerance rules: case, surrounding spaces and punctuation, full-width and
// look-alike letters, trailing courtesy words.
func TestClassify_Keywords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want Keyword
	}{
		// design.md §4 opt-out list.
		{"stop", "STOP", OptOut},
		{"stopall", "STOPALL", OptOut},
		{"unsubscribe", "UNSUBSCRIBE", OptOut},
		{"cancel", "CANCEL", OptOut},
		{"end", "END", OptOut},
		{"quit", "QUIT", OptOut},
		{"optout", "OPTOUT", OptOut},
		{"opt out", "OPT OUT", OptOut},
		{"revoke", "REVOKE", OptOut},
		{"stop all", "STOP ALL", OptOut},
		// Tolerance.
		{"title case", "Stop", OptOut},
		{"surrounding spaces", " STOP ", OptOut},
		{"trailing period", "stop.", OptOut},
		{"full-width", "ＳＴＯＰ", OptOut},
		{"courtesy word", "Stop please", OptOut},
		{"lower opt out", "opt out", OptOut},
		{"hyphenated opt-out", "opt-out", OptOut},
		{"cyrillic look-alikes", "ЅТОР", OptOut},
		{"cyrillic lower look-alikes", "ѕтор", OptOut},
		{"greek look-alikes", "ΤΟΡ", Other}, // no S: not a keyword
		{"greek stop", "SΤΟΡ", OptOut},
		{"zero-width space inside", "S\u200bTOP", OptOut},
		{"tabs and newlines", "\t\nstop\r\n", OptOut},
		{"emoji after", "STOP 🛑", OptOut},
		{"quoted", "\"stop\"", OptOut},
		{"stop now!!!", "STOP NOW!!!", OptOut},
		// design.md §4 opt-in list.
		{"start", "START", OptIn},
		{"unstop", "unstop", OptIn},
		{"yes", "YES", OptIn},
		{"yes bang", "YES!", OptIn},
		{"y", "y", OptIn},
		{"Y", "Y", OptIn},
		{"subscribe", "Subscribe", OptIn},
		{"yes please", "Yes please", OptIn},
		{"full-width yes", "ＹＥＳ", OptIn},
		// Help.
		{"help", "Help", Help},
		{"info", "INFO", Help},
		{"help me", "help me!", Help},
		// Other.
		{"empty", "", Other},
		{"spaces only", "   ", Other},
		{"punctuation only", "?!.", Other},
		{"plain reply", "Thanks, see you Tuesday", Other},
		{"yes with a question", "yes I have a question about my order", Other},
		{"stopping is not stop", "stopping by later", Other},
		{"stopwatch", "stopwatch", Other},
		{"yesterday", "yesterday", Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tt.text); got != tt.want {
				t.Errorf("Classify(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

// TestClassify_RevocationInSentence_HonoursFCCOrder checks our decision for
// opt-out words inside longer messages: err towards honouring revocation
// (FCC 24-24), but not when the word is negated or clearly about something
// else.
func TestClassify_RevocationInSentence_HonoursFCCOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want Keyword
	}{
		{"please stop texting me", OptOut},
		{"Please STOP sending me these messages", OptOut},
		{"unsubscribe me", OptOut},
		{"How do I unsubscribe?", OptOut},
		{"no more texts", OptOut},
		{"No more messages please", OptOut},
		{"I want to opt out", OptOut},
		{"do not text me again", OptOut},
		{"Don't text me", OptOut},
		{"remove me from your list", OptOut},
		{"take me off this list", OptOut},
		{"leave me alone", OptOut},
		{"can you end these messages", OptOut},
		{"cancel my subscription", OptOut},
		{"Stop texting me", OptOut},
		{"please just stop", OptOut},
		{"stop the texts", OptOut},
		{"yes stop", OptOut},
		{"I revoke my consent", OptOut},
		{"quit it", OptOut},
		// Not revocations.
		{"don't stop", Other},
		{"Don’t stop the deals coming!", Other},
		{"never stop sending me deals", Other},
		{"I can't stop buying from you", Other},
		{"do not unsubscribe me", Other},
		{"cancel my order", Other},
		{"see you at the end", Other},
		{"the bus stop is far", Other},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tt.text); got != tt.want {
				t.Errorf("Classify(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestClassify_LongInputIsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a ", 100_000) + "stop"
	if got := Classify(long); got != Other {
		t.Errorf("Classify(long text ending in stop) = %q, want %q (only the first %d bytes are read)", got, Other, maxClassifyBytes)
	}
	if got := Classify("stop " + strings.Repeat("please ", 10_000)); got != OptOut {
		t.Errorf("Classify(stop + many courtesy words) = %q, want %q", got, OptOut)
	}
}

func BenchmarkClassify(b *testing.B) {
	texts := []string{"STOP", "Stop please", "ＳＴＯＰ", "please stop texting me", "YES!", "Thanks, see you Tuesday"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		Classify(texts[n%len(texts)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "messages/s")
}

// BenchmarkClassify_LongReply: the longest reply Classify reads (4,096
// bytes) made of 2,048 one-letter words, the worst case of joining words
// into a keyword: about 12 ms a reply when every word was joined, now
// linear.
func BenchmarkClassify_LongReply(b *testing.B) {
	text := strings.Repeat("a ", maxClassifyBytes/2)
	b.ReportAllocs()
	for b.Loop() {
		if Classify(text) != Other {
			b.Fatal("a reply of one-letter words is not a keyword")
		}
	}
}
