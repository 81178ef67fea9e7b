package phone

import (
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Reason says why a raw value is not a valid phone number ("" when valid).
type Reason string

// Reasons.
const (
	ReasonNone             Reason = ""
	ReasonEmpty            Reason = "empty"
	ReasonNotANumber       Reason = "not_a_number"
	ReasonTooShort         Reason = "too_short"
	ReasonTooLong          Reason = "too_long"
	ReasonInvalidForRegion Reason = "invalid_for_region"
	// ReasonInvalidCountryCode: an international number whose country
	// calling code does not exist.
	ReasonInvalidCountryCode Reason = "invalid_country_code"
	// ReasonNoRegion: a national format, and neither the record's country
	// nor the connection's default region is known.
	ReasonNoRegion         Reason = "no_region"
	ReasonMultipleNumbers  Reason = "multiple_numbers"
	ReasonSpreadsheetFloat Reason = "spreadsheet_float"
	ReasonVanity           Reason = "vanity_number"
)

var (
	spreadsheetFloat = regexp.MustCompile(`^[+-]?\d(?:[.,]\d+)?[eE][+-]?\d+$`)
	extension        = regexp.MustCompile(`(?i)\s*[,;]?\s*(?:ext\.?|extension|ext:|x|#)\s*\d{1,7}\s*$`)
	bracketNote      = regexp.MustCompile(`[(\[{][^)\]}]*\p{L}[^)\]}]*[)\]}]`)
	leadingLabel     = regexp.MustCompile(`^[\p{L}][\p{L}\s.]*[:.\-]?\s*`)
	separators       = regexp.MustCompile(`\s*(?:[/,;|&]|\s(?:or|and|oder|ou)\s)\s*`)
)

// Normalize turns a raw phone field into E.164. country is the record's own
// ISO 3166-1 alpha-2 country (address or billing), tried first for national
// formats; defaultRegion is the connection's. It returns either a valid
// E.164 number and ReasonNone, or "" and a reason.
func Normalize(raw, country, defaultRegion string) (string, Reason) {
	cleaned, reason := clean(raw)
	if reason != ReasonNone {
		return "", reason
	}
	if cleaned[0] == '+' {
		return parse(cleaned, "")
	}
	regions := make([]string, 0, 2)
	for _, r := range []string{strings.ToUpper(strings.TrimSpace(country)), strings.ToUpper(strings.TrimSpace(defaultRegion))} {
		if r != "" && (len(regions) == 0 || regions[0] != r) {
			regions = append(regions, r)
		}
	}
	first := ReasonNoRegion
	for i, r := range regions {
		e164, why := parse(cleaned, r)
		if why == ReasonNone {
			return e164, ReasonNone
		}
		if i == 0 {
			first = why
		}
	}
	if rest, ok := internationalPrefix(cleaned); ok {
		if e164, why := parse("+"+rest, ""); why == ReasonNone {
			return e164, ReasonNone
		}
	}
	return "", first
}

// parse runs the library on one region ("" for +-prefixed input).
func parse(s, region string) (string, Reason) {
	var n phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(s, region, &n); err != nil {
		return "", parseReason(err)
	}
	if phonenumbers.IsValidNumber(&n) {
		return phonenumbers.Format(&n, phonenumbers.E164), ReasonNone
	}
	switch phonenumbers.IsPossibleNumberWithReason(&n) {
	case phonenumbers.TOO_SHORT:
		return "", ReasonTooShort
	case phonenumbers.TOO_LONG:
		return "", ReasonTooLong
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", ReasonInvalidCountryCode
	}
	return "", ReasonInvalidForRegion
}

func parseReason(err error) Reason {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return ReasonInvalidCountryCode
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return ReasonTooShort
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return ReasonTooLong
	}
	return ReasonNotANumber
}

// internationalPrefix strips a leading "00", "0011" or "011" dialling
// prefix (digits only, ignoring formatting).
func internationalPrefix(s string) (string, bool) {
	d := digitsOnly(s)
	for _, p := range []string{"0011", "011", "00"} {
		if strings.HasPrefix(d, p) && len(d) > len(p)+6 {
			return d[len(p):], true
		}
	}
	return "", false
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plain reports whether s holds only what a formatted number holds, so no
// note, extension or second number needs looking for (the fast path).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == ' ', c == '+', c == '-', c == '.', c == '(', c == ')':
		default:
			return false
		}
	}
	return true
}

// clean trims the field and removes notes and extensions; it rejects what
// it can tell is not one number.
func clean(raw string) (string, Reason) {
	s := strings.TrimFunc(raw, unicode.IsSpace)
	if s == "" {
		return "", ReasonEmpty
	}
	if plain(s) {
		if s = strings.TrimSpace(s); tooManyNumbers(s) {
			return "", ReasonMultipleNumbers
		}
		return s, ReasonNone
	}
	if spreadsheetFloat.MatchString(s) {
		return "", ReasonSpreadsheetFloat
	}
	if strings.IndexFunc(s, isDigit) < 0 {
		return "", ReasonNotANumber
	}
	s = extension.ReplaceAllString(s, "")
	s = bracketNote.ReplaceAllString(s, " ")
	s = leadingLabel.ReplaceAllString(s, "")
	// A note after the number: everything after the last digit that holds a
	// letter. Letters glued to the number ("1-800-FLOWERS") are a vanity
	// number, not a note.
	last := strings.LastIndexFunc(s, isDigit)
	if last < 0 {
		if strings.TrimSpace(s) == "" {
			return "", ReasonEmpty
		}
		return "", ReasonNotANumber
	}
	if rest := s[last+1:]; strings.IndexFunc(rest, unicode.IsLetter) >= 0 {
		t := strings.TrimLeft(rest, "-")
		if t != "" && unicode.IsLetter(firstRune(t)) && len(t) < len(rest)+1 && !strings.HasPrefix(rest, " ") {
			return "", ReasonVanity
		}
		s = s[:last+1]
	}
	long := 0
	for _, p := range separators.Split(s, -1) {
		if len(digitsOnly(p)) >= 6 {
			long++
		}
	}
	if long >= 2 {
		return "", ReasonMultipleNumbers
	}
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return "", ReasonVanity // letters between digits: keypad letters
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '/' || r == ',' || r == ';' || r == '-' || r == ':'
	})
	if s == "" {
		return "", ReasonEmpty
	}
	if tooManyNumbers(s) {
		return "", ReasonMultipleNumbers
	}
	return s, ReasonNone
}

// tooManyNumbers: two space-separated runs of eight or more digits each are
// two numbers written side by side.
func tooManyNumbers(s string) bool {
	long := 0
	for _, f := range strings.Fields(s) {
		if len(digitsOnly(f)) >= 8 {
			long++
		}
	}
	return long >= 2
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || unicode.IsDigit(r) }

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

// Mask returns a log-safe form of a phone number: its first five and last
// three characters ("+6141****678").
func Mask(e164 string) string {
	if len(e164) <= 8 {
		return strings.Repeat("*", len(e164))
	}
	return e164[:5] + strings.Repeat("*", len(e164)-8) + e164[len(e164)-3:]
}

// E164 is a phone number that masks itself in logs.
type E164 string

// LogValue implements slog.LogValuer.
func (p E164) LogValue() slog.Value { return slog.StringValue(Mask(string(p))) }
