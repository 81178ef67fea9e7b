package klaviyo_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/source"
)

// Fields lists the standard attributes ($-keyed) and the custom
// properties a sample of profiles carries, typed from their values; a
// record carries the mapped values by key.
func TestFields_StandardAndSampledProperties(t *testing.T) {
	t.Parallel()
	s := klaviyotest.NewServer(klaviyotest.Options{Profiles: 3, Seed: 4, PerSecond: -1, PerMinute: -1})
	defer s.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Update(1, at, func(a map[string]any) {
		a["properties"] = map[string]any{"points": 12, "vip_since": "2024-05-01", "mobile": "0412 345 678", "tags": []any{"a", "b"}}
		a["location"] = map[string]any{"country": "Australia", "city": "Perth"}
	})
	s.Update(2, at, func(a map[string]any) { a["properties"] = map[string]any{"points": "lots"} })
	c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: s.APIKey(), APIBaseURL: s.URL()},
		source.Options{ConnectionID: "c1", FieldMap: map[string]string{"mobile": "phone", "points": "points", "tags": "tags", "$city": "city"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := c.Fields(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range fields {
		types[f.Key] = f.Type
	}
	for k, want := range map[string]string{"$first_name": "text", "$phone_number": "phone", "$city": "text",
		"points": "text", "vip_since": "date", "mobile": "text", "tags": "text"} {
		if types[k] != want {
			t.Errorf("field %s type %q, want %q (all: %v)", k, types[k], want, fields)
		}
	}
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var recs []source.Record
	for cur := plan.Fanout[0]; cur != ""; {
		page, err := c.FetchPage(context.Background(), cur)
		if err != nil {
			t.Fatal(err)
		}
		recs, cur = append(recs, page.Records...), page.Next
	}
	var got map[string]string
	for _, r := range recs {
		if r.Fields["mobile"] != "" {
			got = r.Fields
		}
	}
	if w := map[string]string{"mobile": "0412 345 678", "points": "12", "tags": "a, b", "$city": "Perth"}; !reflect.DeepEqual(got, w) {
		t.Errorf("record fields = %v, want %v", got, w)
	}
}
