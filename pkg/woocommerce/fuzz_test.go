package woocommerce_test

import (
	"net/http"
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

func FuzzParseWebhook(f *testing.F) {
	f.Add("customer.created", []byte(`{"id":25,"email":"a@b.co","billing":{"phone":"(555) 555-5555","country":"US"}}`))
	f.Add("order.created", []byte(`{"id":727,"customer_id":0,"billing":{"email":"x@y.z"}}`))
	f.Add("customer.deleted", []byte(`{"id":1}`))
	f.Add("", []byte("webhook_id=1"))
	f.Add("customer.updated", []byte(`{"id":1,"date_modified_gmt":"2017-13-99T99:99:99","meta_data":[{"key":"k","value":{"a":[1]}}]}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		h := http.Header{}
		if topic != "" {
			h.Set(woocommerce.HeaderTopic, topic)
		}
		wh, err := woocommerce.ParseWebhookKeys(h, body, source.Options{ConnectionID: "c"}, woocommerce.Keys{Consent: "sms"})
		if err != nil {
			return
		}
		for _, r := range wh.Records {
			if r.ExternalID == "" {
				t.Fatalf("record without external id from %q", body)
			}
		}
	})
}
