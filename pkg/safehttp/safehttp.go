// Package safehttp builds the HTTP client every outbound call to a
// tenant-configured host goes through (platform connectors, SMS providers,
// the Shopify bulk-result download), so that a tenant cannot point our
// workers at our own network (server-side request forgery).
//
// A client from New or Harden:
//   - refuses, at dial time, any connection to a private, loopback,
//     link-local, unique-local, CGNAT, multicast, reserved or unspecified
//     address, IPv4, IPv6 and IPv4-mapped IPv6 alike. The check runs on the
//     address actually dialled (net.Dialer.ControlContext), after DNS
//     resolution, so a name that resolves (or re-resolves: DNS rebinding)
//     to such an address is refused too;
//   - speaks https only, and never through a proxy (a proxy would be the
//     address dialled, and the target's would go unchecked);
//   - follows no redirect: a 3xx is returned as the response, which every
//     client treats as a non-retried error, so a credential header
//     (X-Shopify-Access-Token, Authorization) is never forwarded to a host
//     the tenant did not configure.
//
// Local runs (the sandbox, tests, make run) talk to fakes on loopback over
// http. They allow it with one explicit setting, Options.AllowPrivate,
// which mains read from EnvAllowPrivateHosts; the deployed stack never
// sets it (infra/stack tests assert so). Host names are checked against
// each platform's own pattern elsewhere (the platform specs' Hosts
// through pkg/endpoints, and the SMS provider specs' hosts); CheckURL
// holds the part they share.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvAllowPrivateHosts names the environment variable that, set to "1",
// lets outbound clients reach private and loopback hosts over http (local
// fakes). Never set in a deployed stack.
const EnvAllowPrivateHosts = "CONTACTSYNC_ALLOW_PRIVATE_HOSTS"

// AllowPrivateFromEnv reads EnvAllowPrivateHosts with getenv (os.Getenv in
// a main).
func AllowPrivateFromEnv(getenv func(string) string) bool {
	return getenv(EnvAllowPrivateHosts) == "1"
}

// MaxRetryAfter caps any wait a server asks for (Retry-After, a rate
// limit's reset): a hostile or broken host cannot park a worker longer.
const MaxRetryAfter = 60 * time.Second

// Errors callers branch on.
var (
	// ErrForbiddenAddress: the host resolved to an address outbound calls
	// may not reach.
	ErrForbiddenAddress = errors.New("safehttp: destination address is not a public address")
	// ErrInsecureScheme: a URL that is not https.
	ErrInsecureScheme = errors.New("safehttp: only https is allowed")
	// ErrBodyTooLarge: a response body over the caller's cap.
	ErrBodyTooLarge = errors.New("safehttp: response body too large")
)

// Options configure New.
type Options struct {
	// AllowPrivate lets the client reach any address over http or https
	// (local fakes). Leave it false anywhere deployed.
	AllowPrivate bool
	// Timeout is the whole exchange's limit (http.Client.Timeout; 0: 60 s).
	Timeout time.Duration
	// MaxIdleConnsPerHost keeps this many idle connections per host
	// (0: the default transport's 2).
	MaxIdleConnsPerHost int

	// permit, in tests, exempts one address from the check (a fake on
	// loopback standing in for a public host).
	permit func(netip.AddrPort) bool
}

// New returns a client that follows no redirect and, unless
// opts.AllowPrivate, reaches only public addresses over https.
func New(opts Options) *http.Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if opts.MaxIdleConnsPerHost > 0 {
		base.MaxIdleConnsPerHost = opts.MaxIdleConnsPerHost
	}
	return &http.Client{Timeout: opts.Timeout, Transport: newTransport(base, opts), CheckRedirect: refuseRedirect}
}

