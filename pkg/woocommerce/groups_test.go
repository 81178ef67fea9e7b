package woocommerce_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// Tag meta values as tagging plugins store them reach the record's
// complete group set, after the role when it is not "customer".
func TestGroups_RoleAndEveryShapeOfTheMetaValue(t *testing.T) {
	long, _ := json.Marshal(strings.Repeat("x,", 10_000))
	for _, tc := range []struct {
		name  string
		role  string
		value string // raw JSON of the meta value
		want  []string
	}{
		{"comma string", "customer", `"VIP, Gold ,, vip"`, []string{"VIP", "Gold"}},
		{"JSON array", "wholesale_customer", `["VIP","Gold"]`, []string{"wholesale_customer", "VIP", "Gold"}},
		{"array of terms", "customer", `[{"term_id":3,"name":"VIP","slug":"vip"},{"slug":"gold"}]`, []string{"VIP", "gold"}},
		{"PHP array with gaps", "customer", `{"0":"VIP","2":"Gold","10":"Last"}`, []string{"VIP", "Gold", "Last"}},
		{"serialized list", "customer", `"a:2:{i:0;s:3:\"VIP\";i:1;s:9:\"Wholesale\";}"`, []string{"VIP", "Wholesale"}},
		{"serialized, bad length", "customer", `"a:2:{i:0;s:9:\"VIP\";i:1;s:4:\"Gold\";}"`, nil},
		{"JSON in a string", "customer", `"[\"VIP\",\"Gold\"]"`, []string{"VIP", "Gold"}},
		{"numbers", "customer", `[12, 7]`, []string{"12", "7"}},
		{"nested arrays are not names", "customer", `[["a"],["b"]]`, nil},
		{"no role, no value", "", `null`, nil},
		{"too long a value is not read", "subscriber", string(long), []string{"subscriber"}},
	} {
		body, _ := json.Marshal(map[string]any{"id": 5, "email": "a@example.com", "username": "a", "role": tc.role,
			"meta_data": []map[string]any{{"id": 1, "key": "tags", "value": json.RawMessage(tc.value)}}})
		h := http.Header{}
		h.Set(woocommerce.HeaderTopic, "customer.updated")
		wh, err := woocommerce.ParseWebhookKeys(h, body, source.Options{ConnectionID: "c"}, woocommerce.Keys{Groups: "tags"})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := wh.Records[0]
		if !r.HasGroups || !slices.Equal(r.Groups, tc.want) {
			t.Errorf("%s: groups %q (complete %v), want %q", tc.name, r.Groups, r.HasGroups, tc.want)
		}
	}
}

// Without a groups meta key only the role counts; ParseWebhookKeys keeps its
// meaning.
func TestGroups_MetaIgnoredWithoutTheKey(t *testing.T) {
	body := []byte(`{"id":5,"email":"a@example.com","username":"a","role":"customer","meta_data":[{"id":1,"key":"tags","value":"VIP"}]}`)
	h := http.Header{}
	h.Set(woocommerce.HeaderTopic, "customer.updated")
	wh, err := woocommerce.ParseWebhookKeys(h, body, source.Options{}, woocommerce.Keys{})
	if err != nil || len(wh.Records[0].Groups) != 0 || !wh.Records[0].HasGroups {
		t.Fatalf("records %+v (%v), want a complete, empty group set", wh.Records, err)
	}
}

// Any groups meta value gives a bounded group list and never a panic.
func FuzzGroupsMetaValue(f *testing.F) {
	for _, seed := range []string{`"a,b"`, `["x",{"name":"y"}]`, `"a:2:{i:0;s:3:\"VIP\";i:1;s:4:\"Gold\";}"`, `"a:1:{i;s:1:\"x\";}"`, `{"3":"c","1":"a"}`, `"[\"a\"]"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !json.Valid([]byte(value)) {
			return
		}
		body, _ := json.Marshal(map[string]any{"id": 5, "email": "a@example.com", "username": "a", "role": "customer",
			"meta_data": []map[string]any{{"id": 1, "key": "tags", "value": json.RawMessage(value)}}})
		h := http.Header{}
		h.Set(woocommerce.HeaderTopic, "customer.updated")
		wh, err := woocommerce.ParseWebhookKeys(h, body, source.Options{}, woocommerce.Keys{Groups: "tags"})
		if err != nil {
			return // a body the shape check refuses
		}
		if n := len(wh.Records[0].Groups); n > source.MaxGroups {
			t.Fatalf("%d groups", n)
		}
	})
}
