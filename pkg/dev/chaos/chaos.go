// Package chaos puts Toxiproxy (github.com/Shopify/toxiproxy/v2, as a
// library) between contactsync and the services it talks to, so tests can
// add latency, reset connections, time them out or limit bandwidth on the
// real wire, and check that nothing is lost, duplicated or re-subscribed.
package chaos

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy is one Toxiproxy proxy on loopback in front of an upstream.
type Proxy struct {
	p *toxiproxy.Proxy
}

// New starts a proxy to upstream ("127.0.0.1:8000") and stops it when the
// test ends.
func New(t testing.TB, name, upstream string) *Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, freeAddr(t), upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("chaos: starting proxy %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{p: p}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// URL is the proxy's http address.
func (p *Proxy) URL() string { return "http://" + p.p.Listen }

// Add adds a toxic: typ is latency, bandwidth, reset_peer, timeout,
// slow_close, slicer or limit_data; toxicity is the share of connections
// affected (0-1); attrs are the toxic's attributes (e.g. "latency": 50).
func (p *Proxy) Add(t testing.TB, name, typ, stream string, toxicity float64, attrs map[string]int) {
	t.Helper()
	var a []string
	for k, v := range attrs {
		a = append(a, fmt.Sprintf("%q:%d", k, v))
	}
	body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":%g,"attributes":{%s}}`, name, typ, stream, toxicity, strings.Join(a, ","))
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		t.Fatalf("chaos: adding toxic %s: %v", name, err)
	}
}
