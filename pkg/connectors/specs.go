package connectors

import (
	"maps"
	"slices"
	"strings"

	"github.com/contactsync/contactsync/pkg/connectors/platforms"
	"github.com/contactsync/contactsync/pkg/platform"
)

// specs returns the platforms the registry serves.
func (r *Registry) specs() platform.Specs {
	if r.Specs == nil {
		return platforms.All()
	}
	return r.Specs
}

// badHosts names, comma separated, the config keys whose hosts spec's
// platform may not call ("" when all may be called).
func badHosts(spec platform.Spec, cfg map[string]string, allowPrivate bool) string {
	if spec.Hosts == nil {
		return ""
	}
	bad := spec.Hosts(cfg, allowPrivate)
	keys := slices.Sorted(maps.Keys(bad))
	return strings.Join(keys, ", ")
}

// maxConnections is the most simultaneous connections a platform allows
// a client: the outbound transport keeps that many idle per host.
func (r *Registry) maxConnections() int {
	n := 0
	for _, s := range r.specs() {
		n = max(n, s.MaxConnections)
	}
	return n
}

// secrets returns cfg's values under any platform's secret keys, which
// never appear in a reason.
func (r *Registry) secrets(cfg map[string]string) []string {
	var out []string
	for _, s := range r.specs() {
		out = append(out, s.SecretValues(cfg)...)
	}
	return out
}
