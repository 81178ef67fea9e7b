package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
)

// script serves the answers in order (the last one again when they run
// out) and counts the requests.
type script struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	n     int
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	step := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.mu.Unlock()
	step(w, r)
}

func (s *script) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"code":"c%d","message":"body text SECRET-%d"}`, code, code)
	}
}

// hangUp reads the request and closes the connection without answering.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// sleeps records the waits asked for and waits for none.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, steps ...func(http.ResponseWriter, *http.Request)) (*httpx.Client, *script, *sleeps, string) {
	t.Helper()
	sc := &script{steps: steps}
	srv := httptest.NewServer(sc)
	t.Cleanup(srv.Close)
	sl := &sleeps{}
	c := &httpx.Client{HTTP: srv.Client(), Platform: "acme", Sleep: sl.sleep, Now: func() time.Time { return now },
		Jitter: func(int64) int64 { return 0 }}
	return c, sc, sl, srv.URL
}

func get(u string) httpx.Request {
	return httpx.Request{
		New: func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, u+"/x?key=KEY-IN-QUERY", nil)
		},
		Decode: func(body []byte) (string, string) {
			var code, msg string
			if _, err := fmt.Sscanf(string(body), `{"code":%q,"message":%q}`, &code, &msg); err != nil {
				s := string(body)
				return "", s
			}
			return code, msg
		},
	}
}

func TestDo_RetryAfterSecondsAndHTTPDateHonouredAndCapped(t *testing.T) {
	for _, tc := range []struct {
		name, after string
		maxWait     time.Duration
		want        time.Duration
	}{
		{"seconds", "7", 0, 7 * time.Second},
		{"fraction", "0.5", 0, 500 * time.Millisecond},
		{"HTTP date", now.Add(30 * time.Second).Format(http.TimeFormat), 0, 30 * time.Second},
		{"seconds over the cap", "3600", 0, safehttp.MaxRetryAfter},
		{"HTTP date over the cap", now.Add(2 * time.Hour).Format(http.TimeFormat), 0, safehttp.MaxRetryAfter},
		{"lowered cap", "30", 2 * time.Second, 2 * time.Second},
		{"date in the past: backoff only", now.Add(-time.Hour).Format(http.TimeFormat), 0, 100 * time.Millisecond},
		{"unreadable: backoff only", "soon", 0, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sc, sl, u := setup(t, status(429, "Retry-After", tc.after), status(200))
			c.MaxWait = tc.maxWait
			resp, err := c.Do(context.Background(), get(u))
			if err != nil || resp.Status != 200 || sc.requests() != 2 {
				t.Fatalf("Do = %v, %v after %d requests", resp, err, sc.requests())
			}
			if len(sl.d) != 1 || sl.d[0] != tc.want {
				t.Fatalf("waits %v, want [%v]", sl.d, tc.want)
			}
		})
	}
}

func TestDo_BackoffIsJitteredExponentialWithinBounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter func(int64) int64
		want   []time.Duration
	}{
		// attempt n waits in [d/2, d] with d = min(100ms<<n, 1s)
		{"lowest draw", func(int64) int64 { return 0 }, []time.Duration{100, 200, 400, 500, 500}},
		{"highest draw", func(n int64) int64 { return n - 1 }, []time.Duration{200, 400, 800, 1000, 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sc, sl, u := setup(t, status(503))
			c.Attempts, c.MaxDelay, c.Jitter = 6, time.Second, tc.jitter
			_, err := c.Do(context.Background(), get(u))
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != 503 || he.Attempts != 6 || sc.requests() != 6 || he.Permanent() {
				t.Fatalf("Do = %v after %d requests, want a temporary 503 after 6", err, sc.requests())
			}
			for i, w := range tc.want {
				if sl.d[i] != w*time.Millisecond {
					t.Fatalf("waits %v, want %v ms", sl.d, tc.want)
				}
			}
		})
	}
	// The default draw stays within the bounds.
	c, _, sl, u := setup(t, status(500))
	c.Jitter, c.Attempts = nil, 8
	_, _ = c.Do(context.Background(), get(u))
	for i, d := range sl.d {
		hi := min(httpx.DefaultBaseDelay<<(i+1), httpx.DefaultMaxDelay)
		if d < hi/2 || d > hi {
			t.Errorf("wait %d = %v, outside [%v, %v]", i+1, d, hi/2, hi)
		}
	}
}

// A context cancelled while the client waits ends the call at once with
// the context's error.
func TestDo_ContextCancelledDuringAWait(t *testing.T) {
	c, sc, _, u := setup(t, status(429, "Retry-After", "50"))
	waiting := make(chan struct{})
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		close(waiting)
		return httpx.Sleep(ctx, d) // the real sleep: only the cancel ends it
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Do(ctx, get(u)); done <- err }()
	<-waiting
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || sc.requests() != 1 {
		t.Fatalf("Do = %v after %d requests, want context.Canceled after 1", err, sc.requests())
	}
}

// A deadline that comes before the end of the wait ends the call with the
// last answer's error, without sleeping.
func TestDo_NoWaitPastTheDeadline(t *testing.T) {
	c, sc, sl, u := setup(t, status(503, "Retry-After", "30"))
	c.Now = time.Now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Do(ctx, get(u))
	if httpx.StatusOf(err) != 503 || sc.requests() != 1 || len(sl.d) != 0 {
		t.Fatalf("Do = %v after %d requests and waits %v", err, sc.requests(), sl.d)
	}
}

func TestError_NeverCarriesTheBody(t *testing.T) {
	c, _, _, u := setup(t, status(422))
	_, err := c.Do(context.Background(), get(u))
	var he *httpx.Error
	if !errors.As(err, &he) || he.Code != "c422" || !strings.Contains(he.Reason, "SECRET-422") {
		t.Fatalf("Do = %#v", err)
	}
	if s := err.Error(); s != "acme: HTTP 422 c422" {
		t.Fatalf("Error() = %q", s)
	}
	// A code is shown only as letters, digits and _ . -; notes are ours.
	he.Code, he.Note = `<b>bad</b> "x"`, "check the key"
	if s := he.Error(); s != "acme: HTTP 422 bbadbx: check the key" {
		t.Fatalf("Error() = %q", s)
	}
	// Transport errors lose the URL (its query may hold keys).
	c, _, _, u = setup(t, hangUp)
	c.Attempts = 2
	_, err = c.Do(context.Background(), get(u))
	if !errors.As(err, &he) || he.Status != 0 || he.Attempts != 2 || strings.Contains(err.Error(), "KEY-IN-QUERY") || he.Permanent() {
		t.Fatalf("Do = %v", err)
	}
}

func TestError_Permanent(t *testing.T) {
	for status, want := range map[int]bool{0: false, 301: true, 400: true, 401: true, 404: true, 422: true, 429: false, 500: false, 503: false} {
		if got := (&httpx.Error{Status: status}).Permanent(); got != want {
			t.Errorf("%d: Permanent() = %v", status, got)
		}
	}
	if !(&httpx.Error{Status: 200, Err: safehttp.ErrBodyTooLarge}).Permanent() {
		t.Error("an answer over the cap is not permanent")
	}
	if !httpx.IsPermanent(fmt.Errorf("x: %w", &httpx.Error{Status: 400})) || httpx.IsPermanent(errors.New("x")) {
		t.Error("IsPermanent does not read the chain")
	}
}

func TestDo_PermanentAnswersAndOverlongBodiesAreNotRepeated(t *testing.T) {
	c, sc, _, u := setup(t, status(400))
	if _, err := c.Do(context.Background(), get(u)); httpx.StatusOf(err) != 400 || sc.requests() != 1 {
		t.Fatalf("Do = %v after %d requests", err, sc.requests())
	}
	c, sc, _, u = setup(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(strings.Repeat("x", 100))) })
	c.MaxBody = 10
	if _, err := c.Do(context.Background(), get(u)); !errors.Is(err, safehttp.ErrBodyTooLarge) || !httpx.IsPermanent(err) || sc.requests() != 1 {
		t.Fatalf("Do = %v after %d requests", err, sc.requests())
	}
}

func TestDo_WaitAndUnspentHooks(t *testing.T) {
	c, _, _, u := setup(t, hangUp, status(429), status(200))
	r := get(u)
	var waits int
	var unspent []int
	r.Wait = func(context.Context) error { waits++; return nil }
	r.Unspent = func(s int) { unspent = append(unspent, s) }
	if _, err := c.Do(context.Background(), r); err != nil || waits != 3 || fmt.Sprint(unspent) != "[0 429]" {
		t.Fatalf("Do = %v, %d waits, unspent %v", err, waits, unspent)
	}
}

// Once: a request that may have been accepted is never repeated.
func TestDo_OnceRepeatsOnlyWhatWasProvablyNotTaken(t *testing.T) {
	post := func(u string) httpx.Request {
		r := get(u)
		r.Once = true
		r.New = func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader("to=+61400000000"))
		}
		return r
	}
	for _, tc := range []struct {
		name     string
		steps    []func(http.ResponseWriter, *http.Request)
		unknown  bool
		requests int
	}{
		{"429 and 503 are repeated", []func(http.ResponseWriter, *http.Request){status(429), status(503), status(201)}, false, 3},
		{"500 is unknown", []func(http.ResponseWriter, *http.Request){status(500), status(201)}, true, 1},
		{"written, no answer: unknown", []func(http.ResponseWriter, *http.Request){hangUp, status(201)}, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sc, _, u := setup(t, tc.steps...)
			_, err := c.Do(context.Background(), post(u))
			if errors.Is(err, httpx.ErrUnknownOutcome) != tc.unknown || sc.requests() != tc.requests || (!tc.unknown && err != nil) {
				t.Fatalf("Do = %v after %d requests", err, sc.requests())
			}
			if tc.unknown && httpx.IsPermanent(err) {
				t.Fatalf("unknown outcome %v is permanent", err)
			}
		})
	}
	// Never written (nothing listens): repeated.
	c, _, _, u := setup(t, status(200))
	srvURL := u
	c.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("refused")
	}}}
	c.Attempts = 3
	_, err := c.Do(context.Background(), post(srvURL))
	var he *httpx.Error
	if !errors.As(err, &he) || he.Attempts != 3 || errors.Is(err, httpx.ErrUnknownOutcome) {
		t.Fatalf("Do = %v", err)
	}
}

func TestFields(t *testing.T) {
	d := httpx.Fields("code", "message")
	for body, want := range map[string][2]string{
		`{"code":21610,"message":"Attempt to send"}`: {"21610", "Attempt to send"},
		`{"code":"rest_invalid","message":"bad"}`:    {"rest_invalid", "bad"},
		`{"code":{"x":1},"message":["a"]}`:           {"", ""},
		`{"code":null}`:                              {"", ""},
		`<html>oops</html>`:                          {"", ""},
		``:                                           {"", ""},
	} {
		if c, m := d([]byte(body)); c != want[0] || m != want[1] {
			t.Errorf("%s: %q %q, want %q", body, c, m, want)
		}
	}
}
