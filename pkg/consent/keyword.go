package consent

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Keyword is the meaning of an inbound SMS reply.
type Keyword string

// Keyword kinds.
const (
	OptOut Keyword = "opt_out" // STOP family: record a hub-side opt-out at once
	OptIn  Keyword = "opt_in"  // START, UNSTOP, YES, Y, SUBSCRIBE
	Help   Keyword = "help"    // HELP, INFO: answer with the help text
	Other  Keyword = "other"   // a plain reply: changes nothing, kept in history
)

// The keyword lists of design.md §4, as normalised words.
var (
	optOutWords = map[string]bool{
		"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "end": true,
		"quit": true, "optout": true, "revoke": true,
	}
	optInWords = map[string]bool{"start": true, "unstop": true, "yes": true, "y": true, "subscribe": true}
	helpWords  = map[string]bool{"help": true, "info": true}

	// courtesy words may follow a keyword without changing its meaning
	// ("Stop please", "YES thanks", "STOP ALL", "help me").
	courtesyWords = map[string]bool{
		"please": true, "pls": true, "plz": true, "thanks": true, "thank": true, "you": true,
		"thx": true, "ty": true, "now": true, "all": true, "me": true, "it": true, "asap": true,
		"already": true, "again": true, "ok": true, "okay": true,
	}
	// targetWords after "stop", "end" or "cancel" make it a revocation
	// ("stop texting me", "cancel my subscription", "end these messages").
	targetWords = map[string]bool{
		"texting": true, "texts": true, "text": true, "txt": true, "txts": true, "messaging": true,
		"messages": true, "message": true, "msgs": true, "msg": true, "sms": true, "sending": true,
		"contacting": true, "spam": true, "spamming": true, "subscription": true,
		"subscriptions": true, "them": true, "marketing": true, "promotions": true,
		"calling": true, "notifications": true, "alerts": true,
	}
	// determiners may sit between "stop" and its target ("stop the texts").
	determiners = map[string]bool{
		"my": true, "the": true, "this": true, "these": true, "those": true, "all": true,
		"your": true, "ur": true,
	}
	// negations before "stop" keep it from being a revocation ("don't stop").
	negations = map[string]bool{
		"dont": true, "not": true, "never": true, "cant": true, "cannot": true,
		"wont": true, "didnt": true, "shouldnt": true, "doesnt": true,
	}
	// contactVerbs after "don't"/"do not"/"no more" make a revocation
	// ("do not text me", "no more messages").
	contactVerbs = map[string]bool{
		"text": true, "texts": true, "message": true, "messages": true, "msg": true, "msgs": true,
		"sms": true, "contact": true, "email": true, "emails": true, "txt": true, "txts": true,
		"texting": true, "messaging": true,
	}
)

// Classify reads an inbound SMS reply (design.md §4 keywords).
//
// Normalisation: Unicode NFKC (full-width "ＳＴＯＰ" becomes "STOP"),
// Cyrillic and Greek letters that look Latin are read as Latin ("ЅТОР"),
// invisible format characters, combining marks and apostrophes are
// dropped ("don't" is "dont"), case is folded, and every run of other
// characters (spaces, punctuation, emoji) separates words.
//
// Rules, checked in this order:
//
//  1. Opt-out. A keyword alone or followed only by courtesy words ("STOP.",
//     "Stop please", "STOP ALL", "opt-out", "OPTOUT", "cancel!"). Beyond
//     that, the FCC 24-24 order makes any reasonable revocation binding, so
//     we err towards honouring it: a message whose first word is STOP,
//     STOPALL, UNSUBSCRIBE, QUIT, OPTOUT or REVOKE whatever follows ("Stop
//     texting me", "unsubscribe me"); a message containing "unsubscribe",
//     "opt out", "stopall", "revoke", "remove me", "take me off", "leave me
//     alone", "no more <texts|messages|...>", "do not / dont <text|message|
//     contact>"; and "stop", "end" or "cancel" followed by what is to stop,
//     possibly after "my/the/this/these/all" ("please stop texting me",
//     "can you end these messages", "cancel my subscription"). "stop" at the
//     end or before courtesy words counts too ("please just stop"). END and
//     CANCEL are common words, so inside a sentence they need a target:
//     "cancel my order" and "the end" are plain replies. A negation within
//     the three words before the keyword ("don't stop", "never stop",
//     "can't stop", "do not unsubscribe me") is not a revocation.
//  2. Opt-in: START, UNSTOP, YES, Y or SUBSCRIBE alone or with courtesy
//     words ("YES!", "y", "Yes please"). "yes I have a question" is a plain
//     reply. Because opt-out is checked first, "yes stop" is an opt-out.
//  3. Help: HELP or INFO alone or with courtesy words ("Help me").
//  4. Anything else is Other.
//
// Classify never panics, and the same text always gives the same result.
func Classify(text string) Keyword {
	words := normalizeWords(text)
	switch {
	case len(words) == 0:
		return Other
	case isOptOut(words):
		return OptOut
	case alone(words, optInWords):
		return OptIn
	case alone(words, helpWords):
		return Help
	}
	return Other
}

// alone reports whether words are one keyword of set (possibly split into
// several words, "opt out") followed only by courtesy words.
func alone(words []string, set map[string]bool) bool {
	joined := ""
	for i, w := range words {
		joined += w
		if len(joined) > longestKeyword {
			return false // only grows: no keyword can match any more
		}
		if set[joined] && onlyCourtesy(words[i+1:]) {
			return true
		}
	}
	return false
}

