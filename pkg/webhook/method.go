package webhook

import (
	"net/http"

	"github.com/contactsync/contactsync/pkg/apigw"
)

// notPost answers a request that is not a POST, the same way for every
// webhook URL, known connection or not: GET and HEAD get 200 (Mailchimp
// validates a new webhook URL with a GET and wants 200), other methods 405.
func notPost(method string) (apigw.Response, bool) {
	switch method {
	case http.MethodPost:
		return apigw.Response{}, false
	case http.MethodGet, http.MethodHead:
		return apigw.Text(http.StatusOK, "text/plain", "ok"), true
	}
	resp := apigw.Error(http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
	resp.Headers["Allow"] = "POST"
	return resp, true
}
