package webhook_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/store"
)

// A request that is not a POST learns nothing about which connections
// exist: a known connection, an unknown one of the same tenant, a malformed
// id and another platform all answer alike (status, body, Allow). It used to
// be 200 for a known connection and 404 for an unknown one.
func TestWebhook_NonPostAnswersAlikeForKnownAndUnknownConnections(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	base := r.url[:strings.Index(r.url, "/webhooks/")]
	urls := map[string]string{
		"known":          r.url,
		"unknown id":     base + "/webhooks/woocommerce/" + store.NewConnectionID(r.tenant),
		"malformed id":   base + "/webhooks/woocommerce/nope",
		"other platform": strings.Replace(r.url, "/woocommerce/", "/shopify/", 1),
		"no platform":    base + "/webhooks/nosuch/" + store.NewConnectionID(r.tenant),
	}
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		type answer struct {
			status      int
			body, allow string
		}
		got := map[string]answer{}
		for name, u := range urls {
			req, err := http.NewRequest(method, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[name] = answer{resp.StatusCode, string(b), resp.Header.Get("Allow")}
		}
		for name, a := range got {
			if a != got["known"] {
				t.Errorf("%s on %s: %+v; on the known connection: %+v", method, name, a, got["known"])
			}
		}
		if want := map[string]int{http.MethodGet: 200, http.MethodHead: 200}[method]; want != 0 && got["known"].status != want {
			t.Errorf("%s: %d, want %d (Mailchimp validates a URL with GET)", method, got["known"].status, want)
		}
	}
}
