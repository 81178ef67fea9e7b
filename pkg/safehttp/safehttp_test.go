package safehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"10.0.0.1", false}, {"172.16.5.4", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"169.254.170.2", false}, {"100.64.0.1", false}, {"100.127.255.254", false},
		{"0.0.0.0", false}, {"0.1.2.3", false}, {"224.0.0.1", false}, {"239.255.255.250", false}, {"255.255.255.255", false},
		{"240.0.0.1", false}, {"198.18.0.1", false}, {"192.0.2.1", false},
		{"::1", false}, {"::", false}, {"fe80::1", false}, {"fc00::1", false}, {"fd12:3456::1", false}, {"ff02::1", false},
		{"fec0::1", false}, {"2001:db8::1", false},
		{"::ffff:127.0.0.1", false}, {"::ffff:169.254.169.254", false}, {"::ffff:10.1.2.3", false}, {"::127.0.0.1", false},
		{"64:ff9b::a9fe:a9fe", false}, {"64:ff9b::7f00:1", false}, {"2002:7f00:1::1", false}, {"2002:a9fe:a9fe::1", false},
		{"8.8.8.8", true}, {"1.1.1.1", true}, {"100.63.255.255", true}, {"100.128.0.1", true}, {"172.32.0.1", true},
		{"2606:4700:4700::1111", true}, {"::ffff:8.8.8.8", true}, {"64:ff9b::808:808", true}, {"2002:808:808::1", true},
	} {
		if got := PublicAddr(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("PublicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
}

// counted is a TLS server that counts the requests reaching it.
func counted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// trusting makes c trust srv's test certificate (whatever the host name).
func trusting(c *http.Client, srv *httptest.Server) *http.Client {
	tr := c.Transport.(*Transport)
	tr.base.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tr.base.TLSClientConfig.InsecureSkipVerify = true // the target is refused before TLS; this only rules TLS out as the cause
	return c
}

func TestRefusesPrivateDestinations(t *testing.T) {
	srv, hits := counted(t, nil)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	for _, target := range []string{
		srv.URL,                              // 127.0.0.1
		"https://localhost:" + port,          // a name that resolves to loopback
		"https://[::1]:" + port,              // IPv6 loopback
		"https://[::ffff:127.0.0.1]:" + port, // IPv4-mapped loopback
		"https://169.254.169.254/latest/meta-data/",
		"https://[fd00:ec2::254]/latest/meta-data/",
		"https://100.100.100.200/",
		"https://0.0.0.0:" + port,
	} {
		c := trusting(New(Options{Timeout: 10 * time.Second}), srv)
		resp, err := c.Get(target)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s: answered %d, want refused", target, resp.StatusCode)
			continue
		}
		// An IPv4 target is refused by the dial-time check itself; an IPv6
		// one may already fail to get a socket on a host without IPv6.
		if u, _ := url.Parse(target); !strings.Contains(u.Hostname(), ":") && u.Hostname() != "localhost" && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GET %s: %v, want ErrForbiddenAddress", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
	// The check itself, for the addresses a name or an IPv6 URL dials.
	check := control(nil)
	for _, addr := range []string{"[::1]:443", "[::ffff:127.0.0.1]:443", "[fd00:ec2::254]:80", "[fe80::1%eth0]:80", "127.0.0.1:443", "169.254.169.254:80"} {
		if err := check(context.Background(), "tcp", addr, nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("dialling %s: %v, want ErrForbiddenAddress", addr, err)
		}
	}
	if err := check(context.Background(), "tcp", "[2606:4700:4700::1111]:443", nil); err != nil {
		t.Errorf("dialling a public address: %v", err)
	}
}

func TestRefusesPlainHTTP(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	defer srv.Close()
	permit := func(netip.AddrPort) bool { return true } // even a permitted address
	_, err := New(Options{permit: permit}).Get(srv.URL)
	if !errors.Is(err, ErrInsecureScheme) {
		t.Fatalf("GET %s: %v, want ErrInsecureScheme", srv.URL, err)
	}
	if n.Load() != 0 {
		t.Fatal("the request reached the server")
	}
}

func TestFollowsNoRedirect(t *testing.T) {
	private, privateHits := counted(t, nil)
	for _, allow := range []bool{false, true} {
		front, frontHits := counted(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Shopify-Access-Token") != "tok" {
				t.Error("the first request lacks its header")
			}
			http.Redirect(w, r, private.URL+"/steal", http.StatusFound)
		})
		frontAddr := netip.MustParseAddrPort(strings.TrimPrefix(front.URL, "https://"))
		// The front server stands in for a public host: only its address is
		// exempt from the check.
		c := trusting(New(Options{AllowPrivate: allow, permit: func(ap netip.AddrPort) bool { return ap == frontAddr }}), front)
		req, _ := http.NewRequest(http.MethodGet, front.URL, nil)
		req.Header.Set("X-Shopify-Access-Token", "tok")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("allow=%v: %v", allow, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("allow=%v: status %d, want the 302 itself", allow, resp.StatusCode)
		}
		if frontHits.Load() != 1 {
			t.Errorf("allow=%v: front server saw %d requests", allow, frontHits.Load())
		}
	}
	if n := privateHits.Load(); n != 0 {
		t.Fatalf("%d requests followed the redirect", n)
	}
}

