package source

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxFieldNumber bounds a number field's magnitude: larger values are not
// numbers a JSON reader keeps exactly (2^53), so they do not parse.
const MaxFieldNumber = 1 << 53

// TypedValue reads a platform field's raw value as a value of type typ
// (FieldText, FieldNumber, FieldDate, FieldBirthday...) and returns its
// canonical form: a number in plain decimal ("42", "-3.5"), a date as
// YYYY-MM-DD, a birthday as MM-DD; other types are the trimmed text. ok is
// false when a typed value does not parse (the caller drops that field and
// reports it; the record goes on).
//
// Dates are read as YYYY-MM-DD, YYYY/MM/DD or an RFC 3339 time (its date
// as written); birthdays as MM/DD, MM-DD, --MM-DD (ISO 8601) or a full
// date (its month and day). Mailchimp's default birthday format is MM/DD;
// an audience set to DD/MM is read as MM/DD too (a day over 12 then does
// not parse).
func TypedValue(typ, raw string) (string, bool) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", true
	}
	switch typ {
	case FieldNumber:
		f, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > MaxFieldNumber {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	case FieldDate:
		d, ok := parseDate(v)
		if !ok {
			return "", false
		}
		return d.Format("2006-01-02"), true
	case FieldBirthday:
		if d, ok := parseDate(v); ok {
			return d.Format("01-02"), true
		}
		v = strings.TrimPrefix(v, "--")
		for _, layout := range []string{"01/02", "01-02", "1/2"} {
			// Year 2000 is a leap year: 02-29 is a birthday.
			if d, err := time.Parse("2006 "+layout, "2000 "+v); err == nil {
				return d.Format("01-02"), true
			}
		}
		return "", false
	}
	return v, true
}

func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "2006/01/02"} {
		if d, err := time.Parse(layout, v); err == nil {
			return d, true
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true // the date as written, in its own offset
	}
	return time.Time{}, false
}
