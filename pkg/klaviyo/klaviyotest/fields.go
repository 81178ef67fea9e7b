package klaviyotest

import "strings"

// sparse applies a fields[profile] sparse fieldset to a profile resource:
// its attributes hold only the named ones (as Klaviyo's JSON:API does).
func sparse(res map[string]any, fields string) map[string]any {
	if fields == "" {
		return res
	}
	keep := map[string]bool{}
	for _, f := range strings.Split(fields, ",") {
		keep[strings.TrimSpace(f)] = true
	}
	attrs := map[string]any{}
	for k, v := range res["attributes"].(map[string]any) {
		if keep[k] {
			attrs[k] = v
		}
	}
	return map[string]any{"type": res["type"], "id": res["id"], "attributes": attrs}
}
