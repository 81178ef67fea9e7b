package mailchimp_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/source"
)

// Fields lists the audience's merge fields with their types; a member's
// record carries the values of the mapped merge fields, by tag, as text
// (a number as written, an address joined).
func TestFields_MergeFieldsAndMappedValues(t *testing.T) {
	t.Parallel()
	s := mailchimptest.NewServer(mailchimptest.Options{Members: 2, Seed: 3})
	defer s.Close()
	s.AddMergeField("MMERGE5", "Mobile", "phone")
	s.AddMergeField("POINTS", "Points", "number")
	s.AddMergeField("JOINED", "Joined", "date")
	s.AddMergeField("COLOUR", "Colour", "dropdown")
	c, err := mailchimp.New(mailchimp.Config{APIKey: s.APIKey(), AudienceID: s.AudienceID(), APIBaseURL: s.URL()},
		source.Options{ConnectionID: "c1", FieldMap: map[string]string{"MMERGE5": "phone", "POINTS": "points", "ADDRESS": "address", "FNAME": "firstName", "NOPE": "x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := c.Fields(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []source.Field{
		{Key: "FNAME", Label: "First Name", Type: "text"}, {Key: "LNAME", Label: "Last Name", Type: "text"},
		{Key: "ADDRESS", Label: "Address", Type: "address"}, {Key: "PHONE", Label: "Phone Number", Type: "phone"},
		{Key: "BIRTHDAY", Label: "Birthday", Type: "birthday"}, {Key: "MMERGE5", Label: "Mobile", Type: "phone"},
		{Key: "POINTS", Label: "Points", Type: "number"}, {Key: "JOINED", Label: "Joined", Type: "date"},
		{Key: "COLOUR", Label: "Colour", Type: "text"},
	}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields =\n%v\nwant\n%v", fields, want)
	}
	s.Update(1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), func(m map[string]any) {
		m["merge_fields"] = map[string]any{"FNAME": "Ann", "MMERGE5": "0412 345 678", "POINTS": 12.5,
			"ADDRESS": map[string]any{"addr1": "1 Main St", "city": "Perth", "state": "WA", "zip": "6000", "country": "AU"}}
	})
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.FetchPage(context.Background(), plan.Fanout[0])
	if err != nil {
		t.Fatal(err)
	}
	got := page.Records[0].Fields
	if w := map[string]string{"FNAME": "Ann", "MMERGE5": "0412 345 678", "POINTS": "12.5", "ADDRESS": "1 Main St, Perth, WA, 6000, AU"}; !reflect.DeepEqual(got, w) {
		t.Errorf("record fields = %v, want %v", got, w)
	}
}
