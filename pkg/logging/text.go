package logging

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Personal data inside free text (an error message, a Stringer, a
// formatted value): E.164 numbers ('+' and 7 to 15 digits) and email
// addresses.
var (
	e164InText  = regexp.MustCompile(`\+[1-9][0-9]{6,14}`)
	emailInText = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
)

// MaskText masks every E.164 number and email address inside s, leaving
// the rest of the text as it is.
func MaskText(s string) string {
	s = emailInText.ReplaceAllStringFunc(s, MaskString)
	return e164InText.ReplaceAllStringFunc(s, MaskString)
}

// anyText returns the text a handler would write for a KindAny value, and
// false for values that cannot carry text worth masking (nil). Errors and
// Stringers give their text; anything else is what JSON makes of it (the
// JSON handler's own rendering), so a struct or map holding a number is
// masked too, as one string.
func anyText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case error:
		return x.Error(), true
	case fmt.Stringer:
		return x.String(), true
	case json.Marshaler, []byte:
		return "", false // own encodings (and base64 bytes) carry no plain text
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v), true
	}
	return string(b), true
}
