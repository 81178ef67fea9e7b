// Package email normalises email addresses for matching: trimmed and
// lower-cased, with a basic syntax check (one "@", a non-empty local part,
// a dotted domain, no spaces, RFC 5321 length limits). The display form
// stays as the source sent it; only matching uses the normalised form.
// Lower-casing the local part is a deliberate simplification: providers
// treat it case-insensitively in practice, and platforms (Mailchimp's
// subscriber hash) match that way.
package email

import (
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reason says why an address is unusable ("" when valid).
type Reason string

// Reasons.
const (
	ReasonNone          Reason = ""
	ReasonEmpty         Reason = "empty"
	ReasonInvalidSyntax Reason = "invalid_syntax"
	ReasonTooLong       Reason = "too_long"
)

// Normalize returns the matching key of raw, or "" and a reason.
func Normalize(raw string) (string, Reason) {
	s := strings.TrimFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' })
	if s == "" {
		return "", ReasonEmpty
	}
	if len(s) > 254 {
		return "", ReasonTooLong
	}
	if !utf8.ValidString(s) {
		return "", ReasonInvalidSyntax
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", ReasonInvalidSyntax
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return "", ReasonTooLong
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == ',' || r == ';' }) {
		return "", ReasonInvalidSyntax
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", ReasonInvalidSyntax
	}
	dot := strings.IndexByte(domain, '.')
	if dot <= 0 || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") || strings.HasPrefix(domain, "-") {
		return "", ReasonInvalidSyntax
	}
	return strings.ToLower(s), ReasonNone
}

// Mask returns a log-safe form: the first character and the domain.
func Mask(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "***"
	}
	if at == 0 {
		return "***" + addr[at:]
	}
	_, size := utf8.DecodeRuneInString(addr)
	return addr[:size] + "***" + addr[at:]
}

// Address is an email address that masks itself in logs.
type Address string

// LogValue implements slog.LogValuer.
func (a Address) LogValue() slog.Value { return slog.StringValue(Mask(string(a))) }
