package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"time"
)

// ErrUnknownOutcome: a send may have reached the provider — the request was
// written and no answer came (a time-out, a dropped connection), or the
// provider answered with a 5xx that does not say the message was refused.
// Such a send is never retried: the outbox records it as unknown and asks
// the provider (Finder) whether it has the message.
var ErrUnknownOutcome = errors.New("sms: send outcome unknown")

// Finder is a sender whose provider can look sent messages up.
type Finder interface {
	// Find reports the provider's id of message m if the provider accepted
	// it at or after since (found false when it has no such message).
	Find(ctx context.Context, m Message, since time.Time) (id string, found bool, err error)
}

// MaxSendAttempts bounds the attempts of one send (only attempts the
// provider provably did not accept are repeated).
const MaxSendAttempts = 4

// Exchange is one provider call's HTTP answer.
type Exchange struct {
	Status int
	Body   []byte
}

// PostOnce performs a send request so that a message is accepted at most
// once: it repeats the request only when the provider provably did not
// take it — the connection failed before the request was written, or the
// provider answered 429 or 503 (both providers' documented "not processed,
// try later") — with backoff inside ctx's deadline. Any other answer is
// returned for the caller to read; a request that was written and got no
// answer, or a 5xx other than 503, is ErrUnknownOutcome. newReq builds a
// fresh request each attempt. name prefixes errors ("twilio").
func PostOnce(ctx context.Context, hc *http.Client, name string, newReq func(context.Context) (*http.Request, error)) (Exchange, error) {
	var last Exchange
	var lastErr error
	for attempt := 1; attempt <= MaxSendAttempts; attempt++ {
		wrote := false
		trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote = wrote || i.Err == nil }}
		req, err := newReq(httptrace.WithClientTrace(ctx, trace))
		if err != nil {
			return Exchange{}, err
		}
		resp, err := hc.Do(req)
		switch {
		case err != nil && wrote:
			return Exchange{}, fmt.Errorf("%s: %w: no answer after the request was sent: %v", name, ErrUnknownOutcome, err)
		case err != nil && ctx.Err() != nil:
			return Exchange{}, ctx.Err() // never written: not sent
		case err != nil:
			lastErr = fmt.Errorf("%s: sending (not delivered to the provider): %w", name, err)
		default:
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			ex := Exchange{Status: resp.StatusCode, Body: body}
			switch {
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
				last, lastErr = ex, nil
			case resp.StatusCode >= 500:
				return ex, fmt.Errorf("%s: %w: HTTP %d", name, ErrUnknownOutcome, resp.StatusCode)
			case rerr != nil && resp.StatusCode < 300:
				// Accepted; only the answer (the id) was lost.
				return Exchange{Status: resp.StatusCode}, nil
			case rerr != nil:
				return ex, fmt.Errorf("%s: reading the answer to a refused send: %w", name, rerr)
			default:
				return ex, nil
			}
		}
		if attempt == MaxSendAttempts {
			break
		}
		d := min(200*time.Millisecond<<attempt, 5*time.Second)
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			break // no time left for another attempt inside the deadline
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return Exchange{}, ctx.Err()
		case <-t.C:
		}
	}
	if lastErr != nil {
		return Exchange{}, lastErr
	}
	return last, nil // a 429/503 the caller reports as temporary
}
