package mailchimp_test

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/source"
)

// The API key's data centre becomes the host https://<dc>.api.mailchimp.com:
// anything but letters then digits is refused, so a key cannot steer the
// client to another host.
func TestDataCentreMustBeADataCentre(t *testing.T) {
	for _, key := range []string{"k-169.254.169.254", "k-evil.com#", "k-us6.evil.com/", "k-localhost:8080", "k-US6", "k-6us", "k-"} {
		if _, err := mailchimp.New(mailchimp.Config{APIKey: key, AudienceID: "a"}, source.Options{}, nil); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
	if _, err := mailchimp.New(mailchimp.Config{APIKey: "0123-us21", AudienceID: "a"}, source.Options{}, nil); err != nil {
		t.Errorf("us21: %v", err)
	}
}
