package hooks

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// memSubscriber is a platform's subscriptions in memory.
type memSubscriber struct {
	subs    []source.Subscription
	created []string
	refuse  error
}

func (m *memSubscriber) WebhookTopics() []string { return []string{"a", "b", "c"} }

func (m *memSubscriber) Subscriptions(context.Context) ([]source.Subscription, error) {
	return append([]source.Subscription(nil), m.subs...), nil
}

func (m *memSubscriber) Subscribe(_ context.Context, topic, url string) (source.Subscription, error) {
	if m.refuse != nil {
		return source.Subscription{}, m.refuse
	}
	s := source.Subscription{ID: "n" + strconv.Itoa(len(m.subs)), Topic: topic, URL: url, Active: true}
	m.subs = append(m.subs, s)
	m.created = append(m.created, topic)
	return s, nil
}

func (m *memSubscriber) Reactivate(_ context.Context, id string) error {
	for i := range m.subs {
		if m.subs[i].ID == id {
			m.subs[i].Active = true
		}
	}
	return nil
}

func (m *memSubscriber) Unsubscribe(context.Context, string) error { return nil }

func sub(id, topic, url string, active bool) source.Subscription {
	return source.Subscription{ID: id, Topic: topic, URL: url, Active: active}
}

func TestEnsure_CreatesOnlyWhatIsMissingAndSaysWhenItRepaired(t *testing.T) {
	const url = "https://api.example/webhooks/shopify/c1"
	for _, tc := range []struct {
		name         string
		subs         []source.Subscription
		prev         map[string]string
		wantCreated  int
		wantRepaired bool
	}{
		{name: "first registration creates every topic and is not a repair", wantCreated: 3},
		{name: "a retried registration creates nothing",
			subs: []source.Subscription{sub("1", "a", url, true), sub("2", "b", url, true), sub("3", "c", url, true)}},
		{name: "another address's subscriptions are not ours",
			subs: []source.Subscription{sub("1", "a", "https://other.example/x", true)}, wantCreated: 3},
		{name: "a dropped subscription is re-created: repaired",
			subs: []source.Subscription{sub("1", "a", url, true), sub("2", "b", url, true)}, prev: map[string]string{"a": "1", "b": "2", "c": "3"},
			wantCreated: 1, wantRepaired: true},
		{name: "a disabled one is re-activated, not duplicated: repaired",
			subs: []source.Subscription{sub("1", "a", url, true), sub("2", "b", url, false), sub("3", "c", url, true)}, prev: map[string]string{"a": "1", "b": "2", "c": "3"},
			wantRepaired: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memSubscriber{subs: tc.subs}
			ids := map[string]string{}
			repaired, err := ensure(context.Background(), m, url, tc.prev, ids)
			if err != nil || repaired != tc.wantRepaired || len(m.created) != tc.wantCreated || len(ids) != 3 {
				t.Fatalf("repaired %v, created %v, ids %v, err %v", repaired, m.created, ids, err)
			}
			for _, s := range m.subs {
				if s.URL == url && !s.Active {
					t.Fatalf("left inactive: %+v", s)
				}
			}
			again := map[string]string{}
			if repaired, err := ensure(context.Background(), m, url, ids, again); err != nil || repaired || !maps.Equal(again, ids) {
				t.Fatalf("a second pass: repaired %v, ids %v, err %v", repaired, again, err)
			}
		})
	}
}

func TestEnsure_ARefusalIsTheError(t *testing.T) {
	m := &memSubscriber{refuse: errors.New("woocommerce: unauthorized (check the consumer key and secret)")}
	if _, err := ensure(context.Background(), m, "https://x/y", nil, map[string]string{}); err == nil || reason(err) == "" {
		t.Fatalf("err %v", err)
	}
}
