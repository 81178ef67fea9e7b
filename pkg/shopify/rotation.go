package shopify

import "time"

// SecretRotationWindow is how long the previous client secret is accepted
// after a rotation: Shopify may sign deliveries with the old secret for up
// to an hour after the secret is rotated (platforms.md §1, Signature).
const SecretRotationWindow = time.Hour

// WebhookSecrets returns the secrets a delivery received at `at` may be
// signed with: the current one, and the previous one only while `at` is
// within SecretRotationWindow after rotatedAt. A previous secret with no
// rotation time (zero) is never accepted: it would be accepted forever.
func WebhookSecrets(current, previous string, rotatedAt, at time.Time) []string {
	secrets := []string{current}
	// A time before rotatedAt is clock skew between instances, not a
	// replay: the previous secret was the current one then.
	if previous != "" && !rotatedAt.IsZero() && at.Sub(rotatedAt) <= SecretRotationWindow {
		secrets = append(secrets, previous)
	}
	return secrets
}
