package httpx

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"time"

	"github.com/contactsync/contactsync/pkg/safehttp"
)

// Defaults of a Client's zero fields.
const (
	DefaultAttempts  = 4
	DefaultMaxBody   = 1 << 20
	DefaultBaseDelay = 100 * time.Millisecond
	DefaultMaxDelay  = 10 * time.Second
)

// Client runs Requests to one platform. Its zero fields take the defaults
// above; it is safe for concurrent use when its funcs are.
type Client struct {
	HTTP     *http.Client // http.DefaultClient when nil
	Platform string       // names the platform in errors
	Attempts int          // attempts per call
	MaxBody  int64        // the largest answer read
	// BaseDelay and MaxDelay bound the backoff: attempt n waits between
	// half and all of min(BaseDelay<<n, MaxDelay).
	BaseDelay, MaxDelay time.Duration
	// MaxWait caps a Retry-After (safehttp.MaxRetryAfter when 0).
	MaxWait time.Duration
	// Sleep waits d or until ctx ends (Sleep when nil); tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for HTTP-date Retry-After and deadlines (time.Now).
	Now func() time.Time
	// Jitter draws in [0, n) (rand.Int64N when nil).
	Jitter func(n int64) int64
}

// Request is one call, built afresh for each attempt.
type Request struct {
	// New builds the request with the attempt's ctx.
	New func(ctx context.Context) (*http.Request, error)
	// Once: the request must not be accepted twice (see the package doc).
	Once bool
	// Attempts overrides the Client's (1: no retry, e.g. a credential
	// check that reports what it saw).
	Attempts int
	// MaxBody overrides the Client's cap on the answer.
	MaxBody int64
	// Decode reads the platform's code and message out of an error
	// answer's body (nil: none).
	Decode func(body []byte) (code, reason string)
	// Wait, when set, runs before each attempt (a rate limiter, a cost
	// bucket); its error ends the call.
	Wait func(ctx context.Context) error
	// Unspent, when set, runs after each attempt that did not end in a
	// 2xx answer read in full (status 0: no answer), e.g. to give a cost
	// bucket its points back or slow a limiter down.
	Unspent func(status int)
}

// Response is a 2xx answer read in full (Body nil when a Once request was
// accepted and only its answer was lost).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Sleep waits d, or until ctx is done (its error).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do runs r: a 2xx answer, or an error — ctx's own when it ended, an
// *Error otherwise (an error building the request, or of r.Wait, is
// returned as it is).
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	attempts := cmp.Or(r.Attempts, c.Attempts, DefaultAttempts)
	var last *Error
	for attempt := 1; ; attempt++ {
		resp, fail, err := c.attempt(ctx, r)
		if err != nil || fail == nil {
			return resp, err
		}
		fail.Attempts = attempt
		if fail.Status != 0 && r.Unspent != nil {
			r.Unspent(fail.Status)
		}
		if !fail.retry || attempt >= attempts {
			return nil, &fail.Error
		}
		last = &fail.Error
		if err := c.Pause(ctx, attempt, fail.after); errors.Is(err, ErrPastDeadline) {
			return nil, last // no time left for another attempt
		} else if err != nil {
			return nil, err
		}
	}
}

// ErrPastDeadline: the context's deadline comes before the end of the wait.
var ErrPastDeadline = errors.New("httpx: the deadline comes before the next attempt")

// Pause waits before attempt+1 of a caller's own loop (a streamed
// download): the jittered backoff, or after (a capped Retry-After) if
// longer. It is ErrPastDeadline at once when ctx's deadline comes first,
// ctx's error when ctx ends during the wait.
func (c *Client) Pause(ctx context.Context, attempt int, after time.Duration) error {
	wait := c.backoff(attempt, after)
	if dl, ok := ctx.Deadline(); ok && dl.Sub(c.now()) < wait {
		return ErrPastDeadline
	}
	return c.sleep(ctx, wait)
}

// RetryAfter is h's Retry-After, capped at MaxWait.
func (c *Client) RetryAfter(h http.Header) time.Duration {
	return safehttp.RetryAfter(h, c.now(), c.MaxWait)
}

// failure is an attempt's Error and what to do next.
type failure struct {
	Error
	retry bool
	after time.Duration // the answer's Retry-After
}

// attempt makes one attempt: a Response, or a failure, or an error that
// ends the call (ctx, building the request).
func (c *Client) attempt(ctx context.Context, r Request) (*Response, *failure, error) {
	if r.Wait != nil {
		if err := r.Wait(ctx); err != nil {
			return nil, nil, err
		}
	}
	wrote := false
	actx := ctx
	if r.Once {
		actx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote = wrote || i.Err == nil }})
	}
	req, err := r.New(actx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := cmp.Or(c.HTTP, http.DefaultClient).Do(req)
	if err != nil {
		if r.Unspent != nil {
			r.Unspent(0)
		}
		if ctx.Err() != nil && !(r.Once && wrote) {
			return nil, nil, ctx.Err()
		}
		f := &failure{Error: Error{Platform: c.Platform, Err: transportErr(err)}, retry: true}
		if r.Once && wrote {
			f.Err, f.retry = fmt.Errorf("%w: %w", ErrUnknownOutcome, f.Err), false
		}
		return nil, f, nil
	}
	defer resp.Body.Close()
	body, rerr := safehttp.ReadResponse(resp, cmp.Or(r.MaxBody, c.MaxBody, DefaultMaxBody))
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	f := &failure{Error: Error{Platform: c.Platform, Status: resp.StatusCode}}
	switch {
	case ok && rerr == nil:
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil, nil
	case ok && r.Once:
		return &Response{Status: resp.StatusCode, Header: resp.Header}, nil, nil // accepted; only the answer was lost
	case errors.Is(rerr, safehttp.ErrBodyTooLarge):
		f.Err = rerr // the host's answer, not a glitch: asking again gets it again
		return nil, f, nil
	case rerr != nil:
		f.Err, f.retry = transportErr(rerr), !r.Once
		return nil, f, nil
	}
	if r.Decode != nil {
		f.Code, f.Reason = r.Decode(body)
	}
	s := resp.StatusCode
	switch {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		f.retry = true
	case s >= 500 && r.Once:
		f.Err = ErrUnknownOutcome
	case s >= 500:
		f.retry = true
	}
	if f.retry {
		f.after = c.RetryAfter(resp.Header)
	}
	return nil, f, nil
}

// backoff is the wait before attempt+1: jittered exponential, at least
// the Retry-After the answer asked for (already capped).
func (c *Client) backoff(attempt int, after time.Duration) time.Duration {
	d := min(cmp.Or(c.BaseDelay, DefaultBaseDelay)<<min(attempt, 30), cmp.Or(c.MaxDelay, DefaultMaxDelay))
	jitter := c.Jitter
	if jitter == nil {
		jitter = rand.Int64N
	}
	d = d/2 + time.Duration(jitter(int64(d/2)+1))
	return max(d, after)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// transportErr drops the URL from a transport error: it may name a
// recipient, or hold keys in its query.
func transportErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Build returns a Request.New for method and url with body (nil: none) of
// contentType, headers set by auth (credentials, Accept; nil: none).
func Build(method, url string, body []byte, contentType string, auth func(*http.Request)) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, rd)
		if err != nil {
			return nil, transportErr(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", contentType)
		}
		if auth != nil {
			auth(req)
		}
		return req, nil
	}
}
