package httpx

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// Said is the platform's own words: its code and reason ("" when it gave
// none). They may echo the request: shown only where the caller bounds
// them and removes its secrets (CheckError).
func (e *Error) Said() string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(e.Code+": "+e.Reason, ": "), ": "))
}

// CheckError is what a credential check (a call of one attempt) reports
// for its error: nil for nil; the platform's refusal (an answer 3xx, or
// 4xx but 429) is a source.CredentialsRejectedError with its words (Said)
// or the status; a 429, a 5xx, no answer or any other error is a
// source.PlatformError naming who (the platform as users know it). A 404,
// when notFound is set, is a rejection that reads notFound (what is missing,
// as users know it) with the platform's words or the status. safe bounds the
// reason and removes the connection's secrets from it (source.SafeReason).
func CheckError(who string, err error, safe func(string) string, notFound string) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e) || e.Status < 300:
		return &source.PlatformError{Reason: safe(who + " could not be reached: " + err.Error())}
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return &source.PlatformError{Reason: safe(who + " answered HTTP " + strconv.Itoa(e.Status))}
	case e.Status == http.StatusNotFound && notFound != "":
		return &source.CredentialsRejectedError{Reason: safe(notFound + " (" + cmp.Or(e.Said(), "HTTP 404") + ")")}
	}
	return &source.CredentialsRejectedError{Reason: safe(cmp.Or(e.Said(), "HTTP "+strconv.Itoa(e.Status)))}
}