// Harden returns hc made safe: a copy that follows no redirect and whose
// transport checks addresses as New's does. hc's timeout is kept; so is
// its transport's tuning when it is an *http.Transport (cloned). Any other
// RoundTripper is kept only with allowPrivate (tests that wrap transports);
// otherwise it is replaced. A client Harden or New already made safe with
// the same setting keeps its transport (and connection pool). nil gives
// New(Options{AllowPrivate: allowPrivate}).
func Harden(hc *http.Client, allowPrivate bool) *http.Client {
	opts := Options{AllowPrivate: allowPrivate}
	if hc == nil {
		return New(opts)
	}
	c := *hc
	c.CheckRedirect = refuseRedirect
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	switch t := hc.Transport.(type) {
	case *Transport:
		if t.allowPrivate && !allowPrivate {
			c.Transport = newTransport(t.base.Clone(), opts)
		}
	case *http.Transport:
		c.Transport = newTransport(t.Clone(), opts)
	case nil:
		c.Transport = newTransport(http.DefaultTransport.(*http.Transport).Clone(), opts)
	default:
		if !allowPrivate {
			c.Transport = newTransport(http.DefaultTransport.(*http.Transport).Clone(), opts)
		}
	}
	return &c
}

// refuseRedirect stops at the first redirect: the 3xx is the response.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Transport is the guarded transport of New and Harden.
type Transport struct {
	base         *http.Transport
	allowPrivate bool
}

func newTransport(base *http.Transport, opts Options) *Transport {
	if !opts.AllowPrivate {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, ControlContext: control(opts.permit)}
		base.DialContext = d.DialContext
		base.DialTLSContext = nil
		base.Proxy = nil
	}
	return &Transport{base: base, allowPrivate: opts.AllowPrivate}
}

// RoundTrip refuses non-https requests (unless private hosts are allowed)
// and sends the rest through the guarded dialer.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.allowPrivate && r.URL.Scheme != "https" {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%w (%s://%s)", ErrInsecureScheme, r.URL.Scheme, r.URL.Host)
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections closes the pool's idle connections.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// control checks the address a connection is about to be made to.
func control(permit func(netip.AddrPort) bool) func(ctx context.Context, network, address string, _ syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparsable %s address %q", ErrForbiddenAddress, network, address)
		}
		if permit != nil && permit(ap) {
			return nil
		}
		if !PublicAddr(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
		}
		return nil
	}
}

// blocked are the ranges no outbound call may reach, beyond what netip's
// predicates name (loopback, private, link-local, multicast, unspecified).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),       // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),    // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),     // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("100::/64"),           // discard-only
	netip.MustParsePrefix("2001::/23"),          // IETF protocol assignments (Teredo, ORCHID, ...)
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("fec0::/10"),          // site-local (deprecated)
	netip.MustParsePrefix("::/96"),              // IPv4-compatible (deprecated)
	netip.MustParsePrefix("::ffff:0:0:0/96"),    // IPv4-translated (SIIT)
	netip.MustParsePrefix("5f00::/16"),          // SRv6 SIDs
	netip.MustParsePrefix("3fff::/20"),          // documentation (RFC 9637)
	netip.MustParsePrefix("ff00::/8"),           // multicast (also IsMulticast)
	netip.MustParsePrefix("fc00::/7"),           // unique local (also IsPrivate)
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, the metadata services (also IsLinkLocalUnicast)
	netip.MustParsePrefix("fe80::/10"),          // link-local (also IsLinkLocalUnicast)
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// PublicAddr reports whether outbound calls may reach a: not private,
// loopback, link-local, unique-local, CGNAT, multicast, unspecified,
// documentation or otherwise reserved. IPv4-mapped IPv6 is judged by its
// IPv4 address; NAT64 and 6to4 addresses by the IPv4 address they embed.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return PublicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return PublicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckURL checks a tenant-given base URL: absolute, no credentials, query
// or fragment, and — unless allowPrivate — https, with a host hostOK
// accepts that is not an IP literal or a local name. It returns the host
// (lower case, without port) and a message naming what is wrong, for a
// 400 on the field. hostOK nil accepts any public host name.
func CheckURL(raw string, allowPrivate bool, hostOK func(host string) bool) (string, error) {
	u, err := parseURL(raw)
	if err != nil {
		return "", err
	}
	host := strings.ToLower(u.Hostname())
	if allowPrivate {
		if u.Scheme != "https" && u.Scheme != "http" {
			return "", errors.New("must be an http(s) URL")
		}
		return host, nil
	}
	if u.Scheme != "https" {
		return "", errors.New("must be an https URL")
	}
	if p := u.Port(); p != "" && p != "443" {
		return "", errors.New("must not name a port other than 443")
	}
	if err := CheckHostName(host); err != nil {
		return "", err
	}
	if hostOK != nil && !hostOK(host) {
		return "", errors.New("is not a host of this platform")
	}
	return host, nil
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, errors.New("must be an absolute URL")
	case u.User != nil:
		return nil, errors.New("must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, errors.New("must not have a query or fragment")
	}
	return u, nil
}

