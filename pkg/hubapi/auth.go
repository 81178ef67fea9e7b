package hubapi

import "strings"

// bearerToken returns the credentials of an Authorization header in the
// Bearer scheme (RFC 6750 §2.1): the scheme name, matched case-insensitively
// as RFC 7235 §2.1 says, exactly one space, then one token of visible ASCII
// (our keys are token68; an operator's admin token may hold other
// punctuation). Anything else (no scheme, another scheme, extra spaces, a
// second token) is no token: a key sent bare, without "Bearer ", is refused
// rather than guessed at.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c > '~' {
			return "", false
		}
	}
	return token, true
}
