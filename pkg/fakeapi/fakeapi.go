// Package fakeapi is the small server base the fakes of platforms and SMS
// providers share (shopifytest, woocommercetest, mailchimptest,
// klaviyotest, twiliotest, sinchtest, messagemediatest): fault injection —
// the next N requests answer a status or lose their connection, every Nth
// answers a status, accepted requests that are never answered — a host
// rate limit answered 429 with Retry-After, the credential checks, JSON
// answers, and the platforms' webhook deliveries retried until they give
// a webhook up (Outbox), and the fake's URL, started (Serve, a fake's
// NewServer) or mounted elsewhere (Mount). Each fake keeps its platform's
// paths, error bodies, documented options and limits (Mailchimp's
// connection cap, Klaviyo's rate windows); the base only decides when a
// request fails.
package fakeapi

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"

	"golang.org/x/time/rate"
)

// Hangup, as a fault's status, closes the connection without an answer.
const Hangup = -1

// Faults decides which requests of a fake fail. The zero value injects
// nothing; it is safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	requests int
	next     []int // statuses of the next requests
	hang     int
	every    []rule
	limiter  *rate.Limiter
}

type rule struct {
	n, status  int
	retryAfter string
}

// FailNext makes the next n requests answer status (Hangup: the
// connection closes), replacing what was queued.
func (f *Faults) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = f.next[:0]
	for range n {
		f.next = append(f.next, status)
	}
}

// FailEvery makes every nth request (counted by Inject) answer status,
// with a Retry-After header when retryAfter is set. Rules added first
// win when several fall on one request; n <= 0 adds none.
func (f *Faults) FailEvery(n, status int, retryAfter string) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.every = append(f.every, rule{n, status, retryAfter})
}

// Limit answers requests over rps per second (burst rps) 429 with
// Retry-After: 1, as a host's rate limit does; rps <= 0 is none.
func (f *Faults) Limit(rps float64) {
	if rps > 0 {
		f.limiter = rate.NewLimiter(rate.Limit(rps), max(1, int(rps)))
	}
}

// HangNext makes the next n requests that ask Hang go unanswered.
func (f *Faults) HangNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang = n
}

// Requests is how many requests Inject saw, failed ones included.
func (f *Faults) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Inject counts a request and, when a failure is due, answers it with
// body(status) as JSON (or closes the connection) and reports true.
func (f *Faults) Inject(w http.ResponseWriter, body func(status int) any) bool {
	f.mu.Lock()
	f.requests++
	status, retryAfter := 0, ""
	if len(f.next) > 0 {
		status, f.next = f.next[0], f.next[1:]
	}
	for _, r := range f.every {
		if status == 0 && f.requests%r.n == 0 {
			status, retryAfter = r.status, r.retryAfter
		}
	}
	f.mu.Unlock()
	if status == 0 && f.limiter != nil && !f.limiter.Allow() {
		status, retryAfter = http.StatusTooManyRequests, "1"
	}
	switch status {
	case 0:
		return false
	case Hangup:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	JSON(w, status, body(status))
	return true
}

// Hang reports whether this request, already accepted, is to go
// unanswered (HangNext); if so it returns only when the client gives up or
// the server closes — a provider that took the request and whose answer
// was lost. Call it holding no lock.
func (f *Faults) Hang(r *http.Request) bool {
	f.mu.Lock()
	hang := f.hang > 0
	if hang {
		f.hang--
	}
	f.mu.Unlock()
	if hang {
		<-r.Context().Done()
	}
	return hang
}

// JSON answers v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Basic reports whether r carries HTTP Basic credentials user:pass
// (constant time).
func Basic(r *http.Request, user, pass string) bool {
	u, p, ok := r.BasicAuth()
	return ok && Equal(u, user) && Equal(p, pass)
}

// Equal compares a credential in constant time.
func Equal(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Base is what a fake's Server embeds: its Faults (FailNext, HangNext,
// Requests...) and the server Start starts.
type Base struct {
	Faults
	srv *httptest.Server
	url string
}

// Start serves h on a loopback port (URL is then its address).
func (b *Base) Start(h http.Handler) {
	b.srv = httptest.NewServer(h)
	b.url = b.srv.URL
}

// Mount records the URL of a fake mounted elsewhere (not started).
func (b *Base) Mount(url string) { b.url = url }

// URL is the fake's base URL: the started server's, or where it is
// mounted.
func (b *Base) URL() string { return b.url }

// Serve starts f's Handler on a loopback port and returns f: a fake's
// NewServer.
func Serve[F interface {
	Start(h http.Handler)
	Handler() http.Handler
}](f F) F {
	f.Start(f.Handler())
	return f
}

// Close stops a started server (a fake mounted elsewhere has none).
func (b *Base) Close() {
	if b.srv != nil {
		b.srv.Close()
	}
}
