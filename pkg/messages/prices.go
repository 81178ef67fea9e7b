package messages

import (
	"context"
	"encoding/json"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/store"
)

// Prices tells what a tenant's messages cost before any is sent (a dry
// run's report): the credits of each purpose's text as the consumer would
// render it now — the tenant's templates, company name and help text —
// billed by sms.Credits. A tenant without SMS provider settings (or with
// settings that do not open) is priced with the default templates.
type Prices struct {
	Store interface {
		GetTenant(ctx context.Context, id string) (store.Tenant, error)
	}
	Opener interface {
		Open(tenant string, sealed []byte) ([]byte, error)
	}
}

// Credits returns the credits one message of each purpose would cost the
// tenant.
func (p Prices) Credits(ctx context.Context, tenant string) (func(consent.Purpose) int, error) {
	var settings sms.Settings
	if p.Store != nil && p.Opener != nil {
		t, err := p.Store.GetTenant(ctx, tenant)
		if err != nil {
			return nil, err
		}
		if len(t.SMSProvider) > 0 {
			if raw, err := p.Opener.Open(t.ID, t.SMSProvider); err == nil {
				if json.Unmarshal(raw, &settings) != nil {
					settings = sms.Settings{}
				}
			}
		}
	}
	return func(pu consent.Purpose) int {
		text, err := settings.Templates.Render(sms.Purpose(pu), settings.CompanyName, settings.HelpText)
		if err != nil {
			return 1 // no template: at least one part, as every message
		}
		_, parts := sms.Credits(text)
		return parts
	}, nil
}
