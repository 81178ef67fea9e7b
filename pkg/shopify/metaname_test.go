package shopify

import (
	"strings"
	"testing"
)

// TestMetaNamePart_AsTheRegexpItReplaces: letters, digits, - and _, 1 to
// 255 of them (the loop replaced ^[A-Za-z0-9_-]{1,255}$, which cost every
// cold start its compilation).
func TestMetaNamePart_AsTheRegexpItReplaces(t *testing.T) {
	for s, want := range map[string]bool{
		"custom": true, "my_ns-1": true, "A": true, strings.Repeat("k", 255): true,
		"": false, strings.Repeat("k", 256): false, "a.b": false, "a b": false, "ünï": false, `a"b`: false, "a\nb": false,
	} {
		if got := metaNamePart(s); got != want {
			t.Errorf("metaNamePart(%q) = %v, want %v", s, got, want)
		}
	}
}
