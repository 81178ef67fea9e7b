package httpx_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// A credential check's failure: the platform's refusal is a rejection in
// its words (or the status), with the secrets removed; being busy, down or
// unreachable is a platform error; a 404 where something named is missing
// reads what is missing.
func TestCheckError(t *testing.T) {
	t.Parallel()
	safe := func(s string) string { return source.SafeReason(s, "sekrit-key") }
	for _, tc := range []struct {
		err      error
		notFound string
		rejected bool
		reason   string
	}{
		{&httpx.Error{Platform: "p", Status: 401, Code: "not_authenticated", Reason: "key sekrit-key is wrong"}, "", true, "not_authenticated: key [redacted] is wrong"},
		{&httpx.Error{Platform: "p", Status: 403}, "", true, "HTTP 403"},
		{&httpx.Error{Platform: "p", Status: 404, Reason: "no such list"}, "", true, "no such list"},
		{&httpx.Error{Platform: "p", Status: 429, Reason: "slow down"}, "", false, "Acme answered HTTP 429"},
		{&httpx.Error{Platform: "p", Status: 503}, "", false, "Acme answered HTTP 503"},
		{&httpx.Error{Platform: "p", Err: errors.New("connection refused")}, "", false, "Acme could not be reached: p: no answer: connection refused"},
		{&httpx.Error{Platform: "p", Status: 404, Reason: "sekrit-key"}, "list L not found", true, "list L not found ([redacted])"},
		{&httpx.Error{Platform: "p", Status: 404}, "list L not found", true, "list L not found (HTTP 404)"},
		{&httpx.Error{Platform: "p", Status: 503}, "list L not found", false, "Acme answered HTTP 503"},
		{errors.New("context deadline exceeded"), "", false, "Acme could not be reached: context deadline exceeded"},
	} {
		err := httpx.CheckError("Acme", tc.err, safe, tc.notFound)
		var rej *source.CredentialsRejectedError
		var pe *source.PlatformError
		switch {
		case tc.rejected && (!errors.As(err, &rej) || rej.Reason != tc.reason):
			t.Errorf("%v: %#v, want rejected %q", tc.err, err, tc.reason)
		case !tc.rejected && (!errors.As(err, &pe) || !strings.Contains(pe.Reason, tc.reason)):
			t.Errorf("%v: %#v, want a platform error %q", tc.err, err, tc.reason)
		}
	}
	if httpx.CheckError("Acme", nil, safe, "gone") != nil {
		t.Error("nil is not nil")
	}
}
