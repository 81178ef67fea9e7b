package shopify_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

// segmentNamed is a SegmentNamer that names every segment name.
func segmentNamed(name string) shopify.SegmentNamer {
	return func(context.Context, string) (string, error) { return name, nil }
}

// fetchAll fetches every chain of a plan and returns its records.
func fetchAll(t *testing.T, c *shopify.Client, plan source.Plan) []source.Record {
	t.Helper()
	var all []source.Record
	for _, cur := range plan.Fanout {
		for pages := 0; cur != ""; pages++ {
			if pages > 100 {
				t.Fatal("a chain that does not end")
			}
			p, err := c.FetchPage(context.Background(), cur)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, p.Records...)
			cur = p.Next
		}
	}
	return all
}

// A full plan lists each segment's members as membership records and names
// the segments in CompleteGroups; past the caps it reads no more and says
// so in warning records (reported invalid with the cap's reason): a
// segment over the member budget is left as it is (not in
// CompleteGroups), segments past MaxSegments are not read, and the guest
// orders listing stops at MaxGuestOrders.
func TestPlanBulk_SegmentMembersAndCaps(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 20, Seed: 5})
	defer s.Close()
	s.AddSegment("Alpha", 1, 2, 3)
	s.AddSegment("Beta", 4, 5, 6, 7, 8, 9, 10)
	s.AddSegment("Gamma", 1, 2)
	s.SetAccountState(7, "DISABLED")
	for range 300 {
		s.AddOrder(0, shopifytest.GuestCheckout{Email: "g@example.com"})
	}
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(),
		MaxSegments: 2, MaxSegmentMembers: 5, MaxGuestOrders: 100}, source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.CompleteGroups, []string{"Alpha"}) || !plan.Chained {
		t.Fatalf("plan: complete groups %v, chained %v", plan.CompleteGroups, plan.Chained)
	}
	members := map[string][]string{}
	warnings := map[string]string{}
	guests, customers := 0, 0
	for _, r := range fetchAll(t, c, plan) {
		switch {
		case r.Unreadable != "":
			warnings[r.ExternalID] = r.Unreadable
		case len(r.AddGroups) > 0:
			if !r.Partial || r.HasGroups || !r.UpdatedAt.IsZero() || len(r.Emails)+len(r.Phones) == 0 {
				t.Errorf("membership record %+v: want partial, no group set, no time, the customer's identifiers", r)
			}
			members[r.AddGroups[0]] = append(members[r.AddGroups[0]], r.ExternalID)
		case strings.HasPrefix(r.ExternalID, "order:"):
			guests++
			if !r.Guest {
				t.Errorf("guest checkout %+v is not a guest", r)
			}
		default:
			customers++
			if r.Guest != (r.ExternalID == "7064055069303700007") {
				t.Errorf("customer %s: guest %v (only the DISABLED customer 7 is)", r.ExternalID, r.Guest)
			}
			if !slices.Equal(r.KeepGroups, []string{"Alpha", "Beta", "Gamma"}) {
				t.Errorf("customer %s keeps %v, want the shop's segments", r.ExternalID, r.KeepGroups)
			}
		}
	}
	if customers != 20 || len(members) != 1 || len(members["Alpha"]) != 3 {
		t.Fatalf("%d customers, members %v", customers, members)
	}
	if guests < 100 || guests >= 300 {
		t.Errorf("%d guest checkouts read, want the capped listing's (100 to 299)", guests)
	}
	want := map[string]string{"segments": shopify.WarnSegmentsOverCap, "segment:581234560002": shopify.WarnSegmentOverMemberCap, "orders": shopify.WarnGuestOrdersCapped}
	if len(warnings) != len(want) {
		t.Fatalf("warnings %v, want %v", warnings, want)
	}
	for k, v := range want {
		if warnings[k] != v {
			t.Errorf("warnings %v, want %v", warnings, want)
		}
	}
}

// A selection that names a segment and a tag lists the tag's customers
// and the segment's members (their union), no guest orders, and only the
// selected segment becomes a group.
func TestPlanBulk_SelectionOfSegmentsAndTags(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 20, Seed: 5})
	defer s.Close()
	s.AddSegment("Alpha", 1, 2, 3)
	s.AddSegment("Beta", 4, 5)
	s.AddOrder(0, shopifytest.GuestCheckout{Email: "g@example.com"})
	for n := 1; n <= 20; n++ {
		s.SetTags(n, nil)
	}
	s.SetTags(12, []string{"Picked"})
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL()},
		source.Options{ConnectionID: "c1", SelectedTags: []string{"Alpha", "Picked"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.CompleteGroups, []string{"Alpha"}) {
		t.Fatalf("complete groups %v", plan.CompleteGroups)
	}
	var ids []string
	for _, r := range fetchAll(t, c, plan) {
		ids = append(ids, r.ExternalID+":"+strings.Join(r.AddGroups, ","))
	}
	slices.Sort(ids)
	want := []string{"7064055069303700001:Alpha", "7064055069303700002:Alpha", "7064055069303700003:Alpha", "7064055069303700012:"}
	if !slices.Equal(ids, want) {
		t.Fatalf("records %v, want %v", ids, want)
	}
}

// Segment webhooks carry ids only: the segment's name (the group) comes
// from the SegmentNamer; a segment the selection leaves out, or one the
// shop no longer has, gives no record.
func TestParseWebhook_SegmentTopics(t *testing.T) {
	body := []byte(`{"shop_id":"gid://shopify/Shop/1","customer_id":"gid://shopify/Customer/2","segment_id":"gid://shopify/Segment/3"}`)
	parse := func(topic string, opts source.Options, names shopify.SegmentNamer) (source.Webhook, error) {
		h := http.Header{}
		h.Set("X-Shopify-Topic", topic)
		return shopify.ParseWebhookWith(context.Background(), h, body, opts, names)
	}
	wh, err := parse("customer.joined_segment", source.Options{}, segmentNamed("VIP"))
	if err != nil || len(wh.Records) != 1 || wh.Records[0].ExternalID != "2" || !slices.Equal(wh.Records[0].AddGroups, []string{"VIP"}) || !wh.Records[0].IsPartial() {
		t.Fatalf("joined: %+v %v", wh.Records, err)
	}
	wh, err = parse("customer.left_segment", source.Options{}, segmentNamed("VIP"))
	if err != nil || len(wh.Records) != 1 || !slices.Equal(wh.Records[0].RemoveGroups, []string{"VIP"}) {
		t.Fatalf("left: %+v %v", wh.Records, err)
	}
	for name, tc := range map[string]struct {
		opts  source.Options
		names shopify.SegmentNamer
	}{
		"not selected": {source.Options{SelectedTags: []string{"Other"}}, segmentNamed("VIP")},
		"gone":         {source.Options{}, segmentNamed("")},
	} {
		if wh, err := parse("customer.joined_segment", tc.opts, tc.names); err != nil || len(wh.Records) != 0 {
			t.Errorf("%s: %+v %v, want no records", name, wh.Records, err)
		}
	}
	if _, err := parse("customer.joined_segment", source.Options{}, nil); err == nil {
		t.Error("a segment topic without a SegmentNamer parsed")
	}
}
