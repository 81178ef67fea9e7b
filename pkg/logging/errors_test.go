package logging

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

type stringer string

func (s stringer) String() string { return string(s) }

// Errors were written as their Error() text with no masking: an error that
// named a number (wrapped from the store, the phone library, a provider)
// put the whole E.164 number in the log.
func TestNew_MasksNumbersInsideErrorsStringersAndNestedValues(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	err := fmt.Errorf("updating ledger: %w", errors.New("conditional check failed for +61412345678 (jane@example.com)"))
	log.Error("ledger update for +14155550100 failed", "err", err,
		"target", stringer("sms to +447700900123"),
		slog.Group("outer", slog.Group("inner", slog.Any("cause", err))),
		"detail", map[string]string{"number": "+33612345678"},
		"list", []string{"+819012345678"},
		"plain", "retrying +4915112345678 later",
		"id", "706405506930370084", "attempts", 3)
	out := buf.String()
	for _, leak := range []string{"+61412345678", "jane@example.com", "+14155550100", "+447700900123", "+33612345678", "+819012345678", "+4915112345678"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q: %s", leak, out)
		}
	}
	for _, want := range []string{"conditional check failed for +6141****678 (j***@example.com)", `"message":"ledger update for +1415****100 failed"`,
		"sms to +4477*****123", `"id":"706405506930370084"`, `"attempts":3`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
	if !strings.Contains(out, `"outer":{"inner":{"cause":"updating ledger: conditional check failed for +6141****678`) {
		t.Errorf("nested group error not masked in place: %s", out)
	}
}

func TestNew_ValuesWithoutPersonalDataKeepTheirShape(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo).Info("ok", "outcomes", []string{"created", "updated"}, "err", errors.New("timeout"))
	for _, want := range []string{`"outcomes":["created","updated"]`, `"err":"timeout"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s: %s", want, buf.String())
		}
	}
}

func TestMaskText(t *testing.T) {
	tests := map[string]string{
		"no personal data":                  "no personal data",
		"call +61412345678 now":             "call +6141****678 now",
		"mail jane.doe+x@mail.example.com.": "mail j***@mail.example.com.",
		"utc offset +10:00 stays":           "utc offset +10:00 stays",
		"version v1.2.3 stays":              "version v1.2.3 stays",
	}
	for in, want := range tests {
		if got := MaskText(in); got != want {
			t.Errorf("MaskText(%q) = %q, want %q", in, got, want)
		}
	}
}
