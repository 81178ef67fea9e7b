package klaviyo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
)

// A validly signed delivery is accepted only within ReplayWindow of its
// Klaviyo-Timestamp, either way; before, a captured delivery verified
// forever.
func TestVerifyWebhook_RefusesDeliveriesOutsideTheReplayWindow(t *testing.T) {
	t.Parallel()
	h := signed("s3cret", sampleDelivery)
	for _, tc := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"at its timestamp", sampleAt, true},
		{"window later", sampleAt.Add(klaviyo.ReplayWindow), true},
		{"window earlier", sampleAt.Add(-klaviyo.ReplayWindow), true},
		{"a second too late", sampleAt.Add(klaviyo.ReplayWindow + time.Second), false},
		{"a day later (a replay)", sampleAt.Add(24 * time.Hour), false},
		{"a second too early (future timestamp)", sampleAt.Add(-klaviyo.ReplayWindow - time.Second), false},
	} {
		err := klaviyo.VerifyWebhook("s3cret", h, []byte(sampleDelivery), tc.now)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && (!errors.Is(err, klaviyo.ErrStale) || !errors.Is(err, klaviyo.ErrInvalidSignature)) {
			t.Errorf("%s: err = %v, want ErrStale (an ErrInvalidSignature)", tc.name, err)
		}
	}
	for _, ts := range []string{"", "yesterday", "1714521601.5"} {
		bad := signed("s3cret", sampleDelivery)
		bad.Set("Klaviyo-Timestamp", ts)
		bad.Set("Klaviyo-Signature", klaviyo.Signature("s3cret", []byte(sampleDelivery), ts))
		if err := klaviyo.VerifyWebhook("s3cret", bad, []byte(sampleDelivery), sampleAt); !errors.Is(err, klaviyo.ErrInvalidSignature) {
			t.Errorf("timestamp %q: err = %v, want refused", ts, err)
		}
	}
}
