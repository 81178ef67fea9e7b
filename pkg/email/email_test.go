package email

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		reason Reason
	}{
		{"  Jane.Doe@Example.COM ", "jane.doe@example.com", ""},
		{"<jane@example.com>", "jane@example.com", ""},
		{"jane+tag@sub.example.co.uk", "jane+tag@sub.example.co.uk", ""},
		{"", "", ReasonEmpty},
		{"   ", "", ReasonEmpty},
		{"jane", "", ReasonInvalidSyntax},
		{"@example.com", "", ReasonInvalidSyntax},
		{"jane@", "", ReasonInvalidSyntax},
		{"jane@localhost", "", ReasonInvalidSyntax},
		{"jane@@example.com", "", ReasonInvalidSyntax},
		{"ja ne@example.com", "", ReasonInvalidSyntax},
		{"a@b.com, c@d.com", "", ReasonInvalidSyntax},
		{"jane..doe@example.com", "", ReasonInvalidSyntax},
		{"jane@example..com", "", ReasonInvalidSyntax},
		{strings.Repeat("a", 65) + "@example.com", "", ReasonTooLong},
		{"a@" + strings.Repeat("b", 250) + ".com", "", ReasonTooLong},
	}
	for _, tt := range tests {
		got, reason := Normalize(tt.raw)
		if got != tt.want || reason != tt.reason {
			t.Errorf("Normalize(%q) = %q %q, want %q %q", tt.raw, got, reason, tt.want, tt.reason)
		}
	}
}

func TestMask(t *testing.T) {
	if got := Mask("jane@example.com"); got != "j***@example.com" {
		t.Errorf("Mask = %q", got)
	}
	if got := Address("jane@example.com").LogValue().String(); got != "j***@example.com" {
		t.Errorf("LogValue = %q", got)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Jane@Example.com", " a@b.co ", "@", "a@b", "\xff@x.y", "ä@ü.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, reason := Normalize(raw)
		if (got == "") == (reason == ReasonNone) {
			t.Fatalf("Normalize(%q) = %q %q", raw, got, reason)
		}
		if got == "" {
			return
		}
		if got != strings.ToLower(got) || strings.TrimSpace(got) != got {
			t.Fatalf("Normalize(%q) = %q: not lower-case and trimmed", raw, got)
		}
		again, r2 := Normalize(got)
		if again != got || r2 != ReasonNone {
			t.Fatalf("not idempotent: %q -> %q -> %q %q", raw, got, again, r2)
		}
	})
}

func BenchmarkNormalizeEmail(b *testing.B) {
	in := []string{" Jane.Doe@Example.COM ", "bob@example.com", "not an email", "", "X@Y.CO"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		Normalize(in[n%len(in)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
