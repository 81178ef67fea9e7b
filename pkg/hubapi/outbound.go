package hubapi

import (
	"github.com/contactsync/contactsync/pkg/store"
)

// checkOutbound returns, by field name ("config.<key>"), the config values
// that name hosts our workers may not call: the platform's own hosts over
// https only (pkg/endpoints), unless Deps.AllowPrivateHosts (local fakes).
func (h *Handler) checkOutbound(c store.Connection, cfg map[string]string) map[string]string {
	bad := map[string]string{}
	spec, _ := h.spec(c.Platform)
	if spec.Hosts == nil {
		return bad
	}
	for k, msg := range spec.Hosts(cfg, h.d.AllowPrivateHosts) {
		bad["config."+k] = msg
	}
	return bad
}
