package smsproviders

import (
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
)

// All returns the supported SMS providers' specs, one line per provider.
func All() sms.Specs {
	return sms.Specs{
		twilio.Spec(),
		sinch.Spec(),
		messagemedia.Spec(),
	}
}
