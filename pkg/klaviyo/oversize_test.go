package klaviyo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// An answer over the client's cap is asked for once: the sync fails at
// once with a permanent error (asking again gets the same answer).
func TestOversizedAnswerIsPermanentAndNotRetried(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(64<<20))
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := klaviyo.New(klaviyo.Config{PrivateAPIKey: "pk", APIBaseURL: srv.URL}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.PlanBulk(context.Background())
	if err == nil {
		_, err = c.FetchPage(context.Background(), plan.Fanout[0])
	}
	if !errors.Is(err, safehttp.ErrBodyTooLarge) || !klaviyo.Permanent(err) {
		t.Fatalf("err = %v (permanent %v), want a permanent ErrBodyTooLarge", err, klaviyo.Permanent(err))
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
