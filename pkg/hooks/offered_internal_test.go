package hooks

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// offeringSubscriber is a memSubscriber whose account offers some topics
// (source.TopicOfferer).
type offeringSubscriber struct {
	memSubscriber
	offer []string
}

func (o *offeringSubscriber) OfferedTopics(context.Context) ([]string, error) { return o.offer, nil }

// TestEnsure_SubscribesOnlyToOfferedTopics: a platform whose topics vary
// by account is subscribed to the topics it offers; offering none is
// unavailable, not failing.
func TestEnsure_SubscribesOnlyToOfferedTopics(t *testing.T) {
	const url = "https://api.example/webhooks/klaviyo/c1"
	o := &offeringSubscriber{offer: []string{"c", "x", "a"}}
	ids := map[string]string{}
	if _, err := ensure(context.Background(), o, url, nil, ids); err != nil || !slices.Equal(o.created, []string{"a", "c"}) || len(ids) != 2 {
		t.Fatalf("created %v, ids %v, err %v", o.created, ids, err)
	}
	none := &offeringSubscriber{offer: []string{"x"}}
	var ue *source.WebhooksUnavailableError
	if _, err := ensure(context.Background(), none, url, nil, map[string]string{}); !errors.As(err, &ue) || len(none.created) != 0 {
		t.Fatalf("none offered: %v, created %v", err, none.created)
	}
}
