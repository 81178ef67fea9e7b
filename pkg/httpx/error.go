package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/contactsync/contactsync/pkg/safehttp"
)

// ErrUnknownOutcome: a Request.Once request may have been accepted — it
// was written and no answer came (a time-out, a dropped connection), or
// the answer was a 5xx other than 503, which does not say it was refused.
// It is never repeated; the caller looks the outcome up.
var ErrUnknownOutcome = errors.New("outcome unknown (the request may have been accepted)")

// Error is a call that failed at the platform: an answer that is not 2xx
// (Status), or no answer at all (Status 0, Err the transport's error).
type Error struct {
	Platform string // "shopify", "twilio", ...
	Status   int    // the answer's status; 0 when none came
	// Code is the platform's error code, as Request.Decode read it from
	// the body; Error() shows it through safehttp.Code.
	Code string
	// Reason is the platform's own message: for logs only, never in
	// Error().
	Reason string
	// Note is ours (never the host's words): what the caller adds to
	// Error(), e.g. what to do about it.
	Note     string
	Attempts int   // how many attempts were made (0 or 1: one)
	Err      error // the cause, if any: a transport error, ErrUnknownOutcome, safehttp.ErrBodyTooLarge
}

func (e *Error) Error() string {
	s := e.Platform + ": no answer"
	if e.Status > 0 {
		s = strings.TrimSpace(fmt.Sprintf("%s: HTTP %d %s", e.Platform, e.Status, safehttp.Code(e.Code)))
	}
	if e.Note != "" {
		s += ": " + e.Note
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent says asking again gets the same answer: a 3xx (clients follow
// no redirect) or a 4xx other than 429, or an answer over the size cap.
// A 429, a 5xx and no answer are temporary.
func (e *Error) Permanent() bool {
	if errors.Is(e.Err, safehttp.ErrBodyTooLarge) {
		return true
	}
	return e.Status >= 300 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// StatusOf is the status of an *Error in err's chain (0 when there is
// none, or it had no answer).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsPermanent reports whether err holds an *Error that is Permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent()
}

// Fields is a Request.Decode for a JSON error body whose top-level fields
// code and msg hold the platform's code (a string or a number) and
// message ("" for a field the platform has none of).
func Fields(code, msg string) func(body []byte) (string, string) {
	return func(body []byte) (string, string) {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(body, &m) // an answer that is not the platform's still has a status
		text := func(k string) string {
			var s string
			if json.Unmarshal(m[k], &s) != nil && json.Valid(m[k]) && m[k][0] != '{' && m[k][0] != '[' {
				s = string(m[k]) // a number
			}
			return s
		}
		return text(code), text(msg)
	}
}
