package source

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeReason_RemovesSecretsAndBounds(t *testing.T) {
	for _, tc := range []struct {
		in      string
		secrets []string
		want    string
	}{
		{"woocommerce_rest_cannot_view: Sorry, you cannot list resources.", nil, "woocommerce_rest_cannot_view: Sorry, you cannot list resources."},
		{"key my-own-secret is wrong", []string{"my-own-secret"}, "key [redacted] is wrong"},
		{"token shpat_abc rejected", nil, "token [redacted] rejected"},
		{"consumer key ck_test refused", nil, "consumer key [redacted] refused"},
		{"api key 0123456789abcdef0123456789abcdef-us6 invalid", nil, "api key [redacted] invalid"},
		{"line\none\x00two", nil, "line one two"},
	} {
		if got := SafeReason(tc.in, tc.secrets...); got != tc.want {
			t.Errorf("SafeReason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := SafeReason(strings.Repeat("é ", 500))
	if n := utf8.RuneCountInString(long); n > MaxReasonRunes {
		t.Errorf("reason of %d runes, want at most %d", n, MaxReasonRunes)
	}
}

func TestChoices_CapAtMaxOptions(t *testing.T) {
	c := NewChoices()
	for i := range MaxOptions + 5 {
		c.Add(Choice{Name: strings.Repeat("n", i%300)})
	}
	if len(c.Items) != MaxOptions || !c.Truncated {
		t.Fatalf("%d items, truncated %v", len(c.Items), c.Truncated)
	}
	for _, it := range c.Items {
		if utf8.RuneCountInString(it.Name) > MaxOptionNameRunes {
			t.Fatalf("name of %d runes", utf8.RuneCountInString(it.Name))
		}
	}
}
