package woocommercetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DenyAuth makes the store's /wc-auth/v1/authorize page refuse (the
// merchant clicks Deny) while on.
func (s *Server) DenyAuth(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyAuth = on
}

// AuthDeliveries is how many key deliveries the store POSTed (each with
// the status our callback answered).
func (s *Server) AuthDeliveries() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.authDeliveries...)
}

// wcAuth is WooCommerce's app authentication endpoint: the merchant
// (logged in, approving at once here) grants a key; the store POSTs it as
// JSON to callback_url and, if that answered 200, redirects the browser
// to return_url with success=1 and user_id. The key it grants is the
// store's own (Options.ConsumerKey/Secret), so the API accepts it.
func (s *Server) wcAuth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, k := range []string{"app_name", "scope", "user_id", "return_url", "callback_url"} {
		if q.Get(k) == "" {
			http.Error(w, "Missing parameter "+k, http.StatusUnauthorized)
			return
		}
	}
	scope := q.Get("scope")
	if scope != "read" && scope != "write" && scope != "read_write" {
		http.Error(w, "Invalid scope "+scope, http.StatusUnauthorized)
		return
	}
	ret, err := url.Parse(q.Get("return_url"))
	if err != nil {
		http.Error(w, "Invalid return_url", http.StatusUnauthorized)
		return
	}
	back := ret.Query()
	back.Set("user_id", q.Get("user_id"))
	s.mu.Lock()
	deny := s.denyAuth
	s.mu.Unlock()
	if deny {
		back.Set("success", "0")
		ret.RawQuery = back.Encode()
		http.Redirect(w, r, ret.String(), http.StatusFound)
		return
	}
	body, _ := json.Marshal(map[string]any{"key_id": 1, "user_id": q.Get("user_id"), "consumer_key": s.opts.ConsumerKey,
		"consumer_secret": s.opts.ConsumerSecret, "key_permissions": scope})
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, q.Get("callback_url"), bytes.NewReader(body))
	if err != nil {
		http.Error(w, "Invalid callback_url", http.StatusUnauthorized)
		return
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
		resp.Body.Close()
	}
	s.mu.Lock()
	s.authDeliveries = append(s.authDeliveries, status)
	s.mu.Unlock()
	if status != http.StatusOK {
		// WooCommerce deletes the key and shows an error.
		http.Error(w, "An error occurred in the request and at the time were unable to send the consumer data", http.StatusUnauthorized)
		return
	}
	back.Set("success", "1")
	ret.RawQuery = back.Encode()
	http.Redirect(w, r, ret.String(), http.StatusFound)
}

func isAuthPath(p string) bool { return strings.HasPrefix(p, "/wc-auth/v1/authorize") }
