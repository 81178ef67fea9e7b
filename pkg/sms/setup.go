package sms

import (
	"errors"
	"fmt"
	"slices"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// Reason is what a failed set-up call (a credential check, pointing the
// inbound URL) shows the hub user: the provider's message and code with
// the status, or that it could not be reached, bounded and without the
// secrets (source.SafeReason). name is the provider's display name.
func Reason(name string, err error, secrets ...string) string {
	var he *httpx.Error
	switch {
	case !errors.As(err, &he) || he.Status == 0:
		return source.SafeReason(name+" could not be reached: "+err.Error(), secrets...)
	case he.Reason == "":
		return fmt.Sprintf("HTTP %d", he.Status)
	case he.Code == "":
		return source.SafeReason(fmt.Sprintf("%s (HTTP %d)", he.Reason, he.Status), secrets...)
	}
	return source.SafeReason(fmt.Sprintf("%s (%s, HTTP %d)", he.Reason, he.Code, he.Status), secrets...)
}

// CheckError is a credential check's answer: nil for nil,
// *source.CredentialsRejectedError when the provider answered one of the
// rejected statuses, *source.PlatformError when it could not tell.
func CheckError(name string, err error, rejected []int, secrets ...string) error {
	if err == nil {
		return nil
	}
	if slices.Contains(rejected, httpx.StatusOf(err)) {
		return &source.CredentialsRejectedError{Reason: Reason(name, err, secrets...)}
	}
	return &source.PlatformError{Reason: Reason(name, err, secrets...)}
}
