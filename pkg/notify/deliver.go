package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/contactsync/contactsync/pkg/safehttp"
)

// Delivery limits.
const (
	// MaxAttempts is how many times one event is tried before it fails.
	MaxAttempts = 8
	// Timeout bounds one attempt (the spec recommends 15-30 s).
	Timeout = 15 * time.Second
	// MaxAnswer is how much of the receiver's answer is read (the rest is
	// not: the connection is dropped).
	MaxAnswer = 64 << 10
	// MaxRetryAfter caps a receiver's Retry-After.
	MaxRetryAfter = 6 * time.Hour
)

// backoff is the wait after attempt n (1-based): exponential-like, 8
// attempts over about 24 hours.
var backoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 14 * time.Hour}

// Backoff is the wait after the attempt-th failed attempt.
func Backoff(attempt int) time.Duration {
	return backoff[min(max(attempt, 1), len(backoff))-1]
}

// Result is one attempt's outcome.
type Result struct {
	// StatusCode is the receiver's answer (0: none, see Err).
	StatusCode int
	// Delivered: a 2xx.
	Delivered bool
	// Retry: worth another attempt (429, 408, 5xx, time-out, network).
	Retry bool
	// RetryAfter is the wait the receiver asked for (0: none).
	RetryAfter time.Duration
	// Err says what went wrong, fit for the delivery log (no secret, no
	// response body).
	Err string
}

// Post makes one delivery attempt of the event id with body to url, signed
// with secret at the time now. hc must be a safehttp client.
func Post(ctx context.Context, hc *http.Client, url, secret, id string, body []byte, now time.Time) Result {
	ts := now.Unix()
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		return Result{Err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: "invalid notification URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "contactsync-notifications/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := hc.Do(req)
	if err != nil {
		return Result{Retry: !errors.Is(err, safehttp.ErrForbiddenAddress) && !errors.Is(err, safehttp.ErrInsecureScheme), Err: attemptError(err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxAnswer)) // let the connection be reused; never more
	r := Result{StatusCode: resp.StatusCode}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		r.Delivered = true
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c >= 500:
		r.Retry = true
		r.RetryAfter = safehttp.RetryAfter(resp.Header, now, MaxRetryAfter)
		r.Err = fmt.Sprintf("receiver answered %d", c)
	default:
		r.Err = fmt.Sprintf("receiver answered %d", c) // 3xx (never followed), 4xx, 410
	}
	return r
}

// attemptError names a failed exchange without echoing anything the
// receiver sent.
func attemptError(err error) string {
	switch {
	case errors.Is(err, safehttp.ErrForbiddenAddress):
		return "the URL resolves to an address notifications may not reach"
	case errors.Is(err, safehttp.ErrInsecureScheme):
		return "the URL is not https"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return "connection failed"
}
