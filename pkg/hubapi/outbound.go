package hubapi

import (
	"github.com/contactsync/contactsync/pkg/endpoints"
	"github.com/contactsync/contactsync/pkg/store"
)

// checkOutbound returns, by field name ("config.<key>"), the config values
// that name hosts our workers may not call: the platform's own hosts over
// https only (pkg/endpoints), unless Deps.AllowPrivateHosts (local fakes).
func (h *Handler) checkOutbound(c store.Connection, cfg map[string]string) map[string]string {
	bad := map[string]string{}
	for k, msg := range endpoints.Connection(c.Platform, cfg, h.d.AllowPrivateHosts) {
		bad["config."+k] = msg
	}
	return bad
}
