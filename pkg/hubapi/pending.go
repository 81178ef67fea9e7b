package hubapi

import (
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/store"
)

// maxExpiryDays bounds doubleOptInExpiryDays (a year: consent evidence is
// kept that long).
const maxExpiryDays = 365

// expiryDays is a connection's double opt-in expiry (connections stored
// before it existed have the default).
func expiryDays(c store.Connection) int {
	if c.DoubleOptInExpiryDays <= 0 {
		return consent.DefaultDoubleOptInExpiryDays
	}
	return c.DoubleOptInExpiryDays
}

// validatePendingPolicy checks the double opt-in expiry and reminder.
func validatePendingPolicy(c store.Connection) map[string]string {
	bad := map[string]string{}
	if c.DoubleOptInExpiryDays < 0 || c.DoubleOptInExpiryDays > maxExpiryDays {
		bad["doubleOptInExpiryDays"] = "must be from 1 to 365"
	}
	if r := c.DoubleOptInReminderDays; r < 0 || (r > 0 && r >= expiryDays(c)) {
		bad["doubleOptInReminderDays"] = "must be 0 (no reminder) or fewer days than doubleOptInExpiryDays"
	}
	return bad
}

// checkPendingInput refuses an explicit expiry of 0 days (0 is only the
// stored form of "the default" in connections older than the setting).
func checkPendingInput(in connectionIn) map[string]string {
	if in.DoubleOptInExpiryDays != nil && *in.DoubleOptInExpiryDays < 1 {
		return map[string]string{"doubleOptInExpiryDays": "must be from 1 to 365"}
	}
	return nil
}