func TestAllowPrivateReachesFakes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	resp, err := New(Options{AllowPrivate: true}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestHarden(t *testing.T) {
	srv, hits := counted(t, nil)
	for _, hc := range []*http.Client{http.DefaultClient, {Timeout: time.Second}, {Transport: roundTripFunc(http.DefaultTransport.RoundTrip)}} {
		c := Harden(hc, false)
		tr, ok := c.Transport.(*Transport)
		if !ok || tr.allowPrivate {
			t.Fatalf("hardened transport %T", c.Transport)
		}
		resp, err := trusting(c, srv).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("hardened %T: %v, want ErrForbiddenAddress", hc.Transport, err)
		}
		if again := Harden(c, false); again.Transport != c.Transport {
			t.Error("hardening a hardened client replaced its transport (and its connection pool)")
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a request reached the server")
	}
	// A client that allowed private hosts is not trusted by a strict caller.
	if c := Harden(New(Options{AllowPrivate: true}), false); c.Transport.(*Transport).allowPrivate {
		t.Fatal("a permissive transport survived Harden(false)")
	}
	if Harden(nil, true).CheckRedirect == nil || Harden(http.DefaultClient, true).CheckRedirect == nil {
		t.Fatal("redirects not turned off")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCheckURL(t *testing.T) {
	shopify := func(h string) bool { return strings.HasSuffix(h, ".myshopify.com") }
	for _, tc := range []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://acme.myshopify.com", false, true},
		{"https://acme.myshopify.com/", false, true},
		{"https://acme.myshopify.com:443", false, true},
		{"http://acme.myshopify.com", false, false},
		{"https://acme.myshopify.com:8443", false, false},
		{"https://evil.example.com", false, false},
		{"https://acme.myshopify.com.evil.example", false, false},
		{"https://user:pw@acme.myshopify.com", false, false},
		{"https://acme.myshopify.com/?x=1", false, false},
		{"https://127.0.0.1", false, false},
		{"https://localhost", false, false},
		{"https://[::1]", false, false},
		{"https://169.254.169.254", false, false},
		{"https://0x7f.1", false, false},
		{"https://2130706433", false, false},
		{"ftp://acme.myshopify.com", false, false},
		{"acme.myshopify.com", false, false},
		{"http://127.0.0.1:8080/shopify", true, true},
		{"ftp://127.0.0.1", true, false},
	} {
		_, err := CheckURL(tc.url, tc.allow, shopify)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, allow=%v) = %v, want ok=%v", tc.url, tc.allow, err, tc.ok)
		}
	}
	if _, err := CheckURL("https://shop.example.com", false, nil); err != nil {
		t.Errorf("any public host: %v", err)
	}
	if _, err := CheckURL("https://203.0.113.7", false, nil); err == nil {
		t.Error("a documentation address passed")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	h := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"2", 2 * time.Second}, {"0.5", 500 * time.Millisecond}, {"86400", MaxRetryAfter}, {"1e300", MaxRetryAfter},
		{"-5", 0}, {"NaN", 0}, {"soon", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := RetryAfter(h(tc.v), now, 0); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
	if got := RetryAfter(h("30"), now, time.Millisecond); got != time.Millisecond {
		t.Errorf("own limit: %v", got)
	}
}

func TestReadBody(t *testing.T) {
	if b, err := ReadBody(strings.NewReader("12345"), 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	if _, err := ReadBody(strings.NewReader("123456"), 5); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestReadResponseRefusesAnnouncedLength(t *testing.T) {
	resp := &http.Response{ContentLength: 1 << 40, Body: http.NoBody}
	if _, err := ReadResponse(resp, 1<<20); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("a terabyte announced: %v", err)
	}
	resp = &http.Response{ContentLength: -1, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", 2<<20)))}
	if _, err := ReadResponse(resp, 1<<20); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("unannounced, over the cap: %v", err)
	}
}

func TestAllowPrivateFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if AllowPrivateFromEnv(get) {
		t.Fatal("unset allowed")
	}
	env[EnvAllowPrivateHosts] = "true"
	if AllowPrivateFromEnv(get) {
		t.Fatal(`only "1" allows`)
	}
	env[EnvAllowPrivateHosts] = "1"
	if !AllowPrivateFromEnv(get) {
		t.Fatal(`"1" did not allow`)
	}
}

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"woocommerce_rest_invalid_id": "woocommerce_rest_invalid_id",
		"THROTTLED":                   "THROTTLED",
		"<b>oops</b> secret=abc":      "boopsbsecretabc",
		strings.Repeat("x", 100):      strings.Repeat("x", 64),
		"":                            "",
	} {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}