// longestKeyword is the length of the longest opt-out, opt-in or help
// keyword: alone stops joining words past it, so a long reply of short
// words costs linear time (it was quadratic: 12 ms for 2,048 words).
var longestKeyword = func() int {
	n := 0
	for _, set := range []map[string]bool{optOutWords, optInWords, helpWords} {
		for k := range set {
			n = max(n, len(k))
		}
	}
	return n
}()

func onlyCourtesy(words []string) bool {
	for _, w := range words {
		if !courtesyWords[w] {
			return false
		}
	}
	return true
}

// isOptOut applies the opt-out rules described on Classify.
func isOptOut(words []string) bool {
	if alone(words, optOutWords) {
		return true
	}
	if first := words[0]; optOutWords[first] && first != "end" && first != "cancel" {
		return true // "Stop texting me", "unsubscribe me", "quit it"
	}
	at := func(i int) string {
		if i < len(words) {
			return words[i]
		}
		return ""
	}
	for i, w := range words {
		next := at(i + 1)
		switch {
		case w == "unsubscribe" || w == "optout" || w == "stopall" || w == "revoke" ||
			(w == "opt" && next == "out"):
			if !negated(words, i) {
				return true
			}
		case w == "remove" && next == "me",
			w == "take" && next == "me" && at(i+2) == "off",
			w == "leave" && next == "me" && at(i+2) == "alone",
			w == "no" && next == "more" && contactVerbs[at(i+2)],
			w == "dont" && contactVerbs[next],
			w == "do" && next == "not" && contactVerbs[at(i+2)]:
			return true
		case w == "stop" || w == "end" || w == "cancel":
			if negated(words, i) {
				continue
			}
			j := i + 1
			for k := 0; k < 2 && determiners[at(j)]; k++ {
				j++
			}
			if targetWords[at(j)] {
				return true
			}
			if w == "stop" && (at(j) == "" || courtesyWords[at(j)]) {
				return true
			}
		}
	}
	return false
}

// negated reports whether one of the three words before i is a negation.
func negated(words []string, i int) bool {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if negations[words[j]] {
			return true
		}
	}
	return false
}

// normalizeWords turns text into lower-case Latin words (see Classify).
func normalizeWords(text string) []string {
	if len(text) > maxClassifyBytes {
		text = text[:maxClassifyBytes]
	}
	text = norm.NFKC.String(text)
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r):
			continue // zero-width joiners, soft hyphens, combining marks
		case r == '\'' || r == '\u2019' || r == '`':
			continue // "don't" -> "dont"
		}
		r = unicode.ToLower(latinLookalike(r))
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || (r > 0x7f && unicode.IsLetter(r)) {
			b.WriteRune(r)
			continue
		}
		b.WriteByte(' ')
	}
	return strings.Fields(b.String())
}

// maxClassifyBytes bounds the work on absurdly long replies; the opt-out
// rules look at whole words, and an SMS is at most a few hundred bytes.
const maxClassifyBytes = 4096

// latinLookalike maps Cyrillic and Greek letters that look like Latin
// letters to those letters (upper and lower case have their own look-alikes:
// Greek Ν looks like N but ν like v).
func latinLookalike(r rune) rune {
	switch r {
	// Cyrillic capitals.
	case 'А':
		return 'A'
	case 'В':
		return 'B'
	case 'С':
		return 'C'
	case 'Е', 'Ё':
		return 'E'
	case 'Н':
		return 'H'
	case 'І', 'Ї':
		return 'I'
	case 'Ј':
		return 'J'
	case 'К':
		return 'K'
	case 'М':
		return 'M'
	case 'О':
		return 'O'
	case 'Р':
		return 'P'
	case 'Ѕ':
		return 'S'
	case 'Т':
		return 'T'
	case 'Х':
		return 'X'
	case 'У', 'Ү':
		return 'Y'
	case 'Ԛ':
		return 'Q'
	case 'Ԝ':
		return 'W'
	// Cyrillic small letters.
	case 'а':
		return 'a'
	case 'с':
		return 'c'
	case 'ԁ':
		return 'd'
	case 'е', 'ё':
		return 'e'
	case 'һ':
		return 'h'
	case 'і', 'ї':
		return 'i'
	case 'ј':
		return 'j'
	case 'о':
		return 'o'
	case 'р':
		return 'p'
	case 'ԛ':
		return 'q'
	case 'ѕ':
		return 's'
	case 'ԝ':
		return 'w'
	case 'х':
		return 'x'
	case 'у', 'ү':
		return 'y'
	// Cyrillic small forms of look-alike capitals ("ЅТОР" typed in lower
	// case or folded).
	case 'в':
		return 'b'
	case 'к':
		return 'k'
	case 'м':
		return 'm'
	case 'н':
		return 'h'
	case 'т':
		return 't'
	// Greek capitals.
	case 'Α':
		return 'A'
	case 'Β':
		return 'B'
	case 'Ε':
		return 'E'
	case 'Ζ':
		return 'Z'
	case 'Η':
		return 'H'
	case 'Ι':
		return 'I'
	case 'Κ':
		return 'K'
	case 'Μ':
		return 'M'
	case 'Ν':
		return 'N'
	case 'Ο':
		return 'O'
	case 'Ρ':
		return 'P'
	case 'Τ':
		return 'T'
	case 'Υ':
		return 'Y'
	case 'Χ':
		return 'X'
	// Greek small letters.
	case 'α':
		return 'a'
	case 'ι':
		return 'i'
	case 'κ':
		return 'k'
	case 'ν':
		return 'v'
	case 'ο':
		return 'o'
	case 'ρ':
		return 'p'
	case 'τ':
		return 't'
	case 'υ':
		return 'u'
	case 'χ':
		return 'x'
	}
	return r
}
