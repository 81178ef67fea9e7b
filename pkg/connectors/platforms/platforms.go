// Package platforms is the list of supported source platforms: one line
// per platform package's spec (pkg/platform). connectors.Registry and the
// Hub API default to it; a test builds them with a longer list.
package platforms

import (
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/mailchimp"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// All returns the supported platforms' specs.
func All() platform.Specs {
	return platform.Specs{
		shopify.Spec(),
		woocommerce.Spec(),
		mailchimp.Spec(),
		klaviyo.Spec(),
	}
}
