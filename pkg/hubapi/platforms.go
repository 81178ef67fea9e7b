package hubapi

import (
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/store"
)

// spec returns the spec of a connection's platform (Deps.Specs); a
// platform no spec names has the zero Spec: no keys, nothing to check.
func (h *Handler) spec(name string) (platform.Spec, bool) {
	return h.d.Specs.Lookup(name)
}

// label is the platform's name for people (its default source label).
func (h *Handler) label(name string) string {
	if s, ok := h.spec(name); ok {
		return s.Label
	}
	return name
}

// checkConfig checks a connection's config against its platform's spec
// (required, unknown and URL keys, the platform's own checks); it
// returns invalid fields by name ("config.<key>"), or "platform" when no
// spec names it.
func (h *Handler) checkConfig(c store.Connection, cfg map[string]string) map[string]string {
	spec, ok := h.spec(c.Platform)
	if !ok {
		return map[string]string{"platform": "must be one of " + h.d.Specs.Names()}
	}
	bad := map[string]string{}
	for k, msg := range spec.CheckConfig(cfg, func(k string) bool { return k == "webhookToken" || serverManaged[k] }) {
		bad["config."+k] = msg
	}
	return bad
}

// installable names the platforms whose spec passes ok.
func (h *Handler) installable(ok func(platform.Spec) bool) string {
	var names platform.Specs
	for _, s := range h.d.Specs {
		if ok(s) {
			names = append(names, s)
		}
	}
	return names.Names()
}
