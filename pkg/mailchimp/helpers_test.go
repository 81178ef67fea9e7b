package mailchimp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
)

func newHook(f func(body []byte, token string) int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(f(b, r.URL.Query().Get("token")))
	}))
}
