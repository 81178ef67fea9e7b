package mailchimp

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// ParseWebhook parses a form-encoded list webhook (already authenticated by
// its URL token). The delivery id is the SHA-256 of the body: Mailchimp
// gives none, and a retry re-sends the same body.
func ParseWebhook(body []byte, opts source.Options) (source.Webhook, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return source.Webhook{}, fmt.Errorf("%w: form body does not parse", ErrMalformed)
	}
	sum := sha256.Sum256(body)
	wh := source.Webhook{Topic: v.Get("type"), DeliveryID: "sha256:" + hex.EncodeToString(sum[:])}
	label := cmp.Or(opts.Label, source.Mailchimp.DefaultLabel())
	rec := source.Record{Platform: source.Mailchimp, Label: label, ConnectionID: opts.ConnectionID, UpdatedAt: parseTime(v.Get("fired_at"))}
	email := strings.TrimSpace(v.Get("data[email]"))
	switch wh.Topic {
	case "subscribe", "profile", "unsubscribe":
		rec.ExternalID = v.Get("data[id]")
		rec.FirstName, rec.LastName = strings.TrimSpace(v.Get("data[merges][FNAME]")), strings.TrimSpace(v.Get("data[merges][LNAME]"))
		if p := strings.TrimSpace(v.Get("data[merges][PHONE]")); p != "" {
			rec.Phones = []source.PhoneField{{Raw: p, Field: "merge:PHONE"}}
		}
		for k := range opts.FieldMap {
			// The platform's values by merge tag; the store maps them.
			if val := strings.TrimSpace(v.Get("data[merges][" + k + "]")); val != "" {
				if rec.Fields == nil {
					rec.Fields = map[string]string{}
				}
				rec.Fields[k] = val
			}
		}
		// Classic webhooks carry no SMS status: an unsubscribe is an email
		// unsubscribe and says nothing about SMS consent (SignalNone).
		// A profile update or an unsubscribe carries the member's merge
		// fields but not its tags: it updates the contact the member is
		// linked to and never re-matches it (design.md §3 partial
		// records). A subscribe is how a member arrives: a full record,
		// unless tags scope the connection — it carries no tags, so it
		// cannot say the member is in a selected tag: it then updates only
		// a member already synced (a re-subscribe), and a new member
		// arrives with the sync that sees it in a selected tag.
		rec.Partial = wh.Topic != "subscribe" || len(opts.SelectedTags) > 0
	case "upemail":
		rec.Partial = true // the new address only
		rec.ExternalID = v.Get("data[new_id]")
		email = strings.TrimSpace(v.Get("data[new_email]"))
	case "cleaned":
		return wh, nil // an email bounce: nothing for SMS contacts
	case "campaign":
		return wh, nil // campaign sent: no contact data
	default:
		return source.Webhook{}, fmt.Errorf("%w: %q", ErrUnsupportedTopic, wh.Topic)
	}
	if email != "" {
		rec.Emails = []string{email}
	}
	if rec.ExternalID == "" {
		if email == "" {
			return source.Webhook{}, fmt.Errorf("%w: no member id or email", ErrMalformed)
		}
		h := sha256.Sum256([]byte(strings.ToLower(email)))
		rec.ExternalID = "email:" + hex.EncodeToString(h[:8])
	}
	wh.Records = []source.Record{rec}
	return wh, nil
}
