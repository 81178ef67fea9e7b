package mailchimp_test

import (
	"net/url"
	"testing"

	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/source"
)

// Profile, upemail and unsubscribe webhooks carry part of a member and
// are marked Partial (design.md §3); a subscribe is how a member arrives.
func TestParseWebhook_PartialTopics(t *testing.T) {
	t.Parallel()
	for typ, partial := range map[string]bool{"subscribe": false, "profile": true, "unsubscribe": true, "upemail": true} {
		form := url.Values{"type": {typ}, "fired_at": {"2026-11-01 00:00:00"}, "data[id]": {"m1"}, "data[email]": {"a@example.com"},
			"data[new_id]": {"m2"}, "data[new_email]": {"b@example.com"}, "data[old_email]": {"a@example.com"}}
		wh, err := mailchimp.ParseWebhook([]byte(form.Encode()), source.Options{ConnectionID: "c1"})
		if err != nil || len(wh.Records) != 1 {
			t.Fatalf("%s: %+v %v", typ, wh, err)
		}
		if wh.Records[0].Partial != partial {
			t.Errorf("%s: Partial %v, want %v", typ, wh.Records[0].Partial, partial)
		}
	}
}

// With tags selected, a subscribe (which carries no tags) cannot bring in a
// member the selected tags may leave out: it is partial, so it only
// updates a member already synced (fails when a subscribe created
// contacts for the whole audience).
func TestParseWebhook_SubscribeIsPartialWhenTagsScope(t *testing.T) {
	t.Parallel()
	form := url.Values{"type": {"subscribe"}, "fired_at": {"2026-11-01 00:00:00"}, "data[id]": {"m1"}, "data[email]": {"a@example.com"}}
	wh, err := mailchimp.ParseWebhook([]byte(form.Encode()), source.Options{ConnectionID: "c1", SelectedTags: []string{"SMS"}})
	if err != nil || len(wh.Records) != 1 || !wh.Records[0].Partial {
		t.Fatalf("subscribe with tags selected: %+v %v", wh, err)
	}
}
