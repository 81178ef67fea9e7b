package shopifytest

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
)

// metafieldDef is a customer metafield definition.
type metafieldDef struct {
	Namespace, Key, Name, Type string
}

// DefineMetafield adds a customer metafield definition (type: Shopify's
// name, e.g. number_integer, date, single_line_text_field).
func (s *Server) DefineMetafield(namespace, key, name, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metafieldDefs = append(s.metafieldDefs, metafieldDef{namespace, key, name, typ})
}

// SetMetafield sets customer n's (1-based) metafield namespace.key to
// value (metafield values are strings, as the API returns them).
func (s *Server) SetMetafield(n int, namespace, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customers[n-1]
	if c.Metafields == nil {
		c.Metafields = map[string]string{}
	}
	c.Metafields[namespace+"."+key] = value
}

// SetCity sets customer n's default address city.
func (s *Server) SetCity(n int, city string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[n-1].City = city
}

// QueriedMetafields lists the metafields ("namespace.key") customer
// queries and bulk exports have selected, sorted.
func (s *Server) QueriedMetafields() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.queriedMeta))
	for k := range s.queriedMeta {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// metafieldAlias matches an aliased metafield selection of a customers
// query: mf0: metafield(namespace: "custom", key: "points") { value }.
var metafieldAlias = regexp.MustCompile(`(\w+)\s*:\s*metafield\(\s*namespace:\s*"([^"]*)"\s*,\s*key:\s*"([^"]*)"\s*\)`)

type alias struct{ name, ref string }

func metafieldAliases(query string) []alias {
	var out []alias
	for _, m := range metafieldAlias.FindAllStringSubmatch(query, -1) {
		out = append(out, alias{m[1], m[2] + "." + m[3]})
	}
	return out
}

// withFields adds what a query asks beyond the fixed selection: each
// aliased metafield ({value} or null when the customer has none),
// and the default address's other fields (s.mu held).
func (s *Server) withFields(c *node, m map[string]any, aliases []alias) map[string]any {
	for _, a := range aliases {
		if s.queriedMeta == nil {
			s.queriedMeta = map[string]bool{}
		}
		s.queriedMeta[a.ref] = true
		v, ok := c.Metafields[a.ref]
		if !ok {
			m[a.name] = nil
			continue
		}
		m[a.name] = map[string]any{"value": v}
	}
	if addr, ok := m["defaultAddress"].(map[string]any); ok {
		addr["firstName"], addr["lastName"], addr["city"] = c.FirstName, c.LastName, nilIfEmpty(c.City)
		addr["company"], addr["address1"], addr["address2"], addr["province"], addr["provinceCode"], addr["zip"], addr["country"] = nil, nil, nil, nil, nil, nil, nil
	}
	return m
}

// metafieldDefinitions serves metafieldDefinitions(ownerType: CUSTOMER,
// first, after) with pageInfo and nodes {namespace key name type{name}}.
func (s *Server) metafieldDefinitions(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.spend(12)
	if !ok {
		throttled(w, ext)
		return
	}
	const first = 250
	after := 0
	if a, _ := req.Variables["after"].(string); a != "" {
		after, _ = strconv.Atoi(a)
	}
	s.mu.Lock()
	defs := append([]metafieldDef{}, s.metafieldDefs...)
	s.mu.Unlock()
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Namespace+"."+defs[i].Key < defs[j].Namespace+"."+defs[j].Key })
	nodes := []map[string]any{}
	for i := after; i < len(defs) && len(nodes) < first; i++ {
		d := defs[i]
		nodes = append(nodes, map[string]any{"namespace": d.Namespace, "key": d.Key, "name": d.Name, "type": map[string]any{"name": d.Type}})
	}
	end := after + len(nodes)
	writeJSON(w, map[string]any{"data": map[string]any{"metafieldDefinitions": map[string]any{
		"pageInfo": map[string]any{"hasNextPage": end < len(defs), "endCursor": strconv.Itoa(end)}, "nodes": nodes}}, "extensions": ext})
}