// CheckHostName refuses an IP literal that is not public and names that
// are local by definition (localhost, *.localhost, *.local, *.internal,
// single labels). Names that resolve to a private address are refused
// when dialled.
func CheckHostName(host string) error {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return errors.New("must name a host")
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !PublicAddr(a) {
			return errors.New("must not be a private, loopback or link-local address")
		}
		return nil
	}
	if looksNumeric(host) {
		return errors.New("must be a host name or a dotted IP address")
	}
	if !strings.Contains(host, ".") || host == "localhost" {
		return errors.New("must be a public host name")
	}
	for _, s := range []string{".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".arpa"} {
		if strings.HasSuffix(host, s) {
			return errors.New("must be a public host name")
		}
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("must be a valid host name")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return errors.New("must be a valid host name")
			}
		}
	}
	return nil
}

// looksNumeric catches IPv4 spellings netip rejects but resolvers may
// accept (0x7f.1, 2130706433, 0177.0.0.1): all labels numeric or hex.
func looksNumeric(host string) bool {
	for _, label := range strings.Split(host, ".") {
		l := strings.TrimPrefix(label, "0x")
		if l == "" {
			continue
		}
		if _, err := strconv.ParseUint(l, 16, 64); err != nil {
			return false
		}
	}
	return true
}

// RetryAfter is the wait a 429/503 answer asks for (seconds, or an HTTP
// date), capped at limit (MaxRetryAfter when limit <= 0); 0 when absent or
// unreadable.
func RetryAfter(h http.Header, now time.Time, limit time.Duration) time.Duration {
	if limit <= 0 {
		limit = MaxRetryAfter
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s != s || s <= 0 { // NaN or nothing to wait
			return 0
		}
		if s >= limit.Seconds() {
			return limit
		}
		d = time.Duration(s * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return CapWait(d, limit)
}

// CapWait bounds a wait a server asked for to [0, limit] (MaxRetryAfter
// when limit <= 0).
func CapWait(d, limit time.Duration) time.Duration {
	if limit <= 0 {
		limit = MaxRetryAfter
	}
	return max(0, min(d, limit))
}

// ReadResponse reads resp's body as ReadBody does, refusing at once an
// answer whose Content-Length is over limit, and reading one whose
// length is known in one allocation (a page of about 1 MB read by
// doubling a buffer would be copied about twice over).
func ReadResponse(resp *http.Response, limit int64) ([]byte, error) {
	switch n := resp.ContentLength; {
	case n > limit:
		return nil, fmt.Errorf("%w (%d bytes announced, over %d)", ErrBodyTooLarge, n, limit)
	case n > 0:
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return ReadBody(resp.Body, limit)
}

// ReadBody reads r to its end, failing with ErrBodyTooLarge (not
// truncating) when it holds more than limit bytes.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrBodyTooLarge, limit)
	}
	return b, nil
}

// Code keeps a platform's error code fit for an error message that
// reaches API callers: letters, digits and _ . - only, at most 64 of them
// ("" when nothing is left). Anything else a response says stays out of
// error text (it may go to logs).
func Code(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == 64 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
