package fakeapi

import (
	"io"
	"net/http"
	"slices"
	"sync"
)

// Outbox holds a fake's webhook deliveries as the platforms retry them:
// Send posts each at once; one not answered 2xx counts a failure of its
// webhook and waits for Retry (a test's stand-in for the platform's later
// attempts); the Max-th failure in a row gives the webhook up (GiveUp:
// the fake disables or drops it) with its waiting deliveries; a success
// resets the count. Set the fields before use; the funcs run without the
// Outbox's lock (they take the fake's), so the fake may call Forget under
// its own.
type Outbox[D any] struct {
	Max int
	// Hook names what failures count for: d's webhook (Klaviyo, Mailchimp,
	// WooCommerce), or d itself where the platform counts one delivery's
	// retries (Shopify).
	Hook func(d D) string
	// Post sends d to its webhook as the fake holds it now: sent is false
	// when the webhook is gone or disabled (d is dropped), ok when it was
	// answered 2xx.
	Post func(d D) (sent, ok bool)
	// GiveUp disables or drops d's webhook.
	GiveUp func(d D)

	mu       sync.Mutex
	pending  []D
	failures map[string]int
}

// Send posts batch and returns how many were answered 2xx.
func (o *Outbox[D]) Send(batch []D) int {
	n := 0
	for _, d := range batch {
		sent, ok := o.Post(d)
		if !sent {
			continue
		}
		if ok {
			n++
		}
		if o.record(d, ok) {
			o.GiveUp(d)
		}
	}
	return n
}

// record counts d's outcome and reports whether its webhook is given up.
func (o *Outbox[D]) record(d D, ok bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	hook := o.Hook(d)
	if ok {
		delete(o.failures, hook)
		return false
	}
	if o.failures == nil {
		o.failures = map[string]int{}
	}
	if o.failures[hook]++; o.failures[hook] < o.Max {
		o.pending = append(o.pending, d)
		return false
	}
	o.forget(hook)
	return true
}

// Retry sends every waiting delivery once and returns how many were
// answered 2xx.
func (o *Outbox[D]) Retry() int {
	o.mu.Lock()
	batch := o.pending
	o.pending = nil
	o.mu.Unlock()
	return o.Send(batch)
}

// Pending is how many deliveries wait for Retry.
func (o *Outbox[D]) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// Reset starts a webhook's count of failures again (it was re-enabled or
// repaired).
func (o *Outbox[D]) Reset(hook string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.failures, hook)
}

// Forget drops a webhook's waiting deliveries and failures (it was
// deleted); "" forgets every one.
func (o *Outbox[D]) Forget(hook string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.forget(hook)
}

func (o *Outbox[D]) forget(hook string) {
	if hook == "" {
		o.pending, o.failures = nil, nil
		return
	}
	delete(o.failures, hook)
	o.pending = slices.DeleteFunc(o.pending, func(d D) bool { return o.Hook(d) == hook })
}

// Status is the status of a delivery's answer (0 when none came), its
// body read and closed.
func Status(resp *http.Response, err error) int {
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode
}
