package sms

import (
	"context"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
)

// ErrUnknownOutcome: a send may have reached the provider — the request was
// written and no answer came (a time-out, a dropped connection), or the
// provider answered with a 5xx that does not say the message was refused.
// Such a send is never retried (httpx.Request.Once): the outbox records it
// as unknown and asks the provider (Finder) whether it has the message.
var ErrUnknownOutcome = httpx.ErrUnknownOutcome

// Finder is a sender whose provider can look sent messages up.
type Finder interface {
	// Find reports the provider's id of message m if the provider accepted
	// it at or after since (found false when it has no such message).
	Find(ctx context.Context, m Message, since time.Time) (id string, found bool, err error)
}

// API is the HTTP client a provider's client makes its calls through: a
// failed send is an *httpx.Error (Permanent for a 4xx other than 429: a
// bad number, an opted-out recipient, bad credentials), never carrying
// the provider's words in its text. hc nil is a client for local fakes
// (the outbox's senders come hardened from smsproviders.Default.NewSender).
func API(p Provider, hc *http.Client) *httpx.Client {
	if hc == nil {
		hc = safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 15 * time.Second})
	}
	return &httpx.Client{HTTP: hc, Platform: string(p), Attempts: 4, MaxBody: 4 << 20,
		BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}
}
