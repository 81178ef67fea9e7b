package fakeapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/contactsync/contactsync/pkg/fakeapi"
)

func serve(t *testing.T, f *fakeapi.Faults) *httptest.Server {
	return serveSignalling(t, f, nil)
}

// serveSignalling sends on arrived (when set) as each accepted request
// reaches the hang check.
func serveSignalling(t *testing.T, f *fakeapi.Faults, arrived chan<- struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Inject(w, func(status int) any { return map[string]int{"status": status} }) {
			return
		}
		if arrived != nil {
			arrived <- struct{}{}
		}
		if f.Hang(r) {
			return
		}
		fakeapi.JSON(w, 200, map[string]bool{"ok": true})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func statusOf(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func TestFaults_NextEveryAndHangup(t *testing.T) {
	var f fakeapi.Faults
	f.FailEvery(3, http.StatusTooManyRequests, "2")
	f.FailNext(2, http.StatusBadGateway)
	srv := serve(t, &f)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	want := []int{502, 502, 429, 200, 200, 429, 200}
	for i, w := range want {
		got, after := statusOf(t, c, srv.URL)
		if got != w || (w == 429) != (after == "2") {
			t.Fatalf("request %d: %d (Retry-After %q), want %d", i+1, got, after, w)
		}
	}
	f.FailNext(1, fakeapi.Hangup)
	if got, _ := statusOf(t, c, srv.URL); got != 0 {
		t.Fatalf("hung-up request answered %d", got)
	}
	if f.Requests() != len(want)+1 {
		t.Fatalf("requests = %d", f.Requests())
	}
}

func TestFaults_LimitAnswers429WithRetryAfter(t *testing.T) {
	var f fakeapi.Faults
	f.Limit(0.0001) // burst 1, the next one in hours
	srv := serve(t, &f)
	if got, _ := statusOf(t, srv.Client(), srv.URL); got != 200 {
		t.Fatalf("first request: %d", got)
	}
	if got, after := statusOf(t, srv.Client(), srv.URL); got != 429 || after != "1" {
		t.Fatalf("past the limit: %d (Retry-After %q)", got, after)
	}
}

func TestFaults_HangUntilTheClientGivesUp(t *testing.T) {
	var f fakeapi.Faults
	f.HangNext(1)
	arrived := make(chan struct{}, 2)
	srv := serveSignalling(t, &f, arrived)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The hang holds until the client gives up: once the request is in,
	// cancel; then the next request is answered.
	<-arrived
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a hung request was answered")
	}
	if got, _ := statusOf(t, srv.Client(), srv.URL); got != 200 {
		t.Fatalf("after the hang: %d", got)
	}
}

func TestBasicAndEqual(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth("k", "s")
	if !fakeapi.Basic(r, "k", "s") || fakeapi.Basic(r, "k", "x") || fakeapi.Equal("a", "b") || !fakeapi.Equal("a", "a") {
		t.Fatal("credential checks wrong")
	}
}

type pingFake struct{ fakeapi.Base }

func (p *pingFake) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fakeapi.JSON(w, http.StatusOK, p.URL()) })
}

// A fake's URL is where Serve started it, or where it was mounted.
func TestBase_ServeAndMount(t *testing.T) {
	t.Parallel()
	f := fakeapi.Serve(&pingFake{})
	t.Cleanup(f.Close)
	resp, err := http.Get(f.URL() + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || f.URL() == "" {
		t.Fatalf("served: %d at %q", resp.StatusCode, f.URL())
	}
	var m pingFake
	m.Mount("http://hub.test/_fakes/x")
	if m.URL() != "http://hub.test/_fakes/x" {
		t.Fatalf("mounted at %q", m.URL())
	}
	m.Close() // not started: nothing to stop
}
