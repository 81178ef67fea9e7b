package shopify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/shopify"
)

func TestWebhookSecrets_PreviousSecretOnlyWithinTheRotationWindow(t *testing.T) {
	rotated := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		rotatedAt time.Time
		at        time.Time
		want      []string
	}{
		{"at the rotation", rotated, rotated, []string{"new", "old"}},
		{"59 minutes after", rotated, rotated.Add(59 * time.Minute), []string{"new", "old"}},
		{"the window's end", rotated, rotated.Add(shopify.SecretRotationWindow), []string{"new", "old"}},
		{"a second after the window", rotated, rotated.Add(shopify.SecretRotationWindow + time.Second), []string{"new"}},
		{"a month after", rotated, rotated.AddDate(0, 1, 0), []string{"new"}},
		{"no rotation time (used to be forever)", time.Time{}, rotated, []string{"new"}},
		{"clock skew before the rotation", rotated, rotated.Add(-time.Second), []string{"new", "old"}},
	} {
		if got := shopify.WebhookSecrets("new", "old", tc.rotatedAt, tc.at); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := shopify.WebhookSecrets("new", "", rotated, rotated); !slices.Equal(got, []string{"new"}) {
		t.Errorf("no previous secret: %v", got)
	}
}
